"""`safetyboard escalation --counts`: JSON shape, defaults, exit 2 on bad input, light imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from safetyboard.protocol import Protocol

KEYS = {"level", "label", "n_treated", "n_evaluable", "n_dlt", "rate", "ci_low", "ci_high", "eliminated"}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "safetyboard.cli", "escalation", *args],
                          capture_output=True, text=True, check=False)


def test_counts_json_shape_and_numbering() -> None:
    proc = _run("--counts", "3:0,3:1,0:0", "--json", "--design", "boin", "--target", "0.30")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {"design", "target", "levels", "current_level", "decision", "mtd"} <= doc.keys()
    assert (doc["design"], doc["target"]) == ("boin", 0.30)
    assert all(lv.keys() >= KEYS for lv in doc["levels"])
    assert [lv["level"] for lv in doc["levels"]] == [1, 2, 3]
    assert doc["current_level"] == 2  # highest level with n > 0
    assert (doc["decision"], doc["next_level"], doc["mtd"]) == ("stay", 2, 2)
    assert doc["levels"][2]["rate"] is None and doc["levels"][2]["ci_low"] is None
    assert doc["levels"][1]["rate"] == pytest.approx(1 / 3)


def test_current_override_and_3plus3() -> None:
    doc = json.loads(_run("--counts", "3:0,3:1", "--current", "1", "--json", "--design", "3+3").stdout)
    assert (doc["design"], doc["current_level"], doc["decision"], doc["next_level"]) == ("3+3", 1, "stay", 1)
    # 3+3 at 1/3 stays; BOIN with target 0.25 de-escalates
    doc = json.loads(_run("--counts", "3:0,3:1", "--json", "--design", "boin", "--target", "0.25").stdout)
    assert doc["decision"] == "de-escalate" and doc["next_level"] == 1


def test_design_and_target_default_from_protocol(protocol: Protocol) -> None:
    doc = json.loads(_run("--counts", "3:0", "--json").stdout)
    assert (doc["design"], doc["target"]) == (protocol.design, protocol.target)


@pytest.mark.parametrize(
    "args",
    [
        ("--counts", "3:4"), ("--counts", "x"), ("--counts", "3:-1"), ("--counts", ""), ("--counts", "3:0,,3:1"),
        ("--counts", "3:0,3:1", "--current", "3"), ("--counts", "3:0", "--current", "0"),
        ("--counts", "3:0", "--target", "1.5"), ("--counts", "3:0", "--design", "crm"),
        # targets the BOIN package refuses (R/get.boundary.R): decisions were given for them
        ("--counts", "3:0,3:1", "--design", "boin", "--target", "0.04"),
        ("--counts", "3:0,3:1", "--design", "boin", "--target", "0.65"),
    ],
)
def test_bad_input_exits_2_with_a_message(args: tuple[str, ...]) -> None:
    proc = _run(*args, "--json")
    assert proc.returncode == 2
    assert proc.stderr.strip()


def test_table_output_marks_current_level() -> None:
    proc = _run("--counts", "3:0,3:0,0:0", "--design", "boin", "--target", "0.3")
    assert proc.returncode == 0
    assert "*2" in proc.stdout and "Decision: ESCALATE -> 3" in proc.stdout


def test_help_and_command_import_nothing_heavy() -> None:
    assert _run("--help").returncode == 0
    code = ("import sys, dashboard.escalation.command; "
            "heavy = {'polars', 'great_expectations', 'streamlit', 'plotly', 'pandas', 'duckdb', 'scipy'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unassigned_subjects_are_named_when_few_and_summarised_when_many() -> None:
    from dashboard.escalation.command import MAX_LISTED, unassigned_warnings

    few = [["S-01", "DL9"], ["S-02", None]]
    assert unassigned_warnings(few) == [
        "WARNING: treated subject S-01 has dose level or arm 'DL9', not a protocol level: not counted",
        "WARNING: treated subject S-02 has no dose level or arm code: not counted",
    ]
    many = [[f"S-{i:03d}", None] for i in range(MAX_LISTED + 5)] + [["S-900", "DL9"]]
    lines = unassigned_warnings(many)
    assert lines == [f"WARNING: {len(many)} treated subjects have a dose level or arm that is not a protocol level and "
                     f"are not counted: no dose level or arm ({MAX_LISTED + 5}), 'DL9' (1); --json lists them under "
                     "'unassigned'"]
    assert unassigned_warnings([]) == []
