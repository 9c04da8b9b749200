"""Settings: named defaults, overridable by ``MEDAI_*`` environment variables.

=========================  ===============================  ==========================================
variable                   default                          meaning
=========================  ===============================  ==========================================
``MEDAI_MODELS_DIR``       ``<repo>/models``                folder holding ``<id>/model_card.json``
``MEDAI_AUDIT_DB``         ``<user data dir>/audit.sqlite`` append-only audit log of analyses
``MEDAI_MAX_UPLOAD_MB``    ``200``                          largest upload (and unpacked zip) accepted
``MEDAI_DEVICE``           ``auto``                         ``auto`` (GPU when present), ``cpu`` or ``gpu``
``MEDAI_EVIDENCE_DIR``     ``<repo>/../shared/data/genes/civic``  CIViC export used for evidence matching
=========================  ===============================  ==========================================
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "APP_NAME",
    "APP_VERSION",
    "DEFAULT_DEVICE_POLICY",
    "DEFAULT_MAX_UPLOAD_MB",
    "DevicePolicy",
    "REPO_ROOT",
    "Settings",
    "get_settings",
    "user_data_dir",
]

APP_NAME = "MedAI Dashboard"
APP_VERSION = "0.1.0"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MAX_UPLOAD_MB = 200
DEFAULT_DEVICE_POLICY = "auto"

DevicePolicy = Literal["auto", "cpu", "gpu"]
_DEVICE_POLICIES: tuple[str, ...] = ("auto", "cpu", "gpu")


def user_data_dir() -> Path:
    """The per-user data folder (XDG on Linux, Application Support on macOS, APPDATA on Windows)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "medai-dashboard"


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one process.

    Attributes:
        models_dir: folder of ``models/<id>/`` model folders.
        audit_db: path of the SQLite audit log.
        max_upload_mb: largest upload, and largest unpacked archive, in MiB.
        device_policy: ``auto``, ``cpu`` or ``gpu``.
        evidence_dir: folder holding the CIViC ``*-ClinicalEvidenceSummaries.tsv`` export.
    """

    models_dir: Path
    audit_db: Path
    max_upload_mb: int
    device_policy: DevicePolicy
    evidence_dir: Path

    @property
    def max_upload_bytes(self) -> int:
        """The upload limit in bytes."""
        return self.max_upload_mb * 1024 * 1024


def get_settings() -> Settings:
    """Read the settings from the environment (no caching, so tests can change the environment).

    Raises:
        ValueError: an environment variable holds a value that cannot be used.
    """
    env = os.environ
    max_mb_text = env.get("MEDAI_MAX_UPLOAD_MB", str(DEFAULT_MAX_UPLOAD_MB))
    try:
        max_mb = int(max_mb_text)
    except ValueError:
        raise ValueError(f"MEDAI_MAX_UPLOAD_MB must be a whole number of MiB, got {max_mb_text!r}") from None
    if max_mb <= 0:
        raise ValueError(f"MEDAI_MAX_UPLOAD_MB must be positive, got {max_mb}")
    policy = env.get("MEDAI_DEVICE", DEFAULT_DEVICE_POLICY).lower()
    if policy not in _DEVICE_POLICIES:
        raise ValueError(f"MEDAI_DEVICE must be one of {', '.join(_DEVICE_POLICIES)}, got {policy!r}")
    return Settings(
        models_dir=Path(env.get("MEDAI_MODELS_DIR", REPO_ROOT / "models")),
        audit_db=Path(env.get("MEDAI_AUDIT_DB", user_data_dir() / "audit.sqlite")),
        max_upload_mb=max_mb,
        device_policy=policy,  # type: ignore[arg-type]
        evidence_dir=Path(env.get("MEDAI_EVIDENCE_DIR", REPO_ROOT.parent / "shared" / "data" / "genes" / "civic")),
    )
