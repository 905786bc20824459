"""The Sparkplug bridge's certificate acts for one user only: the one the running config
names in ``sparkplug.user``; for anyone else, or with no section, its user header is
ignored (it is then the service itself, which may not write)."""

from __future__ import annotations

from plantbus.config import PlantConfig
from plantbus.kit.authz import authorize
from plantbus.kit.identity import Identity

BRIDGE = Identity("service", "sparkplug", "mtls")


def _config(section: bool) -> PlantConfig:
    raw: dict[str, object] = {"users": [{"name": "scada"}, {"name": "engineer"}]}
    if section:
        raw["sparkplug"] = {
            "broker": {"url": "mqtt://broker:1883"},
            "group_id": "plant",
            "edge_node_id": "hub",
            "user": "scada",
        }
    return PlantConfig.model_validate(raw)


def test_the_bridge_acts_for_its_configured_user_only() -> None:
    config = _config(section=True)
    assert BRIDGE.may_act_for("scada", config)
    assert not BRIDGE.may_act_for("engineer", config)
    assert not BRIDGE.may_act_for("scada", _config(section=False))
    assert not BRIDGE.may_act_for("scada", None)
    assert not BRIDGE.may_delegate


def test_other_services_gain_nothing_from_the_section() -> None:
    config = _config(section=True)
    assert not Identity("service", "device", "mtls").may_act_for("scada", config)
    assert not Identity("user", "sparkplug", "token").may_act_for("scada", config)
    assert Identity("service", "dashboard", "mtls").may_act_for("engineer", config)


def test_the_bridge_itself_may_not_write() -> None:
    assert not authorize(BRIDGE, "tag.write", _config(section=True)).allowed
