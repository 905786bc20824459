"""What keeps the live OEE cheap per machine, checked for meaning: a track's copy is a deep
copy, a line's calendar plan gives the changes :func:`transitions` gives, a tick releases
only the machines that hold inputs (a late one still corrects), a state sample that changes
nothing is not urgent, a provisional view marks nothing, counts-only snapshots go with
their line's at most once a second, and a save writes only what was touched."""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from plantbus.config import PlantConfig
from plantbus.kit import kv_keys
from plantbus.oee import feed
from plantbus.oee.calendar import CalendarPlans, transitions
from plantbus.oee.engine import MachineTrack
from plantbus.oee.kpi import Kpis, Totals
from plantbus.oee.live import LiveOee
from plantbus.oee.publishing import SnapshotPublisher
from plantbus.oee.saved import restore
from plantbus.oee.share import LineShare
from plantbus.oee.snapshot import _RATIOS, snapshot
from plantbus.v1 import telemetry_pb2

from .test_live import M1, MAPPING, config

M2 = "s/a/l/m2"
LINE = "s/a/l"


def two_machines() -> PlantConfig:
    base = config().model_dump(mode="json")
    base["oee"].append({**MAPPING, "machine": M2})
    return PlantConfig.model_validate(base)


def start() -> float:
    return datetime(2026, 1, 5, 7, tzinfo=UTC).timestamp()


def test_a_tracks_copy_is_a_deep_copy_and_its_dict_asdicts() -> None:
    track = MachineTrack(M1, LINE, breaks=["lunch"], shift="early")
    track.totals.down_by_reason["jam"] = 3.0
    track.shifts["early"] = Totals(apt_s=5.0, planned_by_reason={"lunch": 1.0})
    track.orders["o1"] = Totals(total_count=4)
    copied = track.copy()
    assert copied == copy.deepcopy(track)
    assert track.as_dict() == dataclasses.asdict(track), "saved as asdict saves it"
    copied.breaks.append("x")
    copied.totals.down_by_reason["jam"] = 9.0
    copied.shifts["early"].planned_by_reason["lunch"] = 9.0
    copied.orders["o1"].total_count = 9
    assert track == MachineTrack(
        M1,
        LINE,
        breaks=["lunch"],
        shift="early",
        totals=Totals(down_by_reason={"jam": 3.0}),
        shifts={"early": Totals(apt_s=5.0, planned_by_reason={"lunch": 1.0})},
        orders={"o1": Totals(total_count=4)},
    )


def test_totals_add_every_time_and_count_and_copy_deeply() -> None:
    one = Totals(down_by_reason={"jam": 1.5}, planned_by_reason={"lunch": 2.0})
    for n, f in enumerate(dataclasses.fields(Totals)):
        if f.type in ("float", "int"):
            setattr(one, f.name, n + (0.25 if f.type == "float" else 0))
    both = Totals.sum([one, one])
    for f in dataclasses.fields(Totals):
        value = getattr(one, f.name)
        want = {k: 2 * v for k, v in value.items()} if isinstance(value, dict) else 2 * value
        assert getattr(both, f.name) == want, f.name
    copied = one.copy()
    assert copied == copy.deepcopy(one) and copied.down_by_reason is not one.down_by_reason
    assert one.as_dict() == dataclasses.asdict(one)


def test_a_snapshot_has_each_ratio_once_and_none_of_those_without_data() -> None:
    running = Totals(pot_s=100.0, apt_s=80.0, down_s=20.0, ideal_s=60.0, total_count=60)
    running.reject_count, running.failures, running.busy_s = 3, 2, 90.0
    for totals in (Totals(), running):
        kpis = Kpis(totals)
        snap = snapshot("s/a/l/m1", kpis, MachineTrack(M1, LINE), "early", 2)
        for field, name in _RATIOS.items():
            value = getattr(kpis, name)
            assert snap.kpis.HasField(field) == (value is not None), field
            assert value is None or getattr(snap.kpis, field) == value, field
        for name in ("availability", "performance", "quality", "oee"):
            value = getattr(kpis, name)
            assert snap.HasField(name) == (value is not None)
            assert value is None or getattr(snap, name) == value
        assert snap.kpis.total_count == totals.total_count and snap.revision == 2


