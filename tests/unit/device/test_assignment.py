"""Sharing devices between device-service instances."""

from __future__ import annotations

from plantbus.config.devices import Device
from plantbus.device.assignment import assign

DEVICES = [
    Device(name=f"d{i}", driver="memory", endpoint=f"memory://d{i}", machine="s/a/l/m")
    for i in range(60)
]
PINNED = Device(
    name="pinned", driver="memory", endpoint="memory://p", machine="s/a/l/m", instance="b"
)


def test_every_device_runs_exactly_once_and_the_share_is_fair() -> None:
    live = ["a", "b", "c"]
    shares = [set(assign([*DEVICES, PINNED], me, live)) for me in live]
    assert set.union(*shares) == {d.name for d in DEVICES} | {"pinned"}
    assert sum(len(s) for s in shares) == len(DEVICES) + 1
    assert all(10 <= len(s) <= 30 for s in shares), [len(s) for s in shares]
    assert "pinned" in shares[1]


def test_only_the_leaving_instances_devices_move() -> None:
    before = {me: set(assign(DEVICES, me, ["a", "b", "c"])) for me in "abc"}
    after = {me: set(assign(DEVICES, me, ["a", "b"])) for me in "ab"}
    assert before["a"] <= after["a"] and before["b"] <= after["b"]
    assert after["a"] | after["b"] == {d.name for d in DEVICES}


def test_alone_an_instance_runs_all_unpinned_devices_and_its_own_pinned() -> None:
    assert set(assign([*DEVICES, PINNED], "a", [])) == {d.name for d in DEVICES}
    assert set(assign([PINNED], "b", [])) == {"pinned"}
