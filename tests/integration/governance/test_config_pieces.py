"""Config versions in pieces with a real nats-server (default max_payload of 1 MiB): a
plant too big for one message is stored and read back whole, one changed tag writes one
piece and reaches a follower as that one device, old inline versions stay readable, and
an altered piece is refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import ClassVar

import pytest
from nats.js.kv import KeyValue

from plantbus.config import PlantConfig, yaml_items
from plantbus.config.loader import Source, load_sources
from plantbus.governance.service import GovernanceService
from plantbus.kit import config_pieces, config_reader
from plantbus.kit.bus import Bus
from plantbus.kit.config_reader import ConfigChange, VersionReader
from plantbus.kit.config_sections import SectionNotRead
from plantbus.kit.config_watch import config_kv
from plantbus.kit.runner import Runner
from plantbus.kit.service import Service
from plantbus.sdk.errors import ConfigError
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.waiting import wait_until
from tests.big_plant import big_plant, tag_line

BIG = 3 * config_pieces.PIECE_WEIGHT + 10
"""Tags of the big device: it is cut in four parts."""


def plant(scale: float = 1.0) -> list[Source]:
    """Three devices of 5 tags, and dev3 of BIG tags (tag 7 of dev3 at ``scale``)."""
    sources = big_plant(4, 5)
    body = "".join(tag_line(3, t, scale if t == 7 else 1.0) for t in range(BIG))
    devices = sources[1].text.replace("".join(tag_line(3, t) for t in range(5)), body)
    return [sources[0], Source("devices.yaml", devices)]


def changed(sources: list[Source], device: int, tag: int) -> list[Source]:
    """``sources`` with one tag's scale at 2.0."""
    text = sources[1].text.replace(tag_line(device, tag), tag_line(device, tag, 2.0), 1)
    return [sources[0], Source("devices.yaml", text)]


class Watcher(Service):
    """Keeps the change of every version it is given."""

    name: ClassVar[str] = "watcher"
    changes: ClassVar[list[ConfigChange | None]] = []

    async def start(self) -> None:
        return None

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        self.changes.append(self.config_change)
        self.config_version = version


@pytest.fixture
async def hub(nats_url: str, tmp_path: Path) -> AsyncIterator[Runner]:
    Watcher.changes = []
    async with hosted([GovernanceService, Watcher], nats_url=nats_url, data_dir=tmp_path) as r:
        yield r


async def piece_keys(bus: Bus) -> set[str]:
    kv = await config_kv(bus)
    return {k for k in await kv.keys() if k.startswith(config_pieces.PIECE_PREFIX)}


async def test_a_big_plant_is_stored_in_pieces_and_one_tag_changes_one_piece(
    hub: Runner, bus: Bus
) -> None:
    governance = hub.services["governance"]
    assert isinstance(governance, GovernanceService)
    first = await governance.apply(plant(), "pytest", "big")
    assert first.version == 1 and not first.issues
    kv = await config_kv(bus)
    keys = await piece_keys(bus)
    sizes = [len((await kv.get(k)).value or b"") for k in keys]
    assert max(sizes) < 2**20  # every value fits the default max_payload
    pieces = (await governance.store.get(1)).pieces
    stored = await VersionReader(kv).read({"version": 1, "format": 2, "pieces": pieces})
    assert stored.config == load_sources(plant())
    assert len(stored.config.devices[3].tags) == BIG
    await wait_until(lambda: len(Watcher.changes) == 1, message="watcher got version 1")
    before = Watcher.changes[0]
    assert before is not None and "devices" in before.sections

    second = await governance.apply(plant(scale=2.0), "pytest", "one tag")
    assert second.version == 2
    assert "@@ devices[dev3].tags[t7] @@" in second.diff and "+  scale: 2.0" in second.diff
    assert len(second.diff.splitlines()) < 10  # the change, not the document
    assert len(await piece_keys(bus) - keys) == 1  # one piece written, the rest shared
    await wait_until(lambda: len(Watcher.changes) == 2, message="watcher got version 2")
    after = Watcher.changes[1]
    assert after is not None
    assert after.sections == {"devices"} and after.devices == {"dev3"}
    assert after.config.devices[0] is before.config.devices[0]  # not read or validated again
    assert after.config.devices[3].tags[7].scale == 2.0