def test_a_lines_plan_gives_what_transitions_gives_step_by_step() -> None:
    cal = config(shift_end="14:00", timezone="Europe/Berlin").shift_calendars[0]
    other = config(shift_end="12:00", timezone="Europe/Berlin").shift_calendars[0]
    begin = datetime(2026, 3, 28, 0, tzinfo=UTC).timestamp()  # over the change to summer time
    plans, got, want = CalendarPlans(), [], []
    since = begin
    for step in range(1, 3 * 24 * 60):
        now = begin + step * 73.0
        calendar = cal if step < 2000 else other
        if step == 2500:
            now -= 3600  # the wall clock jumped back
        got += plans.transitions(LINE, calendar, since, now)
        want += transitions(calendar, since, now)
        since = now
    assert got == want and len(want) > 6


def test_a_tick_releases_only_busy_machines_and_a_late_sample_still_corrects() -> None:
    live, now = LiveOee(), start()
    live.configure(two_machines(), now)
    live.sample(f"{M1}/state", 1, now, now)
    live.tick(now + 5)
    assert live.busy == set(), "nothing held once the window passed"
    live.sample(f"{M1}/parts", 10, now + 6, now + 6)
    assert live.busy == {M1}
    live.tick(now + 10)
    revision = live.machines[M1].revision
    live.sample(f"{M1}/parts", 12, now + 7, now + 11)  # late: behind the window
    live.tick(now + 11)
    assert live.machines[M1].revision == revision + 1 and M1 in live.drain().urgent


def test_only_a_state_sample_that_changes_the_state_shown_is_urgent() -> None:
    live, now = LiveOee(), start()
    live.configure(config(), now)
    live.drain()
    urgent = []
    for value in (1, 1, 3, 3, 1):
        live.sample(f"{M1}/state", value, now, now)
        urgent.append(M1 in live.drain().urgent)
        now += 0.1
    assert urgent == [True, False, True, False, True]
    live.machine_snapshot(M1, now)  # the pending state changes applied to a copy
    assert not live.drain().urgent


class Sent:
    def __init__(self) -> None:
        self.scopes: list[str] = []

    async def publish(self, subject: str, msg: Any, headers: Any = None) -> None:
        if subject.startswith("plantbus.v1.oee."):
            self.scopes.append(msg.scope)


async def test_counts_only_snapshots_go_with_their_lines_at_most_once_a_second() -> None:
    live, now, bus = LiveOee(), start(), Sent()
    live.configure(two_machines(), now)
    out = SnapshotPublisher(bus)  # type: ignore[arg-type]
    for machine in (M1, M2):
        live.sample(f"{machine}/state", 1, now, now)
    await out.publish(live, now, counts=False)
    assert sorted(bus.scopes) == [LINE, M1, M2], "state changes: at once, with the line"
    live.tick(now + 3)  # the states committed (urgent again)
    await out.publish(live, now + 3)
    bus.scopes.clear()
    for step in range(1, 17):
        t = now + 3 + step * 0.25
        live.sample(f"{M1}/parts", step, t, t)
        before = len(bus.scopes)
        await out.publish(live, t, counts=False)
        assert len(bus.scopes) == before, "the message path leaves counts to the tick"
        live.tick(t)
        await out.publish(live, t)
    assert bus.scopes == [M1, LINE] * 4  # once a second, the machine before its line


class Kv:
    def __init__(self) -> None:
        self.keys: list[str] = []
        self.values: dict[str, bytes] = {}

    async def put(self, key: str, value: bytes) -> int:
        self.keys.append(key)
        self.values[key] = value
        return len(self.keys)

    async def get(self, key: str) -> Any:
        return SimpleNamespace(value=self.values[key])


def saving_share(kv: Kv, now: float) -> LineShare:
    share = LineShare(None, logging.getLogger("test"))  # type: ignore[arg-type]
    share.kv, share.lines = kv, {LINE}  # type: ignore[assignment]
    share.live.configure(two_machines(), now)
    return share


async def test_a_save_writes_the_lines_and_the_machines_touched_since() -> None:
    kv, now = Kv(), start()
    share = saving_share(kv, now)
    await share.save()
    assert sorted(kv.keys) == ["line.s.a.l", "machine.s.a.l.m1", "machine.s.a.l.m2"]
    kv.keys.clear()
    await share.save()
    assert kv.keys == ["line.s.a.l"], "nothing touched: the values in KV are the state"
    share.live.work_order(M2, "running", "o1", None, now)
    share._saved_at[M1] -= 61  # written over a minute ago
    kv.keys.clear()
    await share.save()
    assert sorted(kv.keys) == ["line.s.a.l", "machine.s.a.l.m1", "machine.s.a.l.m2"]


