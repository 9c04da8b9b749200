"""Per-install secret keys, kept in files outside any database (owner-only permissions).

Two keys exist: one signs the audit log's anchor (:mod:`medai_core.audit`), one derives the replacement UIDs of
de-identified DICOM files (:mod:`medai_core.deid`). Each is 32 random bytes, created on first use with mode 0600 in
the per-user data folder, or where ``MEDAI_AUDIT_KEY`` / ``MEDAI_DEID_KEY`` point.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from medai_core.config import user_data_dir

__all__ = ["KEY_BYTES", "install_key", "key_path"]

KEY_BYTES = 32
_KEYS = {"audit": "MEDAI_AUDIT_KEY", "deid": "MEDAI_DEID_KEY"}


def key_path(name: str) -> Path:
    """Where the key ``name`` (``"audit"`` or ``"deid"``) lives: its environment variable, else the data folder."""
    if name not in _KEYS:
        raise ValueError(f"unknown key {name!r}; known: {', '.join(sorted(_KEYS))}")
    return Path(os.environ.get(_KEYS[name]) or user_data_dir() / f"{name}.key")


def install_key(name: str) -> bytes:
    """The key ``name``, created (32 random bytes, mode 0600) when it does not exist yet.

    Raises:
        PermissionError: the key file is readable by other users (group or world permission bits set).
        ValueError: the key file does not hold exactly 32 bytes.
    """
    path = key_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written in full under a private name, then linked into place: a process starting at the same moment
        # either finds no key or the whole key, never a partly written one; the first link wins.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise PermissionError(f"the {name} key {path} is readable by other users; run: chmod 600 {path}")
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise ValueError(f"the {name} key {path} holds {len(key)} bytes, not {KEY_BYTES}; it was damaged")
    return key
