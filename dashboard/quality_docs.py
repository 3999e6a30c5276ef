"""Where the checks wrote the Great Expectations Data Docs for a cut (a path, no GX import)."""

from __future__ import annotations

from pathlib import Path


def find_data_docs(db: Path) -> Path | None:
    """The Data Docs index.html beside the cut file (the `check --data-docs` default), if any."""
    base = Path(db).resolve().parent
    candidates = sorted(base.glob("*docs*/**/index.html"), key=lambda p: len(p.parts))
    return candidates[0] if candidates else None
