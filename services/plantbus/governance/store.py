"""Config versions in the JetStream KV bucket ``plantbus_config``.

``current`` holds the running version's manifest, ``history.<N>`` every version's; the
config itself is in content-addressed pieces (:mod:`plantbus.kit.config_pieces`),
written before the manifest that names them. Applies are compare-and-set on the
revision of ``current``, so two concurrent applies cannot silently overwrite each
other: the loser gets ConflictError. Versions stored before pieces (format 1, the
config inline) are read as they are.

Every manifest is signed with governance's key (:mod:`plantbus.kit.signing`), and so
covers the hash of every piece; it is checked when read: a document someone else wrote
to the bucket is never served, restored or diffed against. When ``current`` is such a
document, the running version is the newest one governance signed.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nats.errors import MaxPayloadError
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from plantbus.config import PlantConfig
from plantbus.governance.cut import Cut, Pieces
from plantbus.kit import config_pieces, kv_keys, streams
from plantbus.kit.bus import Bus
from plantbus.kit.config_reader import VersionReader
from plantbus.kit.config_watch import CURRENT_KEY, config_kv
from plantbus.kit.signing import SignatureInvalid, Signer, Verifier
from plantbus.sdk.errors import ConfigError, ConflictError, NotFound

_HISTORY = "history."

__all__ = ["ConfigStore", "StoredVersion", "VersionMeta"]


@dataclass(frozen=True)
class VersionMeta:
    """Who stored a version, when and why."""

    version: int
    author: str
    time: str
    message: str

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> VersionMeta:
        """The metadata of a stored document (either format)."""
        return cls(
            version=int(doc["version"]),
            author=str(doc.get("author", "")),
            time=str(doc.get("time", "")),
            message=str(doc.get("message", "")),
        )


@dataclass(frozen=True)
class StoredVersion(VersionMeta):
    """One stored config version: its metadata, config and pieces (None: format 1)."""

    config: PlantConfig = field(default_factory=PlantConfig)
    pieces: dict[str, list[str]] | None = None


class ConfigStore:
    """Reads and writes config versions with compare-and-set; signs what it writes with
    ``signer`` and trusts only what ``verifier`` accepts (None: no signing, no check)."""

    def __init__(
        self,
        kv: KeyValue,
        signer: Signer | None = None,
        verifier: Verifier | None = None,
        share: Any = None,
    ) -> None:
        self.kv = kv
        self.signer = signer
        self.verifier = verifier
        self._reader = VersionReader(kv, share)
        """Shares validated pieces with the runner's config watch on the same bus."""
        self._running: tuple[int, StoredVersion] | None = None
        """(revision of ``current``, its version): read once per revision."""

    @classmethod
    async def open(
        cls, bus: Bus, signer: Signer | None = None, verifier: Verifier | None = None
    ) -> ConfigStore:
        """The store on the hub's config bucket."""
        return cls(await config_kv(bus), signer, verifier, share=bus)

    def _document(self, raw: bytes | None, key: str) -> dict[str, Any]:
        """A stored document, if governance signed it (else SignatureInvalid naming it)."""
        doc: dict[str, Any] = json.loads(raw or b"{}")
        if self.verifier is not None:
            try:
                self.verifier.verify(doc)
            except SignatureInvalid as err:
                raise SignatureInvalid(
                    f"config version {doc.get('version', '?')} in KV {streams.CONFIG.name}/{key} "
                    f"was not written by governance: {err}. It is never served or restored"
                ) from None
        return doc

    @staticmethod
    async def _version(doc: dict[str, Any], reader: VersionReader) -> StoredVersion:
        change = await reader.read(doc)
        meta = VersionMeta.from_document(doc)
        pieces = doc["pieces"] if config_pieces.is_manifest(doc) else None
        return StoredVersion(**vars(meta), config=change.config, pieces=pieces)

    async def current(self) -> tuple[StoredVersion | None, int]:
        """The running version (None before the first apply) and the KV revision to CAS on."""
        try:
            entry = await self.kv.get(CURRENT_KEY)
        except KeyNotFoundError:
            return None, 0
        revision = int(entry.revision or 0)
        if self._running and self._running[0] == revision:
            return self._running[1], revision
        if not entry.value:
            return None, revision
        try:
            doc = self._document(entry.value, CURRENT_KEY)
        except SignatureInvalid:
            return await self._newest_signed(), revision
        stored = await self._version(doc, self._reader)
        self._running = (revision, stored)
        return stored, revision

    async def _newest_signed(self) -> StoredVersion | None:
        """The newest history entry governance signed (``current`` was forged)."""
        keys = await kv_keys.keys(self.kv)
        versions = sorted(
            (int(k[len(_HISTORY) :]) for k in keys if k[len(_HISTORY) :].isdigit()), reverse=True
        )
        for version in versions:
            try:
                return await self.get(version)
            except (NotFound, SignatureInvalid):
                continue
        return None

    async def _history_doc(self, version: int) -> dict[str, Any]:
        try:
            entry = await self.kv.get(f"{_HISTORY}{version}")
        except KeyNotFoundError:
            raise NotFound(f"config version {version} does not exist") from None
        return self._document(entry.value, f"{_HISTORY}{version}")

    async def get(self, version: int) -> StoredVersion:
        """One version; NotFound names the versions that exist."""
        try:
            doc = await self._history_doc(version)
        except NotFound:
            current, _ = await self.current()
            if current and current.version == version:
                return current
            latest = current.version if current else 0
            raise NotFound(f"config version {version} does not exist (1..{latest})") from None
        return await self._version(doc, VersionReader(self.kv))

    async def history(self) -> list[VersionMeta]:
        """Every stored version's metadata, newest first (manifests only: no config read)."""
        current, _ = await self.current()
        if current is None:
            return []
        out: list[VersionMeta] = []
        for version in range(current.version, 0, -1):
            try:
                out.append(VersionMeta.from_document(await self._history_doc(version)))
            except (NotFound, SignatureInvalid):
                continue  # not governance's: never listed as a version
        return out

    async def changed(
        self, current: StoredVersion | None, cut: Cut
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The JSON of what may differ between ``current`` and a config (``cut``): per
        changed section, the items of its changed pieces only."""
        data, pieces = cut.data, cut.pieces
        if current is None or current.pieces is None:
            old = current.config.model_dump(mode="json", exclude_defaults=True) if current else {}
            return old, data
        old_ids = current.pieces
        old_out: dict[str, Any] = {}
        new_out: dict[str, Any] = {}
        for section in [*data, *(s for s in old_ids if s not in data)]:
            before = old_ids.get(section, [])
            after = [p for p, _ in pieces.get(section, [])]
            if before == after:
                continue
            listed = isinstance(data.get(section, []), list)
            gone = [p for p in before if p not in set(after)]
            old_values = await config_pieces.fetch(self.kv, gone)
            values = cut.values(section)
            fresh = [values[p] for p in after if p not in set(before)]
            if listed and any(map(config_pieces.has_parts, [*old_values.values(), *fresh])):
                old_values = await config_pieces.fetch(self.kv, before)  # whole, to join parts
                gone, fresh = before, [values[p] for p in after]
            if before:
                old_out[section] = config_pieces.join(
                    section, [old_values[p] for p in gone], listed
                )
            if section in data:
                new_out[section] = config_pieces.join(section, fresh, listed)
        return old_out, new_out

    async def store(
        self,
        config: PlantConfig,
        author: str,
        message: str,
        revision: int,
        version: int,
        cut: Cut | None = None,
    ) -> StoredVersion:
        """Store ``config`` (as ``cut``) as ``version`` if ``current`` is still at
        ``revision``: its pieces first, then the manifest that switches ``current``."""
        cut = cut or Cut.of(config)
        await self._put_pieces(cut.pieces)
        ids = cut.ids
        self._reader.remember(ids, config, cut.data)  # before any reader sees the manifest
        stored = StoredVersion(
            version=version,
            author=author,
            time=datetime.now(UTC).isoformat(timespec="seconds"),
            message=message,
            config=config,
            pieces=ids,
        )
        doc = {
            "format": config_pieces.FORMAT,
            "version": version,
            "author": author,
            "time": stored.time,
            "message": message,
            "pieces": ids,
        }
        signed = self.signer.sign(doc) if self.signer else doc
        raw = json.dumps(signed).encode()
        try:
            if revision == 0:
                switched = await self.kv.create(CURRENT_KEY, raw)
            else:
                switched = await self.kv.update(CURRENT_KEY, raw, last=revision)
        except KeyWrongLastSequenceError as err:
            raise ConflictError(
                f"config changed while applying (another version followed {version - 1}); "
                "run 'plantbus config diff' again and re-apply"
            ) from err
        # read back now (from the objects remembered above: nothing is validated again), so
        # the reader lets go of the version before instead of keeping both until its next read
        self._running = (int(switched), await self._version(signed, self._reader))
        await self.kv.put(f"{_HISTORY}{version}", raw)
        return stored

    async def _put_pieces(self, pieces: Pieces) -> None:
        """Write the pieces the bucket does not hold yet (those of the running version
        are known to be there)."""
        running = self._running[1].pieces if self._running else None
        held = {p for ids in (running or {}).values() for p in ids}
        todo = {p: (s, raw) for s, values in pieces.items() for p, raw in values if p not in held}

        async def put(piece: str, section: str, raw: bytes) -> None:
            try:
                await self.kv.put(f"{config_pieces.PIECE_PREFIX}{piece}", raw)
            except MaxPayloadError:
                raise ConfigError(
                    f"a piece of config section {section!r} is {len(raw):,} bytes compressed, "
                    "more than NATS carries in one message (max_payload): split the section "
                    "into smaller items"
                ) from None

        await asyncio.gather(*(put(p, s, raw) for p, (s, raw) in todo.items()))
