"""The protocol config loads, and bad keys give errors that name the key."""

import datetime as dt
import re
from pathlib import Path

import pytest

from safetyboard.protocol import DEFAULT_PROTOCOL, ProtocolError, load_protocol


def test_trial_protocol_loads() -> None:
    p = load_protocol()
    assert p.cycle_length_days == 21
    assert p.irinotecan_days == (1, 8, 15)
    assert p.dlt_window_days == 42
    assert p.dose_codes == ["DL-1", "DL1", "DL2", "DL3", "DL4"]
    assert p.design == "boin" and p.target == pytest.approx(0.30)
    assert p.planned_irinotecan_in_window == 6
    assert p.dlt["transient_lab_max_hours"] == 24 and "LIPASE INCREASED" in p.dlt_terms["lab_abnormality"]
    assert len(p.sha256) == 64


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("cycle_length_days = 21", "cycle_length_days = 0", "schedule.cycle_length_days"),
        ("window_days = 42", 'window_days = "six weeks"', "dlt.window_days"),
        ('design = "boin"', 'design = "crm"', "escalation.design"),
        ('start_level = "DL1"', 'start_level = "DL9"', "escalation.start_level"),
        ("d8 = [2, 2]", "d8 = [2]", "schedule.windows.d8"),
        ("name_patterns = ['^CYCLE(?P<cycle>\\d+)DAY(?P<day>\\d+)$']", "name_patterns = ['^CYCLE(\\d+)DAY(\\d+)$']",
         "schedule.visits.name_patterns"),
        ("name_patterns = ['^CYCLE(?P<cycle>\\d+)DAY(?P<day>\\d+)$']", "name_patterns = ['^CYCLE(?P<cycle>']",
         "schedule.visits.name_patterns"),
        ("name_patterns = ['^CYCLE(?P<cycle>\\d+)DAY(?P<day>\\d+)$']", "name_patterns = 'C1D1'",
         "schedule.visits.name_patterns"),
        ("lab_before_dose_hours = 72", "lab_before_dose_hours = 0", "schedule.windows.lab_before_dose_hours"),
        ("lab_before_dose_hours = 72", 'lab_before_dose_hours = "72 h"', "schedule.windows.lab_before_dose_hours"),
        # settings the pages and the engine read: before, these loaded and the first page or command
        # that read them failed with a KeyError or TypeError (exit 1)
        ("adult_cat1 = [120, 80]\n", "", "blood_pressure.adult_cat1"),
        ("adult_cat3 = [160, 100]", 'adult_cat3 = "160/100"', "blood_pressure.adult_cat3"),
        ("adolescent_cat2 = [130, 80]", "adolescent_cat2 = [130]", "blood_pressure.adolescent_cat2"),
        ("adolescent_age_max = 17", 'adolescent_age_max = "x"', "blood_pressure.adolescent_age_max"),
        ("reference_lines = [[140, 90], [160, 100]]", "reference_lines = [[140, 90], [160]]",
         "blood_pressure.reference_lines[1]"),
        ("cohort_size = 3", 'cohort_size = "x"', "escalation.cohort_size"),
        ("cohort_size = 3", "cohort_size = 0", "escalation.cohort_size"),
        ("max_per_dose = 12", 'max_per_dose = "x"', "escalation.max_per_dose"),
        ("max_per_dose = 12", "max_per_dose = 2", "escalation.max_per_dose"),
        ("p_saf_factor = 0.6", 'p_saf_factor = "x"', "escalation.p_saf_factor"),
        ("p_tox_factor = 1.4", "p_tox_factor = 0.9", "escalation.p_tox_factor"),
        # the BOIN package's limits (R/get.boundary.R): p.saf and p.tox at least 10 % of the target from it
        ("p_saf_factor = 0.6", "p_saf_factor = 0.95", "escalation.p_saf_factor"),
        ("p_tox_factor = 1.4", "p_tox_factor = 1.05", "escalation.p_tox_factor"),
        ("target = 0.30", "target = 0.7", "escalation.target"),
        ("elimination_cutoff = 0.95", "elimination_cutoff = 95", "escalation.elimination_cutoff"),
        ("extrasafe = false\n", "", "escalation.extrasafe"),
        # DOMAIN.md 4 transient grade 3 lab abnormality exception
        ("transient_lab_max_hours = 24", 'transient_lab_max_hours = "24 h"', "dlt.transient_lab_max_hours"),
        ("transient_lab_max_hours = 24", "transient_lab_max_hours = 0", "dlt.transient_lab_max_hours"),
        ("transient_lab_max_hours = 24\n", "", "dlt.transient_lab_max_hours"),
        ("lab_abnormality = [", "lab_abnormalities = [", "dlt.terms.lab_abnormality"),
        ('lab_abnormality = [\n    "LIPASE INCREASED",', 'lab_abnormality = [\n    42,', "dlt.terms.lab_abnormality"),
        # a term list given as one text was read as its letters ('P', 'N', ...) and matched nothing
        ('pneumothorax = ["PNEUMOTHORAX"]', 'pneumothorax = "PNEUMOTHORAX"', "dlt.terms.pneumothorax"),
        ('irinotecan = ["mg/m2"]', 'irinotecan = "mg/m2"', "dose_units"),
        ('irinotecan = ["mg/m2"]', 'nalIRI = ["mg/m2"]', "dose_units"),  # not a drug of [drugs]
        ("irinotecan_withhold_anc_below = 1.5", "irinotecan_withhold_anc_below = 0",
         "dose_modification.irinotecan_withhold_anc_below"),
        ("irinotecan_withhold_anc_below = 1.5", 'irinotecan_withhold_anc_below = "1.5"',
         "dose_modification.irinotecan_withhold_anc_below"),
    ],
)
def test_bad_key_is_named(tmp_path: Path, old: str, new: str, key: str) -> None:
    text = DEFAULT_PROTOCOL.read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ProtocolError, match=re.escape(key)):
        load_protocol(bad)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match=r"nope\.toml"):
        load_protocol(tmp_path / "nope.toml")


