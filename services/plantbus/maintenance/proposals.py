"""Proposed setpoint changes, pure: when a plan proposes one, what it is, and whether the
service may apply it on its own now (its rate limit per tag).

A plan with ``propose`` proposes once per due point and level (the id is
``<plan>:<epoch>:<warning|due>``, like a request's key): a plan that flaps between warning
and ok proposes nothing new until maintenance is recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from plantbus.config.maintenance import Plan
from plantbus.kit import codec
from plantbus.maintenance.engine import Event
from plantbus.v1 import maintenance_pb2 as pb

__all__ = ["Proposal", "auto_allowed", "proposal_of"]

State = Literal["pending", "applied", "rejected"]
_STATES = {
    "pending": pb.PROPOSAL_STATE_PENDING,
    "applied": pb.PROPOSAL_STATE_APPLIED,
    "rejected": pb.PROPOSAL_STATE_REJECTED,
}
_SAME = ("id", "plan", "machine", "tag", "value", "reason", "decided_by", "note")
"""The fields a Proposal message has as they are here."""


@dataclass
class Proposal:
    """One proposed write and where it stands."""

    id: str
    plan: str
    machine: str
    tag: str
    value: float
    reason: str
    created: float
    state: State = "pending"
    decided_by: str = ""
    decided: float = 0.0
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The document kept in KV."""
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Proposal:
        """A proposal from its KV document."""
        return cls(**doc)

    def message(self) -> pb.Proposal:
        """The proposal as published and answered."""
        same = {name: getattr(self, name) for name in _SAME}
        out = pb.Proposal(**same, created=codec.timestamp(self.created), state=_STATES[self.state])
        if self.decided:
            out.decided.CopyFrom(codec.timestamp(self.decided))
        return out


def proposal_of(plan: Plan, e: Event) -> Proposal | None:
    """What ``plan`` proposes on its event ``e`` (None: nothing at this level)."""
    if plan.propose is None or e.status is None or e.kind != plan.propose.when:
        return None
    return Proposal(
        id=f"{plan.name}:{e.status.epoch}:{e.kind}",
        plan=plan.name,
        machine=e.machine,
        tag=plan.propose.path(plan.machine),
        value=plan.propose.value,
        reason=e.message,
        created=e.time,
    )


def auto_allowed(
    proposal: Proposal, earlier: Iterable[Proposal], by: str, interval_s: float, now: float
) -> bool:
    """True unless ``by`` applied a proposal to the same tag less than ``interval_s`` ago."""
    return not any(
        p.tag == proposal.tag
        and p.state == "applied"
        and p.decided_by == by
        and now - p.decided < interval_s
        for p in earlier
    )
