"""The results layer: JSON payloads built from analysis results, shared by the CLI, the pages and the reports.

One module per domain (``ct``, ``glucose``, ``genomics``) turns that domain's frozen result dataclasses into the
plain documents the command-line contract (``docs/CLI.md``) names; the CLI prints them with
:func:`medai_core.serialization.emit_json`, reports embed them, pages show them. Nothing here imports Streamlit or
the command-line layer.
"""

from __future__ import annotations

__all__: list[str] = []
