"""The MQTT write requests as the uns service reads them: who asked comes from the subject
(the server lets each writer publish only below its own name), what to write from the JSON
payload; anything else is refused with a reason the flow's author can act on. And the uns
service acts only for the plant users ``uns.writers`` names."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantbus.config import PlantConfig
from plantbus.config.issues import ConfigInvalid
from plantbus.config.loader import load_path
from plantbus.kit.identity import Identity
from plantbus.kit.natsauth import MQTT_WRITER, grants, write_requests
from plantbus.uns.writes import BadRequest, Request, request_of, result_topic

SUBJECT = "uns._set.mqtt-writer.demo.machining.line1.m1.speed_setpoint"
PATH = "demo/machining/line1/m1/speed_setpoint"


def test_a_request_names_its_mqtt_user_tag_value_reason_and_id() -> None:
    user, path, request = request_of(SUBJECT, b'{"value": 1200, "reason": "night", "id": 7}')
    assert (user, path) == ("mqtt-writer", PATH)
    assert request == Request("mqtt-writer", PATH, 1200, "night", 7)
    assert result_topic(user, path) == f"uns/_set/mqtt-writer/{PATH}/_result"


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"1200", '"value"'),
        (b"not json", "not JSON"),
        (b'{"val": 1}', '"value"'),
        (b'{"value": null}', "not a finite number"),
        (b'{"value": [1]}', "not a finite number"),
        (b'{"value": NaN}', "not a finite number"),
        (b'{"value": 1, "reason": 5}', '"reason"'),
        (b'{"value": 1, "id": {"a": 1}}', '"id"'),
    ],
)
def test_a_malformed_request_is_refused_with_the_reason(payload: bytes, why: str) -> None:
    user, path, request = request_of(SUBJECT, payload)
    assert (user, path) == ("mqtt-writer", PATH)
    assert isinstance(request, BadRequest) and why in str(request)


def test_the_writer_may_publish_below_its_own_name_only_and_uns_reads_them_all() -> None:
    users = grants()
    assert users[MQTT_WRITER].publish == {f"uns._set.{MQTT_WRITER}.*.*.*.*.*"}
    assert write_requests("*") in users["uns"].subscribe
    assert not users["mqtt-reader"].publish


def test_uns_acts_for_the_configured_writers_plant_users_only() -> None:
    config = PlantConfig.model_validate(
        {
            "users": [{"name": "engineer"}, {"name": "admin"}],
            "uns": {"writers": {MQTT_WRITER: "engineer"}},
        }
    )
    uns = Identity("service", "uns", "mtls")
    assert uns.may_act_for("engineer", config)
    assert not uns.may_act_for("admin", config)
    assert not uns.may_act_for("engineer", PlantConfig.model_validate({}))
    assert not Identity("service", "historian", "mtls").may_act_for("engineer", config)


def test_a_writer_acting_for_an_unknown_user_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "plant.yaml").write_text("users:\n  - name: engineer\n")
    (tmp_path / "uns.yaml").write_text(
        "uns:\n  writers:\n    mqtt-writer: engineer\n    other: nobody\n"
    )
    with pytest.raises(ConfigInvalid) as info:
        load_path(tmp_path)
    (problem,) = [str(issue) for issue in info.value.issues]
    assert "uns.yaml:4" in problem and "unknown user 'nobody'" in problem
