"""Config versions in the JetStream KV bucket ``plantbus_config``.

``current`` holds the running version's document; ``history.<N>`` every version ever
stored. Applies are compare-and-set on the revision of ``current``, so two concurrent
applies cannot silently overwrite each other: the loser gets ConflictError.

Every document is signed with governance's key (:mod:`plantbus.kit.signing`) and
checked when read: a document someone else wrote to the bucket is never served,
restored or diffed against. When ``current`` is such a document, the running version
is the newest one governance signed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError
from nats.js.kv import KeyValue

from plantbus.config import PlantConfig
from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.config_watch import CURRENT_KEY, config_kv
from plantbus.kit.signing import SignatureInvalid, Signer, Verifier
from plantbus.sdk.errors import ConflictError, NotFound

_HISTORY = "history."

__all__ = ["ConfigStore", "StoredVersion"]


@dataclass(frozen=True)
class StoredVersion:
    """One stored config version and its metadata."""

    version: int
    author: str
    time: str
    message: str
    config: PlantConfig

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> StoredVersion:
        """Parse a stored JSON document."""
        return cls(
            version=int(doc["version"]),
            author=str(doc.get("author", "")),
            time=str(doc.get("time", "")),
            message=str(doc.get("message", "")),
            config=PlantConfig.model_validate(doc["config"]),
        )

    def document(self) -> dict[str, Any]:
        """The JSON document stored in KV."""
        return {
            "version": self.version,
            "author": self.author,
            "time": self.time,
            "message": self.message,
            "config": self.config.model_dump(mode="json"),
        }


class ConfigStore:
    """Reads and writes config versions with compare-and-set; signs what it writes with
    ``signer`` and trusts only what ``verifier`` accepts (None: no signing, no check)."""

    def __init__(
        self, kv: KeyValue, signer: Signer | None = None, verifier: Verifier | None = None
    ) -> None:
        self.kv = kv
        self.signer = signer
        self.verifier = verifier

    @classmethod
    async def open(
        cls, bus: Bus, signer: Signer | None = None, verifier: Verifier | None = None
    ) -> ConfigStore:
        """The store on the hub's config bucket."""
        return cls(await config_kv(bus), signer, verifier)

    def _load(self, raw: bytes | None, key: str) -> StoredVersion:
        """A stored document, if governance signed it (else SignatureInvalid naming it)."""
        doc = json.loads(raw or b"{}")
        if self.verifier is not None:
            try:
                self.verifier.verify(doc)
            except SignatureInvalid as err:
                raise SignatureInvalid(
                    f"config version {doc.get('version', '?')} in KV {streams.CONFIG.name}/{key} "
                    f"was not written by governance: {err}. It is never served or restored"
                ) from None
        return StoredVersion.from_document(doc)

    async def current(self) -> tuple[StoredVersion | None, int]:
        """The running version (None before the first apply) and the KV revision to CAS on."""
        try:
            entry = await self.kv.get(CURRENT_KEY)
        except KeyNotFoundError:
            return None, 0
        revision = int(entry.revision or 0)
        if not entry.value:
            return None, revision
        try:
            return self._load(entry.value, CURRENT_KEY), revision
        except SignatureInvalid:
            return await self._newest_signed(), revision

    async def _newest_signed(self) -> StoredVersion | None:
        """The newest history entry governance signed (``current`` was forged)."""
        try:
            keys = await self.kv.keys()
        except NoKeysError:  # nothing stored
            return None
        versions = sorted(
            (int(k[len(_HISTORY) :]) for k in keys if k[len(_HISTORY) :].isdigit()), reverse=True
        )
        for version in versions:
            try:
                entry = await self.kv.get(f"{_HISTORY}{version}")
                return self._load(entry.value, f"{_HISTORY}{version}")
            except (KeyNotFoundError, SignatureInvalid):
                continue
        return None

    async def get(self, version: int) -> StoredVersion:
        """One version; NotFound names the versions that exist."""
        try:
            entry = await self.kv.get(f"{_HISTORY}{version}")
        except KeyNotFoundError:
            current, _ = await self.current()
            if current and current.version == version:
                return current
            latest = current.version if current else 0
            raise NotFound(f"config version {version} does not exist (1..{latest})") from None
        return self._load(entry.value, f"{_HISTORY}{version}")

    async def history(self) -> list[StoredVersion]:
        """Every stored version, newest first."""
        current, _ = await self.current()
        if current is None:
            return []
        out = []
        for version in range(current.version, 0, -1):
            try:
                out.append(await self.get(version))
            except (NotFound, SignatureInvalid):
                continue  # not governance's: never listed as a version
        return out

    async def store(
        self, config: PlantConfig, author: str, message: str, revision: int, version: int
    ) -> StoredVersion:
        """Store ``config`` as ``version`` if ``current`` is still at ``revision``."""
        stored = StoredVersion(
            version=version,
            author=author,
            time=datetime.now(UTC).isoformat(timespec="seconds"),
            message=message,
            config=config,
        )
        doc = stored.document()
        raw = json.dumps(self.signer.sign(doc) if self.signer else doc).encode()
        try:
            if revision == 0:
                await self.kv.create(CURRENT_KEY, raw)
            else:
                await self.kv.update(CURRENT_KEY, raw, last=revision)
        except KeyWrongLastSequenceError as err:
            raise ConflictError(
                f"config changed while applying (another version followed {version - 1}); "
                "run 'plantbus config diff' again and re-apply"
            ) from err
        await self.kv.put(f"{_HISTORY}{version}", raw)
        return stored
