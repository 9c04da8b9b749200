"""The unit tier: the core in this process only. Readers run in place (``MEDAI_ISOLATION=off``), and starting a
Python child (the command line in a subprocess, the isolated reader pool, the analysis workers) fails the test:
those tests live in ``tests/cli``, page runs in ``tests/app``. Libraries' own helper commands (``uname -p`` from
``platform``, called while TensorFlow imports) are not the project's processes and are left alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

_POPEN_INIT = subprocess.Popen.__init__


def _is_python(args: Any) -> bool:
    program = args[0] if isinstance(args, (list, tuple)) and args else args
    name = Path(str(program).split()[0] if isinstance(program, str) else str(program)).name
    return str(program) == sys.executable or name.startswith("python")


@pytest.fixture(autouse=True)
def _no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers in this process, and no Python child process."""
    monkeypatch.setenv("MEDAI_ISOLATION", "off")

    def guarded(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        if _is_python(args):
            raise AssertionError("a unit test started a Python process; move it to tests/cli (tests/app for pages)")
        _POPEN_INIT(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded)
