"""API keys per portal and department, with scopes; only a hash of each key is stored.

A key is ``ywk_<key_id>_<secret>``: ``key_id`` (10 hex characters) names the key in logs and in
``yiwang serve keys list``; ``secret`` is 32 random bytes. The keys file (``YIWANG_SERVING_KEYS``, default
``$YIWANG_HOME/serving/keys.json``, mode 0600) holds per key its id, portal, department, scopes and the SHA-256
of the whole key (a 256-bit random secret needs no slow hash: nothing can be guessed from it). The key itself is
printed once, by ``yiwang serve keys add``, and stored nowhere.

A running API re-reads the file when it changes, so a revoked key stops working at its next request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from yiwang.settings import ConfigError

# departments:read  the performance figures of the key's department (or of every department: department "*")
# residents:read    the once-only resident view (which systems hold a resident's data, services used; masked)
SCOPES = ("departments:read", "residents:read")
ALL_DEPARTMENTS = "*"
_KEY = re.compile(r"^ywk_(?P<key_id>[0-9a-f]{10})_(?P<secret>[A-Za-z0-9_-]{43})$")
_USCC = re.compile(r"^[0-9A-Z]{18}$")
_PORTAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    portal: str
    department: str  # an 18-character unified social credit code, or "*" for every department
    scopes: tuple[str, ...]
    key_hash: str
    created_at: str
    revoked_at: str | None = None

    def may(self, scope: str) -> bool:
        return self.revoked_at is None and scope in self.scopes

    def covers(self, department_uscc: str) -> bool:
        return self.department == ALL_DEPARTMENTS or self.department == department_uscc


def _digest(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode("ascii")).hexdigest()


@dataclass
class KeyStore:
    path: Path
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stamp: tuple[int, int] | None = field(default=None, repr=False)
    _keys: dict[str, ApiKey] = field(default_factory=dict, repr=False)

    def _load(self) -> dict[str, ApiKey]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._keys = None, {}
            return self._keys
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            doc = json.loads(self.path.read_text(encoding="utf-8") or "{}")
            keys = {}
            for row in doc.get("keys", []):
                row = dict(row)
                row["scopes"] = tuple(row.get("scopes") or ())
                keys[row["key_id"]] = ApiKey(**row)
            self._stamp, self._keys = stamp, keys
        return self._keys

    def _save(self, keys: dict[str, ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        rows = [
            {**asdict(k), "scopes": list(k.scopes)} for k in sorted(keys.values(), key=lambda k: k.key_id)
        ]
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"keys": rows}, f, ensure_ascii=False, indent=2)
        os.replace(tmp, self.path)

    def keys(self) -> list[ApiKey]:
        with self._lock:
            return sorted(self._load().values(), key=lambda k: k.key_id)

    def add(self, portal: str, department: str, scopes: list[str] | tuple[str, ...]) -> tuple[ApiKey, str]:
        """A new key; returns its record and the key itself (shown once, never stored)."""
        if not _PORTAL.match(portal):
            raise ConfigError(f"portal must be 1-64 letters, digits, space . _ -, not {portal!r}")
        if department != ALL_DEPARTMENTS and not _USCC.match(department):
            raise ConfigError(
                f"department must be an 18-character credit code (USCC) or '*', not {department!r}"
            )
        bad = sorted(set(scopes) - set(SCOPES))
        if bad or not scopes:
            raise ConfigError(f"scopes must be one or more of {', '.join(SCOPES)}; not {bad or 'none'}")
        with self._lock:
            keys = dict(self._load())
            key_id = secrets.token_hex(5)
            while key_id in keys:
                key_id = secrets.token_hex(5)
            key = f"ywk_{key_id}_{secrets.token_urlsafe(32)}"
            record = ApiKey(
                key_id=key_id,
                portal=portal,
                department=department,
                scopes=tuple(sorted(set(scopes))),
                key_hash=_digest(key),
                created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            )
            keys[key_id] = record
            self._save(keys)
            self._stamp = None
        return record, key

    def revoke(self, key_id: str) -> ApiKey:
        with self._lock:
            keys = dict(self._load())
            if key_id not in keys:
                raise ConfigError(f"no key {key_id!r} in {self.path}")
            old = keys[key_id]
            if old.revoked_at is None:
                stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
                keys[key_id] = ApiKey(**{**asdict(old), "revoked_at": stamp})
                self._save(keys)
                self._stamp = None
            return keys[key_id]

    def verify(self, presented: str) -> ApiKey | None:
        """The live key record the presented key belongs to, else None (unknown, malformed or revoked)."""
        m = _KEY.match(presented or "")
        if not m:
            return None
        with self._lock:
            record = self._load().get(m.group("key_id"))
        if record is None or record.revoked_at is not None:
            return None
        return record if hmac.compare_digest(record.key_hash, _digest(presented)) else None
