"""Settings: named defaults, overridable by ``MEDAI_*`` environment variables.

=========================  ===============================  ==========================================
variable                   default                          meaning
=========================  ===============================  ==========================================
``MEDAI_MODELS_DIR``       ``<repo>/models``                folder holding ``<id>/model_card.json``
``MEDAI_AUDIT_DB``         ``<user data dir>/audit.sqlite`` append-only audit log of analyses
``MEDAI_MAX_UPLOAD_MB``    ``200``                          largest upload (and unpacked zip) accepted
``MEDAI_DEVICE``           ``auto``                         ``auto`` (GPU when present), ``cpu`` or ``gpu``
``MEDAI_EVIDENCE_DIR``     unset                            a folder of CIViC exports that competes (by release
                                                            date) with ``evidence import`` and the shipped snapshot
``MEDAI_ISOLATION``        ``on``                           ``on``: uploads are read in a worker process with
                                                            the limits below (:mod:`medai_core.isolation`);
                                                            ``off``: in the server process (debugging only)
``MEDAI_SERVE_ADDRESS``    unset (models run in-process)    ``http(s)://host:port`` of ``python -m medai_core
                                                            serve``: model calls go to Ray Serve
=========================  ===============================  ==========================================

Limits of the isolated reads: ``MEDAI_ISOLATION_TIME_S`` (default 30) seconds per read,
``MEDAI_ISOLATION_MEMORY_MB`` (3072) MiB of address space per worker, ``MEDAI_ISOLATION_WORKERS`` (2) workers.

The analysis pool (a page's analysis, :mod:`medai_core.workers`, which reads its own settings):
``MEDAI_ANALYSIS_WORKERS`` (default: the usable cores, at most 4; ``0``: in the calling process, without limits),
``MEDAI_ANALYSIS_QUEUE`` (64) analyses waiting for a worker, ``MEDAI_ANALYSIS_TIME_S`` (300) seconds per analysis,
``MEDAI_ANALYSIS_MEMORY_MB`` (4096) MiB of resident memory per worker while it analyses, its loaded models included
(a warm worker holds about 870 MiB; the rest is the readers' 3072 MiB budget).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from medai_core.errors import ConfigError

__all__ = [
    "APP_NAME",
    "APP_VERSION",
    "CT_CACHE_MAX_MB",
    "CT_CACHE_TTL_S",
    "CT_MAX_IMAGE_PIXELS",
    "CT_MAX_VOXELS",
    "DEFAULT_DEVICE_POLICY",
    "DEFAULT_ISOLATION_MEMORY_MB",
    "DEFAULT_ISOLATION_TIME_S",
    "DEFAULT_ISOLATION_WORKERS",
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
DEFAULT_ISOLATION_TIME_S = 30.0
"""Seconds one isolated read of an upload may take before its worker is stopped."""
DEFAULT_ISOLATION_MEMORY_MB = 3072
"""Address-space limit of a reader worker in MiB (the interpreter and the readers' imports take about 450)."""
DEFAULT_ISOLATION_WORKERS = 2
"""Reader worker processes (isolated reads in flight at once)."""
CT_CACHE_MAX_MB = 512
"""Total size of the decoded CT volumes the app keeps between reruns (int16 HU where lossless), all sessions."""
CT_CACHE_TTL_S = 1800
"""Seconds a decoded CT volume stays cached after its last use."""
CT_MAX_VOXELS = 512 * 512 * 1024
"""Largest CT input decoded (Rows x Columns x Frames, summed over a series), checked from the header before any
pixel is decoded: 512 x 512 x 1024 voxels (1 GiB as float32 HU)."""
CT_MAX_IMAGE_PIXELS = 8192 * 8192
"""Largest plain image frame (width x height) decoded; larger images are refused before decoding (PIL's bomb check)."""

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
        evidence_dir: an extra folder of CIViC ``*-ClinicalEvidenceSummaries.tsv`` exports, or None (the default:
            the exports installed by ``evidence import`` and the snapshot shipped in the package).
        isolation: whether uploads are read in a limited worker process (:mod:`medai_core.isolation`).
        isolation_time_s: seconds one isolated read may take.
        isolation_memory_mb: address-space limit of a reader worker, MiB.
        isolation_workers: number of reader workers.
        serve_address: base URL of the Ray Serve deployment of the models (:mod:`medai_core.inference`), or None
            to run the models in this process (the default).
    """

    models_dir: Path
    audit_db: Path
    max_upload_mb: int
    device_policy: DevicePolicy
    evidence_dir: Path | None
    isolation: bool = True
    isolation_time_s: float = DEFAULT_ISOLATION_TIME_S
    isolation_memory_mb: int = DEFAULT_ISOLATION_MEMORY_MB
    isolation_workers: int = DEFAULT_ISOLATION_WORKERS
    serve_address: str | None = None

    @property
    def max_upload_bytes(self) -> int:
        """The upload limit in bytes."""
        return self.max_upload_mb * 1024 * 1024


def get_settings() -> Settings:
    """Read the settings from the environment (no caching, so tests can change the environment).

    Raises:
        ConfigError: an environment variable holds a value that cannot be used.
    """
    env = os.environ
    max_mb_text = env.get("MEDAI_MAX_UPLOAD_MB", str(DEFAULT_MAX_UPLOAD_MB))
    try:
        max_mb = int(max_mb_text)
    except ValueError:
        raise ConfigError(f"MEDAI_MAX_UPLOAD_MB must be a whole number of MiB, got {max_mb_text!r}") from None
    if max_mb <= 0:
        raise ConfigError(f"MEDAI_MAX_UPLOAD_MB must be positive, got {max_mb}")
    policy = env.get("MEDAI_DEVICE", DEFAULT_DEVICE_POLICY).lower()
    if policy not in _DEVICE_POLICIES:
        raise ConfigError(f"MEDAI_DEVICE must be one of {', '.join(_DEVICE_POLICIES)}, got {policy!r}")
    return Settings(
        models_dir=Path(env.get("MEDAI_MODELS_DIR", REPO_ROOT / "models")),
        audit_db=Path(env.get("MEDAI_AUDIT_DB", user_data_dir() / "audit.sqlite")),
        max_upload_mb=max_mb,
        device_policy=policy,  # type: ignore[arg-type]
        evidence_dir=Path(env["MEDAI_EVIDENCE_DIR"]) if env.get("MEDAI_EVIDENCE_DIR", "").strip() else None,
        **_isolation_settings(env),
        serve_address=_serve_address(env),
    )


def _serve_address(env: Mapping[str, str]) -> str | None:
    """``MEDAI_SERVE_ADDRESS`` without its trailing slash, None when unset or blank."""
    text = env.get("MEDAI_SERVE_ADDRESS", "").strip().rstrip("/")
    if text and not text.startswith(("http://", "https://")):
        raise ConfigError(f"MEDAI_SERVE_ADDRESS must be an http(s) URL such as http://127.0.0.1:8000, got {text!r}")
    return text or None


def _isolation_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The ``MEDAI_ISOLATION*`` settings, checked (see the module table)."""
    switch = env.get("MEDAI_ISOLATION", "on").strip().lower()
    if switch not in ("on", "off"):
        raise ConfigError(f"MEDAI_ISOLATION must be on or off, got {switch!r}")
    values: dict[str, Any] = {"isolation": switch == "on"}
    for key, variable, default, kind, low in (
        ("isolation_time_s", "MEDAI_ISOLATION_TIME_S", DEFAULT_ISOLATION_TIME_S, float, 0.1),
        ("isolation_memory_mb", "MEDAI_ISOLATION_MEMORY_MB", DEFAULT_ISOLATION_MEMORY_MB, int, 256),
        ("isolation_workers", "MEDAI_ISOLATION_WORKERS", DEFAULT_ISOLATION_WORKERS, int, 1),
    ):
        text = env.get(variable, str(default))
        try:
            value = kind(text)
        except ValueError:
            raise ConfigError(f"{variable} must be a number, got {text!r}") from None
        if not value >= low or value == float("inf"):
            raise ConfigError(f"{variable} must be at least {low}, got {text!r}")
        values[key] = value
    return values
