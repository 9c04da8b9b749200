"""The unit tier: the core in this process only. Readers run in place (``MEDAI_ISOLATION=off``), and starting any
process fails the test: tests that run the command line in a child, the isolated reader pool or a page live in
``tests/cli`` and ``tests/app``."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers in this process, and no child process at all."""
    monkeypatch.setenv("MEDAI_ISOLATION", "off")

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a unit test started a process; move it to tests/cli (or tests/app for a page run)")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
