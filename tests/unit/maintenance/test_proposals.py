"""Proposed setpoint changes, pure: the config's checks (file and line), what a plan
proposes and when, the rate limit of writes alone, and the write policy a service needs."""

from __future__ import annotations

import pytest

from plantbus.config.issues import ConfigInvalid
from plantbus.config.loader import Source, load_sources
from plantbus.config.maintenance import Plan
from plantbus.config.model import PlantConfig
from plantbus.kit.authz import authorize, check_write
from plantbus.kit.identity import Identity
from plantbus.maintenance.engine import Event, Kind
from plantbus.maintenance.plans import PlanStatus
from plantbus.maintenance.proposals import Proposal, auto_allowed, proposal_of
from plantbus.v1 import maintenance_pb2
from tests.unit.maintenance.conftest import PLANT

SPEED = "s/a/l/m2/speed"
DEVICE_TAGS = """\
      - {name: speed, address: sp, data_type: uint16, access: read_write, min: 100, max: 2000}
"""
SECTION = """\
maintenance:
  plans:
    - {name: hot, machine: s/a/l/m2, by: calendar_days, due: 30, warning: 2,
       propose: {tag: speed, value: 800}}
"""


def plant(section: str = SECTION, policies: str = "") -> PlantConfig:
    devices = PLANT.replace(
        "      - {name: state, address: st", DEVICE_TAGS + "      - {name: state, address: st"
    )
    return load_sources(
        [Source("plant.yaml", devices + policies), Source("maintenance.yaml", section)]
    )


def test_a_proposal_loads_and_resolves_its_tag_on_the_plans_machine() -> None:
    (plan,) = plant().maintenance.plans
    assert plan.propose is not None and plan.propose.when == "warning"
    assert plan.propose.path(plan.machine) == SPEED
    assert plan.propose.min_interval_s == 3600


@pytest.mark.parametrize(
    ("propose", "expected"),
    [
        ("{tag: x, value: 800}", "propose.tag: unknown tag 's/a/l/m2/x' (no device has it)"),
        ("{tag: s/a/l/m2/state, value: 1}", "propose.tag: tag 's/a/l/m2/state' is read-only"),
        ("{tag: speed, value: 5000}", "propose.value: 5000 is outside the limits of"),
        ("{tag: speed, value: 800, when: ok}", "propose.when"),
    ],
)
def test_proposal_mistakes_are_named_with_file_and_line(propose: str, expected: str) -> None:
    with pytest.raises(ConfigInvalid) as info:
        plant(SECTION.replace("{tag: speed, value: 800}", propose))
    text = "\n".join(str(i) for i in info.value.issues)
    assert f"maintenance.yaml:4: maintenance.plans[0].{expected}" in text, text


def _event(plan: Plan, kind: Kind, epoch: int = 0) -> Event:
    message = "due in 1.5 days"
    st = PlanStatus(plan.name, "warning", 28.5, 30.0, 1.5, epoch=epoch, message=message)
    return Event(kind, plan.machine, 1000.0, message, plan.component, plan.name, status=st)


def test_a_plan_proposes_at_its_level_once_per_due_point() -> None:
    (plan,) = plant().maintenance.plans
    assert proposal_of(plan, _event(plan, "due")) is None  # when: warning
    first = proposal_of(plan, _event(plan, "warning"))
    assert first is not None
    assert (first.id, first.tag, first.value, first.reason) == (
        "hot:0:warning",
        SPEED,
        800,
        "due in 1.5 days",
    )
    assert proposal_of(plan, _event(plan, "warning", epoch=1)).id == "hot:1:warning"  # type: ignore[union-attr]
    shown = first.message()
    assert shown.state == maintenance_pb2.PROPOSAL_STATE_PENDING and not shown.HasField("decided")
    assert Proposal.from_json(first.to_json()) == first


def test_writes_alone_are_rate_limited_per_tag_and_writer() -> None:
    new = Proposal("p:1:warning", "p", "s/a/l/m2", SPEED, 800, "", 5000.0)
    done = Proposal("p:0:warning", "p", "s/a/l/m2", SPEED, 800, "", 0.0, "applied", "maintenance")
    done.decided = 4000.0
    assert not auto_allowed(new, [done], "maintenance", 3600, 5000.0)
    assert auto_allowed(new, [done], "maintenance", 3600, 7601.0)
    assert auto_allowed(new, [done], "all", 3600, 5000.0)  # another writer's
    by_person = Proposal("q:0:warning", "q", "s/a/l/m2", SPEED, 800, "", 0, "applied", "eng")
    by_person.decided = 4999.0
    assert auto_allowed(new, [by_person], "maintenance", 3600, 5000.0)


def test_a_service_writes_only_what_a_policy_names_it_for_within_limits() -> None:
    policies = """\
users: [{name: eng, roles: [engineer]}]
roles: [{name: engineer, permissions: [tag.write]}]
write_policies:
  - {name: people, roles: [engineer], tags: ["s/a/l/m2/*"]}
  - {name: alone, services: [maintenance], tags: [s/a/l/m2/speed], max: 900}
"""
    config = plant(policies=policies)
    me = Identity("service", "maintenance", "mtls")
    assert authorize(me, "tag.write", config).allowed
    assert not authorize(Identity("service", "oee", "mtls"), "tag.write", config).allowed
    assert check_write(config, "maintenance", SPEED, 800, service=True).policy == "alone"
    assert (
        "outside the limits of alone"
        in check_write(config, "maintenance", SPEED, 1000, service=True).reason
    )
    assert not check_write(config, "maintenance", SPEED, 800).allowed  # no user of that name
    assert check_write(config, "eng", SPEED, 1000).policy == "people"
    assert not authorize(me, "tag.write", plant()).allowed  # no policy names it


def test_the_maintenance_service_acts_only_for_approvers() -> None:
    config = plant(policies="users: [{name: eng, roles: [engineer]}, {name: visitor}]\n"
                   "roles: [{name: engineer, permissions: [maintenance.approve]}]\n")  # fmt: skip
    me = Identity("service", "maintenance", "mtls")
    assert me.may_act_for("eng", config)
    assert not me.may_act_for("visitor", config)  # no maintenance.approve
    assert not me.may_act_for("nobody", config)  # no user of the config
    assert not me.may_act_for("eng", None)
    assert not Identity("service", "oee", "mtls").may_act_for("eng", config)
