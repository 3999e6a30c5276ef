"""The XPT demo export is byte-identical for the same seed (the XPORT header date-times are fixed)."""

from __future__ import annotations

import json
from pathlib import Path

import pyreadstat

from etl.demo.generate import write_demo_export
from safetyboard.protocol import Protocol


def test_same_seed_gives_byte_identical_xpt_files(tmp_path: Path, protocol: Protocol) -> None:
    write_demo_export(tmp_path / "a", subjects=9, seed=3, fmt="xpt", protocol=protocol)
    write_demo_export(tmp_path / "b", subjects=9, seed=3, fmt="xpt", protocol=protocol)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert "lb.xpt" in names
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    # the header says the data cut date (midnight), and the file still reads back
    cut = json.loads((tmp_path / "a" / "_truth.json").read_text())["cut_date"]
    head = (tmp_path / "a" / "ae.xpt").read_bytes()[:560]
    assert head.count(b"20NOV26:00:00:00") == 4 and cut == "2026-11-20"
    df, meta = pyreadstat.read_xport(str(tmp_path / "a" / "ae.xpt"))
    assert df.shape[0] > 0 and str(meta.creation_time).startswith(cut)
