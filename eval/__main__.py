"""``python -m eval``."""

from __future__ import annotations

from eval.cli import app

app(prog_name="python -m eval")
