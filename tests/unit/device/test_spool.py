"""The spool: bounded and ordered; a CRC per record, so damage costs only the damaged
record; segments sealed with fsync; start-up that reads headers and footers, not records;
old formats read or refused; a full disk counted and reported, then recovered from."""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

import pytest

from plantbus.device import spool as spool_module
from plantbus.device.spool import VERSION, Spool
from tests.disk import InjectedDisk

PAYLOAD = 20 * b"p"


def key(i: int) -> str:
    return f"k{i:03d}"


def fill(spool: Spool, start: int, stop: int) -> None:
    spool.extend([(key(i), PAYLOAD) for i in range(start, stop)])


def replay(spool: Spool) -> list[str]:
    """Every key, in the order the publisher would send them."""
    keys: list[str] = []
    while len(spool):
        keys += [k for k, _ in spool.oldest_segment()]
        spool.drop_oldest_segment()
    return keys


def record_offset(segment: Path, i: int) -> int:
    """Where record ``i`` starts in ``segment``: 14 header bytes before its key."""
    return segment.read_bytes().index(key(i).encode()) - 14


def patch(segment: Path, offset: int, data: bytes) -> None:
    with segment.open("r+b") as f:
        f.seek(offset)
        f.write(data)


def test_spool_keeps_order_and_drops_oldest_when_full(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=3000, segment_bytes=1000)
    for i in range(60):
        spool.append(f"subj.{i}", b"x" * 90)
    assert spool.dropped > 0 and spool.size <= 3000 + 1000
    replayed = []
    while len(spool):
        replayed += [s for s, _ in spool.oldest_segment()]
        spool.drop_oldest_segment()
    numbers = [int(s.split(".")[1]) for s in replayed]
    assert numbers == sorted(numbers) and numbers[-1] == 59
    assert len(numbers) + spool.dropped == 60


def test_records_appended_during_a_replay_survive_dropping_the_replayed_segment(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path)
    spool.append("a", b"1")
    replaying = spool.oldest_segment()
    spool.append("b", b"2")  # arrives while "a" is being sent
    spool.drop_oldest_segment()
    assert replaying == [("a", b"1")]
    assert len(spool) == 1 and spool.oldest_segment() == [("b", b"2")]


@pytest.mark.parametrize(
    ("payload_length", "why"),
    [(2**20, "a length past the end of the segment"), (5, "CRC mismatch")],
    ids=["past-the-end", "too-short"],
)
def test_a_garbled_length_mid_segment_costs_only_that_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, payload_length: int, why: str
) -> None:
    spool = Spool(tmp_path, segment_bytes=400)
    fill(spool, 0, 30)
    spool.close()
    first = tmp_path / "1.spool"
    assert len(list(tmp_path.glob("*.spool"))) >= 3
    at = record_offset(first, 4)
    patch(first, at + 6, struct.pack(">I", payload_length))
    again = Spool(tmp_path, segment_bytes=400)
    assert len(again) == 30  # counted from the footers, before anything is read
    assert replay(again) == [key(i) for i in range(30) if i != 4]
    assert again.corrupt == 1
    assert f"{why} at offset {at} of {first}" in caplog.text


def test_a_flipped_bit_in_a_payload_fails_its_crc_and_only_it_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path)
    fill(spool, 0, 10)
    segment = tmp_path / "1.spool"
    at = record_offset(segment, 7)
    patch(segment, at + 14 + 4 + 3, b"q")  # a payload byte of record 7
    assert replay(Spool(tmp_path)) == [key(i) for i in range(10) if i != 7]
    assert f"CRC mismatch at offset {at} of {segment}" in caplog.text


