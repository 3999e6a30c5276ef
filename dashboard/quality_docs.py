"""Where the checks wrote the Great Expectations Data Docs for a cut (a path, no GX import)."""

from __future__ import annotations

from pathlib import Path


def find_data_docs(db: Path, recorded: str | None = None) -> Path | None:
    """The Data Docs index.html: the path meta.check_runs recorded, else one beside the cut file."""
    if recorded:
        p = Path(recorded)
        index = p if p.suffix == ".html" else p / "index.html"
        if index.exists():
            return index
    base = Path(db).resolve().parent
    candidates = sorted(base.glob("*docs*/**/index.html"), key=lambda p: len(p.parts))
    return candidates[0] if candidates else None
