"""The demo export: deterministic, consistent with the escalation design, clinically plausible,
and its _truth.json points at real records."""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pyreadstat
import pytest

from dashboard.escalation.engine import LevelCounts, evaluate
from etl.demo.cohorts import simulate_enrolment
from etl.demo.generate import write_demo_export
from safetyboard.protocol import Protocol

DOMAINS = ("dm", "ae", "suppae", "ex", "sv", "lb", "vs", "ds", "rs", "tr")


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_gives_identical_files(tmp_path: Path, protocol: Protocol) -> None:
    write_demo_export(tmp_path / "a", subjects=20, seed=7, protocol=protocol)
    write_demo_export(tmp_path / "b", subjects=20, seed=7, protocol=protocol)
    write_demo_export(tmp_path / "c", subjects=20, seed=8, protocol=protocol)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_every_domain_file_is_written(demo_export_dir: Path) -> None:
    for name in DOMAINS:
        frame = pl.read_csv(demo_export_dir / f"{name}.csv", infer_schema=False)
        assert frame.height > 0, name
    dm = pl.read_csv(demo_export_dir / "dm.csv", infer_schema=False)
    assert dm.height == 56
    assert set(dm["ARMCD"]) <= {"DL-1", "DL1", "DL2", "DL3", "DL4"}


def _narrow_boin(tmp_path: Path, protocol: Protocol) -> Protocol:
    """The protocol with other BOIN boundary factors (phi1 = 0.9 phi, phi2 = 1.1 phi: 1 DLT in 3 de-escalates)."""
    import re

    from safetyboard.protocol import load_protocol

    text = protocol.path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^p_saf_factor = .*$", "p_saf_factor = 0.9", text)
    text = re.sub(r"(?m)^p_tox_factor = .*$", "p_tox_factor = 1.1", text)
    path = tmp_path / "narrow.toml"
    path.write_text(text, encoding="utf-8")
    return load_protocol(path)


@pytest.mark.parametrize("narrow", [False, True], ids=["protocol", "narrow-boin"])
@pytest.mark.parametrize("seed", [1, 2, 3, 20260305])
def test_escalation_history_follows_the_engine(protocol: Protocol, seed: int, narrow: bool, tmp_path: Path) -> None:
    """Each cohort's dose is the engine's decision on the cohorts completed before it, with the protocol's
    own design options (a protocol with other BOIN boundaries too)."""
    import numpy as np

    from dashboard.escalation.command import _design_options

    if narrow:
        protocol = _narrow_boin(tmp_path, protocol)
    en = simulate_enrolment(56, protocol, np.random.default_rng(seed))
    codes = protocol.dose_codes
    start = codes.index(protocol.escalation["start_level"])
    esc = ~en.expansion
    cohorts = sorted(set(en.cohort[esc].tolist()))
    assert en.level[en.cohort == cohorts[0]][0] == start
    for prev, nxt in itertools.pairwise(cohorts):
        done = esc & (en.cohort <= prev)
        counts = [
            LevelCounts(codes[j], int((en.level[done] == j).sum()), int(((en.level == j) & done & en.evaluable).sum()),
                        int(((en.level == j) & done & en.dlt).sum()))
            for j in range(len(codes))
        ]
        current = int(en.level[en.cohort == prev][0])
        result = evaluate(counts, current, protocol.design, protocol.target,
                          **_design_options(protocol, protocol.design, protocol.target))
        assert en.level[en.cohort == nxt][0] == result.next_level, (prev, result.reason)
    # subjects in the DLT window never exceed the max per dose during escalation
    for j in range(len(codes)):
        assert ((en.level == j) & esc).sum() <= int(protocol.escalation["max_per_dose"])