async def test_a_change_the_stream_replays_waits_and_one_it_does_not_is_written_at_once() -> None:
    kv, now = Kv(), start()
    share = saving_share(kv, now)
    await share.save()
    share.live.sample(f"{M1}/parts", 5, now, now)
    share.live.sample(f"{M2}/state", 3, now, now)  # a stop: replayed too, until committed
    share.live.tick(now + 1)
    kv.keys.clear()
    await share.save()
    assert kv.keys == ["line.s.a.l"], "telemetry alone: read from the stream again"
    share.live.tick(now + 3)  # m2's stop committed: a downtime event
    kv.keys.clear()
    await share.save()
    assert sorted(kv.keys) == ["line.s.a.l", "machine.s.a.l.m2"]
    share._saved_at[M1] -= 10
    kv.keys.clear()
    await share.save()
    assert sorted(kv.keys) == ["line.s.a.l", "machine.s.a.l.m1"], "waited 10 s at most"


def cycle(machine: str, ts: float, state: int, parts: int) -> telemetry_pb2.TagSampleBatch:
    batch = telemetry_pb2.TagSampleBatch(device="plc")
    for tag, value in (("state", state), ("parts", parts), ("temp", 20)):
        sample = batch.samples.add(path=f"{machine}/{tag}", quality=telemetry_pb2.QUALITY_GOOD)
        sample.value.int_value = value
        sample.source_time.FromNanoseconds(int(ts * 1e9))
    return batch


async def test_a_restore_from_values_that_waited_reads_the_stream_to_the_same_figures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """m1 only counts (its value waits), m2 stops at 40 s (written at once) and counts on;
    a replica restored from the values saved at 60 s, reading the stream from there, ends
    with the figures, downtime episodes and counter baselines of one that never stopped."""
    kv, begin = Kv(), start()
    share = saving_share(kv, begin)
    stream = [
        cycle(machine, begin + t, 3 if machine == M2 and t >= 40 else 1, 7 * t)
        for t in range(100)
        for machine in (M1, M2)
    ]
    for seq, batch in enumerate(stream, start=1):
        now = batch.samples[0].source_time.ToNanoseconds() / 1e9
        feed.apply_batch(share.live, batch, seq, {}, now)
        share.source.seq = seq
        share.live.tick(now)
        if seq % 4 == 0 and seq <= 120:
            await share.save()
            if seq == 4:
                share._saved_at = dict.fromkeys(share._saved_at, time.monotonic())
    monkeypatch.setattr(kv_keys, "keys", lambda kv: _listed(list(kv.values)))
    restored = LiveOee()
    at = await restore(kv, restored, {LINE})  # type: ignore[arg-type]
    assert at.seq < at.skip[M2], "m1's value is older: the stream is read from there"
    restored.configure(two_machines(), begin)
    for seq, batch in enumerate(stream, start=1):
        if seq > at.seq:
            feed.apply_batch(restored, batch, seq, at.skip, begin + 200)
            restored.tick(begin + 200)
    for live in (share.live, restored):
        live.flush()
    for machine in (M1, M2):
        assert restored.engine.machines[machine] == share.live.engine.machines[machine]
        before, after = (live.machines[machine].mapper for live in (share.live, restored))
        assert before is not None and after is not None and after.dump() == before.dump()
    episodes = [(d.id, d.kind) for d in share.live.engine.downtime.recent]
    assert [(d.id, d.kind) for d in restored.engine.downtime.recent] == episodes
    assert len(episodes) == 1


async def _listed(keys: list[str]) -> list[str]:
    return keys


class Leases:
    def __init__(self) -> None:
        self.asked = 0

    def holds(self, line: str) -> bool:
        self.asked += 1
        return True


async def test_a_message_of_counts_only_publishes_nothing_and_asks_no_lease() -> None:
    bus, now = Sent(), start()
    share = LineShare(bus, logging.getLogger("test"))  # type: ignore[arg-type]
    leases = Leases()
    share.lines, share.scopes = {LINE}, leases  # type: ignore[assignment]
    share.live.configure(two_machines(), now)
    await share.publish_due(now)
    bus.scopes.clear()
    share.live.sample(f"{M2}/parts", 5, now, now)
    await share.publish_due(now, counts=False)
    assert bus.scopes == [] and leases.asked == 1
    share.live.sample(f"{M1}/state", 3, now, now)
    await share.publish_due(now, counts=False)
    assert bus.scopes == [M1, LINE], "a state change goes at once"
    await share.publish_due(now + 1)
    assert bus.scopes == [M1, LINE, M2, LINE], "the counts with the next tick's"
