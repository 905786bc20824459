"""An audited action: its attempt is recorded before it happens, or it does not happen."""

from __future__ import annotations

from typing import Any

import pytest

from plantbus.kit.audit import AuditUnavailable, attempted
from plantbus.sdk.errors import ErpUnavailable
from plantbus.v1 import service_pb2


class _Audit:
    def __init__(self, failing: bool = False) -> None:
        self.records: list[tuple[int, str]] = []
        self.failing = failing

    async def __call__(self, **record: Any) -> None:
        if self.failing:
            raise AuditUnavailable("audit stream has no leader")
        self.records.append(
            (record.get("outcome", service_pb2.AUDIT_OUTCOME_SUCCESS), record["detail"])
        )


async def test_no_audit_no_action() -> None:
    acted = []
    with pytest.raises(AuditUnavailable):
        async with attempted(_Audit(failing=True), action="a", target="t", actor="u"):
            acted.append(1)
    assert acted == []


async def test_the_attempt_then_the_success_with_the_detail_the_action_gave() -> None:
    audit = _Audit()
    async with attempted(audit, action="a", target="t", actor="u", detail="on m1") as outcome:
        assert audit.records == [(service_pb2.AUDIT_OUTCOME_ATTEMPT, "on m1")]
        outcome.detail = "good 5"
    assert audit.records[1] == (service_pb2.AUDIT_OUTCOME_SUCCESS, "good 5")


async def test_a_failed_action_is_recorded_as_failed_and_raised() -> None:
    audit = _Audit()
    with pytest.raises(ErpUnavailable):
        async with attempted(audit, action="a", target="t", actor="u", detail="x"):
            raise ErpUnavailable("tryton down")
    assert audit.records[1] == (service_pb2.AUDIT_OUTCOME_FAILED, "x: tryton down")
