"""A replica's OEE state in KV: read back for the lines it takes, written for the lines it
runs (the values of :mod:`plantbus.oee.lines`, zlib-compressed JSON).

Each value records the telemetry stream sequence it includes. The replica reads the
stream again from the oldest of them and skips, per machine, what that machine's value
already includes (``Restored.skip``), so a restart neither loses nor double-counts.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from nats.js.kv import KeyValue

from plantbus.kit import kv_keys
from plantbus.oee.lines import LEGACY_KEY, dump_line, line_key, line_of, load_line, saved_line
from plantbus.oee.live import LiveOee
from plantbus.oee.persist import MACHINE_PREFIX, dump_machine, load_machine, machine_key

__all__ = ["Restored", "encode", "restore", "values_to_save"]


@dataclass
class Restored:
    """Where reading the stream resumes after a restore."""

    seq: int = 0
    """The oldest stream sequence a restored value includes (0: nothing was saved)."""
    skip: dict[str, int] = field(default_factory=dict)
    """Per machine, the stream sequence its restored value already includes."""


async def restore(kv: KeyValue, live: LiveOee, lines: set[str]) -> Restored:
    """Load the saved state of ``lines`` into ``live`` (fresh, before its config)."""
    keys = await kv_keys.keys(kv)
    restored = Restored()
    seqs = []
    ours = [k for k in keys if saved_line(k) in lines]
    if not any(saved_line(k) for k in keys) and LEGACY_KEY in keys:
        ours.append(LEGACY_KEY)  # saved whole by a version before replicas
    for key in ours:
        entry = await kv.get(key)
        if not entry.value:
            continue
        saved = json.loads(zlib.decompress(entry.value))
        seqs.append(int(saved["seq"]))
        if key.startswith(MACHINE_PREFIX):
            name = key.removeprefix(MACHINE_PREFIX).replace(".", "/")
            load_machine(live, name, saved)
            restored.skip[name] = int(saved["seq"])
        else:
            load_line(live, saved)
    restored.seq = min(seqs, default=0)
    return restored


def values_to_save(
    live: LiveOee,
    lines: set[str],
    seq: int,
    skip: dict[str, int],
    machines: set[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The KV values of ``lines`` (to :func:`encode`): each machine's open state (of
    ``machines`` only, when given) and each line's share of the shared state, with the
    stream sequence each includes (``seq``, the last one read; a machine restored ahead of
    the replay includes up to its ``skip``)."""
    docs: dict[str, dict[str, Any]] = {}
    names = live.engine.machines.keys() | live.machines.keys()
    for name in names if machines is None else names & machines:
        if line_of(name) in lines:
            docs[machine_key(name)] = {
                **dump_machine(live, name),
                "seq": max(seq, skip.get(name, 0)),
            }
    for line in lines:
        docs[line_key(line)] = {**dump_line(live, line), "seq": seq}
    return docs


def encode(doc: dict[str, Any]) -> bytes:
    """A value as stored in KV."""
    return zlib.compress(json.dumps(doc).encode())