async def test_an_inline_version_stays_readable_and_is_followed_by_pieces(
    nats_url: str, tmp_path: Path, bus: Bus
) -> None:
    old = load_sources(big_plant(2, 3))
    await put_config(bus, old, message="format 1")
    Watcher.changes = []
    async with hosted([GovernanceService, Watcher], nats_url=nats_url, data_dir=tmp_path) as runner:
        governance = runner.services["governance"]
        assert isinstance(governance, GovernanceService)
        assert (await governance.store.get(1)).config == old
        applied = await governance.apply(big_plant(3, 3), "pytest", "one more device")
        assert applied.version == 2 and "@@ devices: name dev2 added @@" in applied.diff
        assert [v.message for v in await governance.store.history()] == [
            "one more device",
            "format 1",
        ]
        await wait_until(lambda: runner.services["watcher"].config_version == 2, message="v2")
        change = Watcher.changes[-1]
        assert change is not None and change.devices == {"dev2"}


async def test_an_altered_piece_is_refused(hub: Runner, bus: Bus) -> None:
    governance = hub.services["governance"]
    assert isinstance(governance, GovernanceService)
    await governance.apply(plant(), "pytest", "big")
    kv = await config_kv(bus)
    pieces = (await governance.store.get(1)).pieces
    victim = sorted(await piece_keys(bus))[0]
    _, forged = config_pieces.encode([{"name": "mallory"}])
    await kv.put(victim, forged)
    with pytest.raises(ConfigError, match="does not match its hash"):
        await VersionReader(kv).read({"version": 1, "format": 2, "pieces": pieces})
    with pytest.raises(ConfigError, match="it was altered"):
        await governance.store.get(1)  # never served or restored


