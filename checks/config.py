"""The checks' configuration: data/checks.toml (severities, thresholds) and the lab unit table."""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetyboard.errors import BadInputError

DATA = Path(__file__).resolve().parent.parent / "data"
DEFAULT_CHECKS_FILE = DATA / "checks.toml"
LAB_PARAMETERS_FILE = DATA / "criteria" / "lab_parameters.csv"
LAB_CRITERIA_FILE = DATA / "criteria" / "ctcae_v5_lab.csv"
SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class ChecksConfig:
    """Severity and parameters per check id, plus the lab-AE term map and run settings."""

    checks: dict[str, dict[str, Any]]
    lab_ae_terms: dict[str, list[str]]
    gx_max_rows: int = 200_000
    lab_units: dict[str, list[str]] = field(default_factory=dict)  # LBTESTCD -> accepted units
    path: Path = DEFAULT_CHECKS_FILE
    # LBTESTCD -> (needs LBSTNRLO, needs LBSTNRHI): the limits CTCAE grading reads for that test
    lab_range_needs: dict[str, tuple[bool, bool]] = field(default_factory=dict)
    # DM ARMCD / ARMNRS values (upper case) of subjects never enrolled (screen failures)
    not_enrolled: dict[str, list[str]] = field(default_factory=dict)

    def severity(self, check_id: str) -> str:
        return str(self.checks[check_id]["severity"])

    def param(self, check_id: str, key: str) -> Any:
        try:
            return self.checks[check_id][key]
        except KeyError as exc:
            raise BadInputError(f"{self.path}: [checks.{check_id}] has no key {key!r}") from exc


def load_lab_units(path: Path = LAB_PARAMETERS_FILE) -> dict[str, list[str]]:
    """LBTESTCD (upper case) -> units the lab criteria know for it (data/criteria/lab_parameters.csv)."""
    units: dict[str, list[str]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            units.setdefault(row["lbtestcd"].upper(), [])
            for unit in (row["source_unit"], row["unit"]):
                if unit not in units[row["lbtestcd"].upper()]:
                    units[row["lbtestcd"].upper()].append(unit)
    return units


def load_lab_range_needs(params: Path = LAB_PARAMETERS_FILE, criteria: Path = LAB_CRITERIA_FILE) -> dict[str, tuple[bool, bool]]:
    """LBTESTCD (upper case) -> (needs LLN, needs ULN): a test is graded against its normal range when a
    row of data/criteria/ctcae_v5_lab.csv has basis LLN (needs LBSTNRLO) or ULN (needs LBSTNRHI)."""
    with criteria.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    lln = {r["paramcd"].upper() for r in rows if r["basis"] == "LLN"}
    uln = {r["paramcd"].upper() for r in rows if r["basis"] == "ULN"}
    with params.open(newline="", encoding="utf-8") as fh:
        tests = {(r["lbtestcd"].upper(), r["paramcd"].upper()) for r in csv.DictReader(fh)}
    return {t: (p in lln, p in uln) for t, p in sorted(tests) if p in lln or p in uln}


def load_checks_config(path: Path | None = None) -> ChecksConfig:
    """Read and validate data/checks.toml; errors name the file and the key."""
    path = Path(path) if path else DEFAULT_CHECKS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BadInputError(f"{path}: cannot read the checks configuration: {exc}") from exc
    checks = data.get("checks", {})
    for check_id, spec in checks.items():
        if spec.get("severity") not in SEVERITIES:
            raise BadInputError(f"{path}: [checks.{check_id}] severity must be one of {SEVERITIES}")
    terms = {k.upper(): [t.upper() for t in v] for k, v in data.get("lab_ae_terms", {}).items()}
    max_rows = int(data.get("run", {}).get("gx_max_rows", 200_000))
    not_enrolled = {k.upper(): [str(v).upper() for v in vals] for k, vals in data.get("not_enrolled", {}).items()}
    return ChecksConfig(checks, terms, max_rows, load_lab_units(), path, load_lab_range_needs(), not_enrolled)