def test_dlt_subjects_have_a_qualifying_flagged_event_in_window(demo_export_dir: Path, protocol: Protocol) -> None:
    truth = json.loads((demo_export_dir / "_truth.json").read_text())
    ae = pl.read_csv(demo_export_dir / "ae.csv", infer_schema=False)
    supp = pl.read_csv(demo_export_dir / "suppae.csv", infer_schema=False)
    dm = pl.read_csv(demo_export_dir / "dm.csv", infer_schema=False)
    flagged = supp.filter(pl.col("QVAL") == "Y").join(ae, left_on=["USUBJID", "IDVARVAL"], right_on=["USUBJID", "AESEQ"])
    flagged = flagged.join(dm.select("USUBJID", "RFXSTDTC"), on="USUBJID").with_columns(
        (pl.col("AESTDTC").str.to_date(strict=False) - pl.col("RFXSTDTC").str.to_date()).dt.total_days().alias("DAY")
    )
    in_window = flagged.filter((pl.col("DAY") >= 0) & (pl.col("DAY") < protocol.dlt_window_days))
    assert set(truth["dlt_subjects"]) <= set(in_window["USUBJID"])
    worst = in_window.group_by("USUBJID").agg(pl.col("AETOXGR").cast(pl.Int32).max())
    assert worst.filter(pl.col("USUBJID").is_in(truth["dlt_subjects"]))["AETOXGR"].min() >= 3
    # a flagged low-grade event is only ever a planted flag mismatch
    planted = {i["usubjid"] for i in truth["issues"] if i["kind"] == "dlt_flag_mismatch"}
    low = in_window.filter(pl.col("AETOXGR").cast(pl.Int32) < 3)["USUBJID"].to_list()
    assert set(low) <= planted


def test_neutropenia_grade_3_events_have_low_counts_around_them(demo_export_dir: Path) -> None:
    ae = pl.read_csv(demo_export_dir / "ae.csv", infer_schema=False)
    lb = pl.read_csv(demo_export_dir / "lb.csv", infer_schema=False)
    neut = ae.filter((pl.col("AEDECOD") == "Neutrophil count decreased") & pl.col("AETOXGR").is_in(["3", "4"]))
    anc = lb.filter(pl.col("LBTESTCD") == "NEUT").select("USUBJID", pl.col("LBDTC").str.to_date(), pl.col("LBSTRESN").cast(pl.Float64))
    joined = neut.select("USUBJID", pl.col("AESTDTC").str.to_date(strict=False).alias("S"), pl.col("AEENDTC").str.to_date(strict=False).alias("E"),
                         "AESEQ").join(anc, on="USUBJID").filter((pl.col("LBDTC") >= pl.col("S")) & (pl.col("LBDTC") <= pl.col("E")))
    assert joined.height > 0
    assert joined["LBSTRESN"].max() < 1.0  # CTCAE v5 grade >= 3: ANC < 1.0 x 10^9/L


def test_truth_entries_point_at_real_records(demo_export_dir: Path) -> None:
    truth = json.loads((demo_export_dir / "_truth.json").read_text())
    assert truth["issues"], "the default demo plants issues"
    assert truth["clean_subjects"]
    kinds = {i["kind"] for i in truth["issues"]}
    assert {"missing_grade", "visit_out_of_window", "record_duplicate", "invalid_date", "unknown_subject"} <= kinds
    for issue in truth["issues"]:
        assert issue["usubjid"] not in truth["clean_subjects"] or issue["expect"].get("quarantine")
        if issue["file"] is None:
            continue
        frame = pl.read_csv(demo_export_dir / issue["file"], infer_schema=False)
        row = frame.row(issue["row"] - 1, named=True)
        var, value = issue["record_key"].split("=", 1)
        assert row[var] == value, issue


def test_xpt_output_reads_back(tmp_path: Path, protocol: Protocol) -> None:
    write_demo_export(tmp_path, subjects=9, seed=3, fmt="xpt", protocol=protocol)
    df, _meta = pyreadstat.read_xport(str(tmp_path / "ae.xpt"), output_format="polars")
    assert {"USUBJID", "AESEQ", "AETOXGR", "AESTDTC"} <= set(df.columns)
    assert df.height > 0


def test_command_json(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("safetyboard")
    out = subprocess.run([str(exe), "demo", "--out", str(tmp_path / "x"), "--subjects", "12", "--json"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == "ok" and result["subjects"] == 12
    assert result["files"]["dm.csv"] == 12
    bad = subprocess.run([str(exe), "demo", "--out", str(tmp_path / "y"), "--subjects", "0"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "--subjects" in bad.stderr