async def test_an_applied_version_is_read_back_as_governance_validated_it(
    hub: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    governance = hub.services["governance"]
    assert isinstance(governance, GovernanceService)
    validated: list[str] = []
    read: list[str] = []
    validate, fast = config_reader._validate_piece, yaml_items.fast_data
    monkeypatch.setattr(
        config_reader, "_validate_piece", lambda s, v: validated.append(s) or validate(s, v)
    )
    monkeypatch.setattr(yaml_items, "fast_data", lambda t, *a: read.append(t) or fast(t, *a))
    first = await governance.apply(big_plant(4, 5), "pytest", "small")
    await wait_until(lambda: len(Watcher.changes) == 1, message="watcher got version 1")
    running = await governance.running()
    assert running is not None and running.version == first.version == 1
    assert validated == []  # neither governance's store nor the runner's watch validated it
    change = Watcher.changes[0]
    assert change is not None and change.config.devices[2] is running.config.devices[2]
    read.clear()
    second = await governance.apply(changed(big_plant(4, 5), 2, 3), "pytest", "one tag")
    assert second.version == 2 and "+  scale: 2.0" in second.diff
    (device,) = [t for t in read if t.lstrip().startswith("- name: dev")]
    assert "- name: dev2\n" in device  # of the devices, only the changed one was read again
    assert validated == []


class SitesWatcher(Watcher):
    """Uses only the plant model: its runner reads no device."""

    name: ClassVar[str] = "sites-watcher"
    config_sections: ClassVar[frozenset[str] | None] = frozenset({"sites"})


async def test_a_service_reads_only_the_sections_it_declares_and_its_gates(
    nats_url: str, tmp_path: Path, bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 50,000 tags the device list is most of a service's memory: a service that does
    not use it neither fetches nor holds it, and touching it fails, naming the section."""
    fetched: list[str] = []
    fetch = config_pieces.fetch_raw

    async def recorded(kv: KeyValue, keys: Iterable[str]) -> dict[str, bytes]:
        keys = list(keys)
        fetched.extend(keys)
        return await fetch(kv, keys)

    monkeypatch.setattr(config_pieces, "fetch_raw", recorded)
    Watcher.changes = []
    services = [GovernanceService, SitesWatcher]
    async with hosted(services, nats_url=nats_url, data_dir=tmp_path) as runner:
        governance = runner.services["governance"]
        assert isinstance(governance, GovernanceService)
        await governance.apply(plant(), "pytest", "big")
        await wait_until(lambda: len(Watcher.changes) == 1, message="watcher got version 1")
        kv = await config_kv(bus)
        pieces = (await governance.store.get(1)).pieces
        fetched.clear()
        reader = VersionReader(kv, sections=frozenset({"sites", "users"}))
        change = await reader.read({"version": 1, "format": 2, "pieces": pieces})
        assert set(fetched) == {*pieces["sites"], *pieces.get("users", [])}
        assert change.sections == {"sites", "users"} and change.config.sites  # all it reads
        with pytest.raises(SectionNotRead, match="'devices' is not read by this process"):
            len(change.config.devices)
        with pytest.raises(SectionNotRead, match="'alert_rules'"):
            list(change.config.alert_rules)
        assert getattr(change.config.oee, "__deepcopy__", None) is None  # probes still work

        hosted_change = Watcher.changes[0]
        assert hosted_change is not None
        assert hosted_change.config.users == load_sources(plant()).users  # the gate's
        with pytest.raises(SectionNotRead):
            hosted_change.config.devices[0]

        # a changed tag is nothing this service reads: no section changed for it
        await governance.apply(plant(scale=2.0), "pytest", "one tag")
        await wait_until(lambda: len(Watcher.changes) == 2, message="watcher got version 2")
        after = Watcher.changes[1]
        assert after is not None and after.sections == set() and after.devices == set()


async def test_an_inline_version_is_read_for_the_declared_sections_only(bus: Bus) -> None:
    whole = load_sources(big_plant(2, 3))
    await put_config(bus, whole, message="format 1")
    kv = await config_kv(bus)
    entry = await kv.get("current")
    doc = json.loads(entry.value or b"{}")
    change = await VersionReader(kv, sections=frozenset({"sites"})).read(doc)
    assert change.config.sites == whole.sites and change.sections == {"sites"}
    with pytest.raises(SectionNotRead, match="'devices'"):
        bool(change.config.devices)


async def test_governance_alone_validates_an_applied_version_once_and_holds_one_copy(
    nats_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Governance's runner reads only its gate's sections: the devices governance validated
    must still reach its store's reader, or every apply validates (and holds) the running
    version's devices a second time (at 50,000 tags: +45 MB)."""
    validated: list[str] = []
    validate = config_reader._validate_piece
    monkeypatch.setattr(
        config_reader, "_validate_piece", lambda s, v: validated.append(s) or validate(s, v)
    )
    async with hosted([GovernanceService], nats_url=nats_url, data_dir=tmp_path) as runner:
        governance = runner.services["governance"]
        assert isinstance(governance, GovernanceService)
        await governance.apply(big_plant(4, 5), "pytest", "first")
        second = await governance.apply(changed(big_plant(4, 5), 2, 3), "pytest", "one tag")
        third = await governance.apply(changed(big_plant(4, 5), 1, 2), "pytest", "another")
        assert (second.version, third.version) == (2, 3)
        running = await governance.running()
        assert running is not None and running.version == 3
        assert running.config.devices[1].tags[2].scale == 2.0
    assert "devices" not in validated, validated


async def test_a_reader_keeps_the_tags_a_reapply_did_not_change(hub: Runner, bus: Bus) -> None:
    """Every device's poll interval changed, no tag: the reader's new devices hold the
    tag objects of the version before (a plant's tags are not held twice after a rate
    step), and a changed tag is its own."""
    governance = hub.services["governance"]
    assert isinstance(governance, GovernanceService)
    kv = await config_kv(bus)
    reader = VersionReader(kv)  # a pool of its own: nothing handed over by governance

    async def applied(sources: list[Source]) -> PlantConfig:
        done = await governance.apply(sources, "pytest", "rate step")
        assert not done.issues
        pieces = (await governance.store.get(done.version)).pieces
        stored = await reader.read({"version": done.version, "format": 2, "pieces": pieces})
        return stored.config

    first = await applied(big_plant(4, 5))
    faster = big_plant(4, 5, poll_interval_s=1.0)
    second = await applied(faster)
    assert [d.poll_interval_s for d in second.devices] == [1.0] * 4
    for old, new in zip(first.devices, second.devices, strict=True):
        assert new is not old
        assert all(a is b for a, b in zip(old.tags, new.tags, strict=True))
    third = await applied(changed(faster, 2, 3))
    assert third.devices[2].tags[3].scale == 2.0
    assert third.devices[2].tags[3] is not second.devices[2].tags[3]
    assert third.devices[2].tags[4] is second.devices[2].tags[4]
