"""The model tier: tests that train a model, load the shipped models or run the whole analysis for seconds each.

They run under the unit tier's rule (readers in this process, no Python child process: see ``tests/unit/conftest``);
only their cost sets them apart, so that ``tests/unit`` stays under a minute. ``python -m pytest`` runs every tier;
``python -m pytest tests/model`` runs this one."""

from __future__ import annotations

from tests.unit.conftest import _no_process

__all__ = ["_no_process"]
