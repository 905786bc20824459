"""Authorization decisions: the local operator, configured users with roles and the
built-in viewer role, services, anonymous callers, delegation."""

from __future__ import annotations

import pytest

from plantbus.config import PlantConfig
from plantbus.config.security import PERMISSIONS, READS
from plantbus.kit.authz import authorize
from plantbus.kit.identity import Identity

CONFIG = PlantConfig.model_validate(
    {
        "roles": [
            {"name": "operator", "permissions": ["alarm.acknowledge", "alarm.shelve"]},
            {"name": "admin", "permissions": ["config.apply", "tag.write"]},
        ],
        "users": [
            {"name": "olga", "roles": ["operator"]},
            {"name": "ada", "roles": ["admin", "operator"]},
            {"name": "vic"},
        ],
    }
)
OPERATOR = Identity("operator", "local-operator", "mtls", "ipv4:127.0.0.1:1")


def user(name: str, by: str = "") -> Identity:
    return Identity("user", name, "token", "ipv4:10.0.0.9:4", by=by)


@pytest.mark.parametrize("permission", sorted(set(PERMISSIONS) - {"tag.write"}))
def test_the_local_operator_may_do_everything_but_write_to_machines(permission: str) -> None:
    assert authorize(OPERATOR, permission, CONFIG).allowed  # type: ignore[arg-type]
    refused = authorize(OPERATOR, "tag.write", CONFIG)
    assert not refused.allowed and "only as a configured user" in refused.reason


def test_users_have_their_roles_permissions_and_every_read() -> None:
    assert authorize(user("olga"), "alarm.acknowledge", CONFIG).reason == "role 'operator'"
    assert authorize(user("ada"), "config.apply", CONFIG).reason == "role 'admin'"
    assert authorize(user("vic"), "oee.read", CONFIG).reason == "role 'viewer'"
    denied = authorize(user("olga"), "config.apply", CONFIG)
    assert not denied.allowed
    assert denied.reason == "no role of user 'olga' grants 'config.apply' (plant config roles)"
    assert not authorize(user("vic"), "alarm.acknowledge", CONFIG).allowed


def test_an_unconfigured_user_may_do_nothing_not_even_read() -> None:
    for permission in ("alarm.read", "alarm.acknowledge"):
        decision = authorize(user("mallory", by="dashboard"), permission, CONFIG)  # type: ignore[arg-type]
        assert not decision.allowed
        assert decision.reason == "user 'mallory' is not a user of the plant config"


def test_services_read_only() -> None:
    dashboard = Identity("service", "dashboard", "mtls")
    assert all(authorize(dashboard, p, CONFIG).allowed for p in READS)
    refused = authorize(dashboard, "alarm.acknowledge", CONFIG)
    assert not refused.allowed and "acts only for a user" in refused.reason


def test_a_viewer_role_in_the_config_replaces_the_built_in_one() -> None:
    narrowed = CONFIG.model_copy(
        update={
            "roles": [
                *CONFIG.roles,
                *PlantConfig.model_validate(
                    {"roles": [{"name": "viewer", "permissions": ["alarm.read"]}]}
                ).roles,
            ]
        }
    )
    assert authorize(user("vic"), "alarm.read", narrowed).allowed
    assert not authorize(user("vic"), "config.read", narrowed).allowed
    assert not authorize(Identity("service", "erp", "mtls"), "config.read", narrowed).allowed


def test_anonymous_may_do_nothing() -> None:
    nobody = Identity("anonymous", "anonymous", "none")
    assert not any(authorize(nobody, p, CONFIG).allowed for p in PERMISSIONS)


def test_only_the_operator_and_the_dashboard_act_for_others() -> None:
    assert OPERATOR.may_delegate
    assert Identity("service", "dashboard", "mtls").may_delegate
    assert Identity("service", "all", "mtls").may_delegate
    assert not Identity("service", "device", "mtls").may_delegate
    assert not user("ada").may_delegate
    engineer = OPERATOR.acting_for("engineer")
    assert (engineer.kind, engineer.name, engineer.by) == ("user", "engineer", "local-operator")
    assert engineer.attributes == {"auth": "mtls", "via": "local-operator"}