def test_analysis_age_groups_are_validated(tmp_path: Path) -> None:
    text = DEFAULT_PROTOCOL.read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("age_groups = [[12, 17], [18, 39], [40, 65]]", "age_groups = [12, 17]", 1), encoding="utf-8")
    with pytest.raises(ProtocolError, match=re.escape("analysis.age_groups")):
        load_protocol(bad)


def test_the_demo_withholds_nal_iri_by_the_protocol_threshold(tmp_path: Path) -> None:
    """[dose_modification] is optional: without it no infusion is withheld; with it, the ANC of the infusion visit
    decides (the demo generator reads the number from the protocol, not from its code)."""
    import polars as pl

    from etl.demo.visits import withheld_infusions

    text = DEFAULT_PROTOCOL.read_text(encoding="utf-8")
    without = tmp_path / "without.toml"
    without.write_text(text.replace("[dose_modification]", "[unused_dose_modification]", 1), encoding="utf-8")
    given, absent = load_protocol(DEFAULT_PROTOCOL), load_protocol(without)
    assert given.irinotecan_withhold_anc_below == 1.5 and absent.irinotecan_withhold_anc_below is None
    visits = pl.DataFrame({"USUBJID": ["S1", "S1"], "VISITNUM": [108.0, 115.0], "VISIT": ["C1D8", "C1D15"],
                           "DAY": [8, 15], "CYCLE": [1, 1], "DATE": [dt.date(2026, 1, 8), dt.date(2026, 1, 15)]})
    labs = pl.DataFrame({"USUBJID": ["S1", "S1"], "VISITNUM": [108.0, 115.0], "LBTESTCD": ["NEUT", "NEUT"],
                         "LBSTRESN": [1.4, 1.6]})
    cycles = pl.DataFrame({"USUBJID": ["S1"], "CYCLE": [1], "D1DT": [dt.date(2026, 1, 1)]})
    assert withheld_infusions(visits, labs, cycles, given)["VISITNUM"].to_list() == [108.0]
    assert withheld_infusions(visits, labs, cycles, absent).height == 0


def test_the_neutropenia_grade_that_withholds_follows_the_protocol_threshold(tmp_path: Path) -> None:
    # the demo's evaluability budget must count the same events as withheld_infusions withholds: both from the TOML
    from etl.demo.adverse_events import anc_hold_min_grade

    text = DEFAULT_PROTOCOL.read_text(encoding="utf-8")
    stricter = tmp_path / "stricter.toml"
    stricter.write_text(text.replace("irinotecan_withhold_anc_below = 1.5", "irinotecan_withhold_anc_below = 1.0"), encoding="utf-8")
    without = tmp_path / "without.toml"
    without.write_text(text.replace("[dose_modification]", "[unused_dose_modification]", 1), encoding="utf-8")
    assert anc_hold_min_grade(load_protocol(DEFAULT_PROTOCOL)) == 2
    assert anc_hold_min_grade(load_protocol(stricter)) == 3
    assert anc_hold_min_grade(load_protocol(without)) is None
