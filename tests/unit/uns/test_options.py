"""Where the uns service finds the MQTT listener: beside NATS on 1883 unless told."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantbus.kit.bus import NatsSettings
from plantbus.sdk.errors import ConfigError
from plantbus.uns.options import UnsOptions


def test_the_listener_is_beside_nats_with_tls_when_nats_has_it(pki: Path) -> None:
    default = UnsOptions.parse({})
    assert default.address(NatsSettings(url="nats://nats.plantbus:4222")) == (
        "nats.plantbus",
        1883,
        False,
    )
    assert default.address(NatsSettings(url="tls://hub:4222"))[2]
    with_ca = NatsSettings(url="nats://hub:4222", tls_ca=pki / "ca.crt")
    assert default.address(with_ca) == ("hub", 1883, True)


def test_an_explicit_url_wins() -> None:
    options = UnsOptions.parse({"mqtt_url": "mqtts://broker.local:8883"})
    assert options.address(NatsSettings()) == ("broker.local", 8883, True)


@pytest.mark.parametrize("url", ["http://x:1883", "mqtt://", "mqtt://x:1/topic"])
def test_a_bad_url_names_the_option(url: str) -> None:
    with pytest.raises(ConfigError, match=r"uns\.mqtt_url"):
        UnsOptions.parse({"mqtt_url": url})
