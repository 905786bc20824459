"""`plantbus alarms` against a hosted alerting service: who and why reach the alarm and
the audit, and a refused action is one line with a non-zero exit."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner, Result

from plantbus.alerting.service import AlertingService
from plantbus.cli.alarms import alarms
from plantbus.kit.bus import Bus
from plantbus.testing.config import people, put_config
from plantbus.testing.harness import hosted
from plantbus.testing.messages import collected, publish_value
from plantbus.testing.waiting import wait_until
from plantbus.v1 import service_pb2

RULE = {"name": "hot", "kind": "high", "machine": "s/a/l/m1", "tag": "temp", "limit": 70}
CONFIG = {
    "sites": [
        {
            "name": "s",
            "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}],
        }
    ],
    "alert_rules": [RULE],
    **people(olga=["alarm.acknowledge", "alarm.shelve"]),
}
ALARM = "hot@s/a/l/m1"


async def cli(nats_url: str, tmp_path: Path, *args: str) -> Result:
    """The CLI as the local operator of the hub whose data dir is ``tmp_path``."""
    argv = [*args, "--nats-url", nats_url, "--data-dir", str(tmp_path)]
    return await asyncio.to_thread(CliRunner().invoke, alarms, argv)


async def test_operator_acts_from_the_cli_with_who_and_why(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    audits = await collected(bus, "plantbus.v1.audit.alerting", service_pb2.AuditRecord)
    await put_config(bus, CONFIG)
    async with hosted([AlertingService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["alerting"]
        await wait_until(lambda: service.config_version == 1)
        await publish_value(bus, "s/a/l/m1/temp", 75.0)
        await wait_until(lambda: ALARM in service.alarms and service.alarms[ALARM].active)

        listed = await cli(nats_url, tmp_path, "list")
        assert (
            listed.exit_code == 0 and ALARM in listed.output and "unacknowledged" in listed.output
        )
        acked = await cli(nats_url, tmp_path, "ack", ALARM, "-m", "coolant low", "--user", "olga")
        assert acked.exit_code == 0, acked.output
        assert "acknowledged by olga: coolant low" in acked.output
        shelved = await cli(nats_url, tmp_path, "shelve", ALARM, "--for", "5", "-m", "pump swap")
        assert shelved.exit_code == 0 and "shelved" in shelved.output
        refused = await cli(nats_url, tmp_path, "ack", ALARM, "--user", "olga")
        assert refused.exit_code == 2, "invalid input"
        assert refused.output.strip().splitlines() == [
            f"Error: alerting: alarm {ALARM} is shelved: nothing to acknowledge (INVALID_ARGUMENT)"
        ]
        not_latched = await cli(nats_url, tmp_path, "reset", ALARM, "-m", "try")
        assert not_latched.exit_code == 2, "invalid input"
        assert "only a latched alarm is reset" in not_latched.output
    await wait_until(lambda: len(audits) >= 3)
    assert [(a.action, a.actor, a.outcome) for a in audits[:3]] == [
        ("alarm.acknowledge", "olga", service_pb2.AUDIT_OUTCOME_SUCCESS),
        ("alarm.shelve", audits[1].actor, service_pb2.AUDIT_OUTCOME_SUCCESS),
        ("alarm.acknowledge", "olga", service_pb2.AUDIT_OUTCOME_DENIED),
    ]
    assert audits[0].detail == "coolant low" and audits[1].detail == "pump swap"
    assert audits[1].actor == "local-operator"  # without --user the operator acts itself
    assert audits[0].attributes["via"] == "local-operator"  # olga, through the operator
    assert audits[0].attributes["auth"] == "mtls" and audits[0].source.startswith("ipv")
