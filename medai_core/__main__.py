"""Entry point of ``python -m medai_core``."""

from __future__ import annotations

import sys

from medai_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
