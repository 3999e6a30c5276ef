"""The protocol configuration: load and validate a protocol TOML file.

Every protocol-specific number lives in the TOML (data/protocol/*.toml) with its source beside
it; code reads it only through :func:`load_protocol`. Validation errors name the key.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PROTOCOL = Path(__file__).resolve().parent.parent / "data" / "protocol" / "nct07479732.toml"


class ProtocolError(ValueError):
    """The protocol file is missing, unreadable or has an invalid key."""


@dataclass(frozen=True)
class DoseLevel:
    code: str
    order: int
    label: str
    apatinib_mg: float
    irinotecan_mg_m2: float


@dataclass(frozen=True)
class Protocol:
    path: Path
    sha256: str
    raw: dict[str, Any]
    studyid: str
    cycle_length_days: int
    irinotecan_days: tuple[int, ...]
    visit_days: tuple[int, ...]
    anchor: str
    windows: dict[int, tuple[int, int]]
    lab_before_dose_hours: int
    screening_names: tuple[str, ...]
    # regular expressions with groups 'cycle' and 'day' naming scheduled visits besides C<n>D<d>
    visit_name_patterns: tuple[str, ...]
    unscheduled_names: tuple[str, ...]
    max_cycles_expected: int
    dlt_window_days: int
    dlt: dict[str, Any]
    dlt_terms: dict[str, tuple[str, ...]]
    evaluable_min_share_apatinib: float
    evaluable_min_infusions_irinotecan: int
    age_min: float
    age_max: float
    screening_sbp_max_exclusive: float
    screening_dbp_max_exclusive: float
    blood_pressure: dict[str, Any]
    design: str
    target: float
    escalation: dict[str, Any]
    dose_levels: tuple[DoseLevel, ...]
    drugs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # EX.EXDOSU units the dose levels' doses are in, per drug (optional [dose_units]; empty: not checked)
    dose_units: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # ANC (10^9/L) below which a nal-IRI infusion is withheld (optional [dose_modification]; None: not given)
    irinotecan_withhold_anc_below: float | None = None

    def dose_level(self, code: str | None) -> DoseLevel | None:
        for level in self.dose_levels:
            if code is not None and level.code.upper() == str(code).strip().upper():
                return level
        return None

    @property
    def dose_codes(self) -> list[str]:
        """Dose-level codes, lowest dose first."""
        return [d.code for d in self.dose_levels]

    @property
    def planned_irinotecan_in_window(self) -> int:
        cycles = self.dlt_window_days // self.cycle_length_days
        return cycles * len(self.irinotecan_days)


def _get(table: dict[str, Any], dotted: str, kind: type | tuple[type, ...], path: Path) -> Any:
    node: Any = table
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ProtocolError(f"{path}: missing key '{dotted}'")
        node = node[part]
    if kind is float and isinstance(node, int) and not isinstance(node, bool):
        node = float(node)
    if not isinstance(node, kind) or (isinstance(node, bool) and kind in (int, float)):
        name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ProtocolError(f"{path}: key '{dotted}' must be {name}, got {node!r}")
    return node


def _positive(value: float, dotted: str, path: Path) -> float:
    if value <= 0:
        raise ProtocolError(f"{path}: key '{dotted}' must be > 0, got {value!r}")
    return value


def _visit_name_patterns(raw: dict[str, Any], path: Path) -> tuple[str, ...]:
    """schedule.visits.name_patterns (optional): each a regular expression with the groups 'cycle' and 'day'."""
    key = "schedule.visits.name_patterns"
    patterns = raw.get("schedule", {}).get("visits", {}).get("name_patterns", [])
    if not isinstance(patterns, list) or any(not isinstance(x, str) for x in patterns):
        raise ProtocolError(f"{path}: key '{key}' must list regular expressions (text), got {patterns!r}")
    for pattern in patterns:
        try:
            groups = re.compile(pattern).groupindex
        except re.error as exc:
            raise ProtocolError(f"{path}: key '{key}': {pattern!r} is not a regular expression ({exc})") from exc
        if not {"cycle", "day"} <= set(groups):
            raise ProtocolError(f"{path}: key '{key}': {pattern!r} must name the groups (?P<cycle>...) and (?P<day>...)")
    return tuple(patterns)


def _mmhg_pair(pair: Any, dotted: str, path: Path) -> None:
    if not isinstance(pair, list) or len(pair) != 2 or any(
        isinstance(v, bool) or not isinstance(v, int | float) or v <= 0 for v in pair
    ):
        raise ProtocolError(f"{path}: key '{dotted}' must be [SBP, DBP] in mmHg, got {pair!r}")


def _validate_blood_pressure(raw: dict[str, Any], path: Path) -> None:
    """[blood_pressure]: the category thresholds BPCAT and the pages use, as [SBP, DBP] pairs."""
    for key in ("adult_cat1", "adult_cat2", "adult_cat3", "adolescent_cat1", "adolescent_cat2"):
        _mmhg_pair(_get(raw, f"blood_pressure.{key}", list, path), f"blood_pressure.{key}", path)
    _positive(_get(raw, "blood_pressure.adolescent_age_max", float, path), "blood_pressure.adolescent_age_max", path)
    lines = raw["blood_pressure"].get("reference_lines", [])
    if not isinstance(lines, list):
        raise ProtocolError(f"{path}: key 'blood_pressure.reference_lines' must list [SBP, DBP] pairs, got {lines!r}")
    for i, line in enumerate(lines):
        _mmhg_pair(line, f"blood_pressure.reference_lines[{i}]", path)


def _validate_escalation(raw: dict[str, Any], path: Path) -> None:
    """[escalation]: the design settings the engine reads (BOIN: Liu & Yuan 2015; R BOIN get.oc)."""
    cohort = int(_positive(_get(raw, "escalation.cohort_size", int, path), "escalation.cohort_size", path))
    if raw["escalation"].get("max_per_dose") is not None:
        most = _get(raw, "escalation.max_per_dose", int, path)
        if most < cohort:
            raise ProtocolError(f"{path}: key 'escalation.max_per_dose' must be >= cohort_size ({cohort}), got {most}")
    saf = _get(raw, "escalation.p_saf_factor", float, path)
    tox = _get(raw, "escalation.p_tox_factor", float, path)
    if not 0 < saf < 1 < tox:
        raise ProtocolError(f"{path}: keys 'escalation.p_saf_factor' and 'escalation.p_tox_factor' must satisfy "
                            f"0 < p_saf_factor < 1 < p_tox_factor, got {saf!r} and {tox!r}")
    cutoff = _get(raw, "escalation.elimination_cutoff", float, path)
    if not 0 < cutoff < 1:
        raise ProtocolError(f"{path}: key 'escalation.elimination_cutoff' must be between 0 and 1, got {cutoff!r}")
    _get(raw, "escalation.extrasafe", bool, path)


def load_protocol(path: str | Path | None = None) -> Protocol:
    """Read and validate a protocol TOML; raise ProtocolError naming the file and key."""
    p = Path(path) if path is not None else DEFAULT_PROTOCOL
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ProtocolError(f"{p}: cannot read protocol file ({exc.strerror})") from exc
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"{p}: not valid TOML ({exc})") from exc

    cycle = int(_positive(_get(raw, "schedule.cycle_length_days", int, p), "schedule.cycle_length_days", p))
    iri_days = tuple(_get(raw, "schedule.irinotecan_days", list, p))
    visit_days = tuple(_get(raw, "schedule.visits.days", list, p))
    for key, days in (("schedule.irinotecan_days", iri_days), ("schedule.visits.days", visit_days)):
        if not days or any(not isinstance(d, int) or not 1 <= d <= cycle for d in days):
            raise ProtocolError(f"{p}: key '{key}' must list cycle days between 1 and {cycle}")
    anchor = _get(raw, "schedule.anchor", str, p)
    if anchor not in ("cycle", "fixed"):
        raise ProtocolError(f"{p}: key 'schedule.anchor' must be 'cycle' or 'fixed', got {anchor!r}")
    visit_name_patterns = _visit_name_patterns(raw, p)
    windows: dict[int, tuple[int, int]] = {}
    for day in visit_days:
        w = _get(raw, f"schedule.windows.d{day}", list, p)
        if len(w) != 2 or any(not isinstance(x, int) or x < 0 for x in w):
            raise ProtocolError(f"{p}: key 'schedule.windows.d{day}' must be [early, late] days >= 0")
        windows[day] = (w[0], w[1])

    dlt = _get(raw, "dlt", dict, p)
    window = int(_positive(_get(raw, "dlt.window_days", int, p), "dlt.window_days", p))
    for key in (
        "neutropenia_g4_min_days", "nonheme_min_grade", "nausea_vomiting_max_days",
        "diarrhoea_max_days", "electrolyte_max_days", "transaminase_g3_max_days",
        "treatment_delay_max_days", "hypertension_g3_max_days", "hfsr_g3_max_days",
        "pneumothorax_min_grade",
    ):
        _get(raw, f"dlt.{key}", int, p)
    for key in (
        "febrile_neutropenia", "thrombocytopenia_g4", "thrombocytopenia_g3_with_bleeding",
        "grade5_is_dlt", "hypertension_g4", "proteinuria_g3",
    ):
        _get(raw, f"dlt.{key}", bool, p)
    # DOMAIN.md 4 transient grade 3 lab abnormality (< N h): 0 hours would except nothing
    _positive(_get(raw, "dlt.transient_lab_max_hours", int, p), "dlt.transient_lab_max_hours", p)
    terms_raw = _get(raw, "dlt.terms", dict, p)
    _get(raw, "dlt.terms.lab_abnormality", list, p)  # the exception above reads it: required
    for key, values in terms_raw.items():
        if not isinstance(values, list) or any(not isinstance(v, str) for v in values):
            raise ProtocolError(f"{p}: key 'dlt.terms.{key}' must list preferred terms (text), got {values!r}")
    terms = {k: tuple(t.strip().upper() for t in v) for k, v in terms_raw.items()}

    design = _get(raw, "escalation.design", str, p).lower()
    if design not in ("boin", "3+3"):
        raise ProtocolError(f"{p}: key 'escalation.design' must be 'boin' or '3+3', got {design!r}")
    target = _get(raw, "escalation.target", float, p)
    if not 0 < target < 1:
        raise ProtocolError(f"{p}: key 'escalation.target' must be between 0 and 1, got {target!r}")

    _validate_blood_pressure(raw, p)
    _validate_escalation(raw, p)
    if design == "boin":  # the BOIN package's own limits (R/get.boundary.R), with the factors as the engine uses them
        from dashboard.escalation.boin import check_design

        esc = raw["escalation"]
        try:
            check_design(target, float(esc["p_saf_factor"]) * target, float(esc["p_tox_factor"]) * target)
        except ValueError as exc:
            raise ProtocolError(f"{p}: keys 'escalation.target', 'escalation.p_saf_factor', 'escalation.p_tox_factor': "
                                f"{exc}") from exc

    levels_raw = _get(raw, "dose_levels", list, p)
    if not levels_raw:
        raise ProtocolError(f"{p}: key 'dose_levels' must list at least one dose level")
    levels = []
    for i, lv in enumerate(levels_raw):
        where = f"dose_levels[{i}]"
        if not isinstance(lv, dict):
            raise ProtocolError(f"{p}: key '{where}' must be a table")
        levels.append(
            DoseLevel(
                code=_get(lv, "code", str, p),
                order=_get(lv, "order", int, p),
                label=_get(lv, "label", str, p),
                apatinib_mg=_get(lv, "apatinib_mg", float, p),
                irinotecan_mg_m2=_get(lv, "irinotecan_mg_m2", float, p),
            )
        )
    levels.sort(key=lambda d: d.order)
    codes = [d.code.upper() for d in levels]
    if len(set(codes)) != len(codes):
        raise ProtocolError(f"{p}: key 'dose_levels' has duplicate codes")
    start = _get(raw, "escalation.start_level", str, p)
    if start.upper() not in codes:
        raise ProtocolError(f"{p}: key 'escalation.start_level' {start!r} is not a dose-level code")

    _get(raw, "analysis.treatment_emergent_days_after_last_dose", int, p)
    groups = _get(raw, "analysis.age_groups", list, p)
    if not groups or any(not isinstance(g, list) or len(g) != 2 for g in groups):
        raise ProtocolError(f"{p}: key 'analysis.age_groups' must list [low, high] age pairs")
    drugs_raw = _get(raw, "drugs", dict, p)
    drugs = {k: tuple(str(t).upper() for t in v) for k, v in drugs_raw.items()}
    for name in ("apatinib", "irinotecan"):
        if name not in drugs:
            raise ProtocolError(f"{p}: missing key 'drugs.{name}'")
    units_raw = raw.get("dose_units", {})
    if not isinstance(units_raw, dict) or any(k not in drugs or not isinstance(v, list) or not v
                                              or not all(isinstance(u, str) for u in v) for k, v in units_raw.items()):
        raise ProtocolError(f"{p}: key 'dose_units' must map drugs of [drugs] to lists of EXDOSU units")
    dose_units = {k: tuple(v) for k, v in units_raw.items()}
    withhold_anc = None
    if "dose_modification" in raw:
        key = "dose_modification.irinotecan_withhold_anc_below"
        withhold_anc = _positive(_get(raw, key, (int, float), p), key, p)

    return Protocol(
        path=p,
        sha256=hashlib.sha256(data).hexdigest(),
        raw=raw,
        studyid=_get(raw, "study.studyid", str, p),
        cycle_length_days=cycle,
        irinotecan_days=iri_days,
        visit_days=visit_days,
        anchor=anchor,
        windows=windows,
        lab_before_dose_hours=int(_positive(_get(raw, "schedule.windows.lab_before_dose_hours", int, p),
                                            "schedule.windows.lab_before_dose_hours", p)),
        screening_names=tuple(s.upper() for s in _get(raw, "schedule.visits.screening_names", list, p)),
        visit_name_patterns=visit_name_patterns,
        unscheduled_names=tuple(s.upper() for s in _get(raw, "schedule.visits.unscheduled_names", list, p)),
        max_cycles_expected=_get(raw, "schedule.visits.max_cycles_expected", int, p),
        dlt_window_days=window,
        dlt=dlt,
        dlt_terms=terms,
        evaluable_min_share_apatinib=_get(raw, "dlt.evaluable.min_share_apatinib", float, p),
        evaluable_min_infusions_irinotecan=_get(raw, "dlt.evaluable.min_infusions_irinotecan", int, p),
        age_min=_get(raw, "eligibility.age_min", float, p),
        age_max=_get(raw, "eligibility.age_max", float, p),
        screening_sbp_max_exclusive=_get(raw, "eligibility.screening_sbp_max_exclusive", float, p),
        screening_dbp_max_exclusive=_get(raw, "eligibility.screening_dbp_max_exclusive", float, p),
        blood_pressure=_get(raw, "blood_pressure", dict, p),
        design=design,
        target=target,
        escalation=_get(raw, "escalation", dict, p),
        dose_levels=tuple(levels),
        drugs=drugs,
        dose_units=dose_units,
        irinotecan_withhold_anc_below=None if withhold_anc is None else float(withhold_anc),
    )