def test_a_record_torn_by_a_crash_is_skipped_and_later_records_replay(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append("a", b"1")
    spool.append("b", b"2")
    with (tmp_path / "1.spool").open("ab") as out:
        out.write(b"\xabREC\x00\x05")  # a crash mid-append: the segment is never sealed
    again = Spool(tmp_path)
    assert len(again) == 2
    again.append("c", b"3")  # goes to a new segment, never after the torn bytes
    assert sorted(p.name for p in tmp_path.glob("*.spool")) == ["1.spool", "2.spool"]
    assert replay(again) == ["a", "b", "c"]
    assert again.corrupt == 1


def test_rollover_and_close_fsync_the_sealed_segment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    here = tmp_path.resolve()
    spool = Spool(here, segment_bytes=200)
    fill(spool, 0, 4)
    assert synced == []  # appending within a segment does not wait for the disk
    fill(spool, 4, 6)  # the first segment is full: sealed, then 2.spool starts
    assert synced == [str(here / "1.spool"), str(here)]
    fill(spool, 6, 7)
    assert len(synced) == 2
    spool.close()
    assert synced[2:] == [str(here / "2.spool"), str(here)]
    spool.close()  # twice is fine
    assert len(synced) == 4


def _bytes_read() -> int:
    """Bytes this process has read through read(2) so far (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux's /proc/self/io")
def test_opening_a_large_spool_reads_headers_and_footers_not_records(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=64 * 2**10)
    for _ in range(25):
        fill(spool, 0, 900)
    spool.close()
    segments = len(list(tmp_path.glob("*.spool")))
    assert spool.size > 700 * 2**10 and segments > 10

    before = _bytes_read()
    opened = Spool(tmp_path, segment_bytes=64 * 2**10)
    read = _bytes_read() - before
    assert len(opened) == 25 * 900
    assert read < spool.size / 100, f"read {read} of {spool.size} bytes to count the spool"

    # a crash leaves the segment being written unsealed: only that one is read to count it
    fill(opened, 0, 900)
    unsealed = opened.size - spool.size
    before = _bytes_read()
    assert len(Spool(tmp_path)) == 26 * 900
    assert _bytes_read() - before < unsealed + spool.size / 100


def test_a_version_1_segment_replays_and_a_newer_format_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = b"".join(struct.pack(">HI", 2, 1) + k + b"!" for k in (b"o1", b"o2"))
    (tmp_path / "1.spool").write_bytes(old)
    newer = tmp_path / "2.spool"
    newer.write_bytes(b"PBSPOOL\n" + struct.pack(">H", VERSION + 1) + b"what a later one writes")
    spool = Spool(tmp_path)
    assert len(spool) == 2
    assert f"{newer} is in format version {VERSION + 1}" in caplog.text
    assert "left on disk and not replayed" in caplog.text
    spool.append("new", b"!")
    assert (tmp_path / "3.spool").exists()  # numbered after the refused one
    assert replay(spool) == ["o1", "o2", "new"]
    assert newer.exists()


def test_a_full_disk_is_counted_reported_once_and_recovered_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, spool_module.__name__)
    disk = InjectedDisk(tmp_path, monkeypatch)
    spool = Spool(tmp_path)
    fill(spool, 0, 3)
    disk.room = 50  # the next write fits only partly: the disk is full in the middle of it
    assert spool.extend([(key(i), PAYLOAD) for i in range(3, 6)]) == 0
    fill(spool, 6, 8)
    fill(spool, 8, 10)
    assert (spool.lost, len(spool)) == (7, 3)
    assert "no space left on device" in spool.health.error
    failing = [r for r in caplog.records if "failing" in r.message]
    assert len(failing) == 1 and failing[0].levelno == logging.ERROR

    disk.free()
    fill(spool, 10, 12)
    assert spool.health.error == "" and len(spool) == 5
    assert len([r for r in caplog.records if "works again" in r.message]) == 1
    assert replay(spool) == [key(i) for i in (0, 1, 2, 10, 11)]
    assert spool.corrupt == 0  # the cut-off write was truncated away


def test_a_full_disk_at_rollover_leaves_no_stray_segment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = InjectedDisk(tmp_path, monkeypatch)
    spool = Spool(tmp_path, segment_bytes=100)
    fill(spool, 0, 3)  # fills the first segment
    disk.fill()
    fill(spool, 3, 5)  # neither its footer nor the next segment's header can be written
    assert spool.lost == 2 and "no space left" in spool.health.error
    assert [p.name for p in tmp_path.glob("*.spool")] == ["1.spool"]
    disk.free()
    fill(spool, 5, 6)
    assert sorted(p.name for p in tmp_path.glob("*.spool")) == ["1.spool", "2.spool"]
    assert replay(Spool(tmp_path)) == [key(i) for i in (0, 1, 2, 5)]
