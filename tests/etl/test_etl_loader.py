"""The loader: export folder -> raw.* / adam.* / meta.* in a new cut, with quarantine and audit."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pyreadstat
import pytest
from etl_sample_export import AE, DM, LB, VS, Table, write_csv
from etl_sample_export import load_checked as load
from etl_sample_export import read_table as table

from etl.loader import load_export
from safetyboard.errors import BadInputError
from safetyboard.protocol import Protocol


def quarantine(db: Path) -> pl.DataFrame:
    return table(db, "meta.quarantine")


def test_minimal_export_loads_typed(make_export, tmp_path: Path, protocol: Protocol) -> None:
    result, db = load(make_export(), tmp_path, protocol)
    assert result.status == "ok"
    for name, st in result.domains.items():
        assert st.rows_read == st.rows_loaded + st.rows_quarantined, name
    lb = table(db, "raw.lb").sort("USUBJID", "LBSEQ")
    assert lb.schema["LBSEQ"] == pl.Int64 and lb.schema["LBSTRESN"] == pl.Float64
    assert lb["LBSTRESN"].to_list() == [3.1, 0.9, 30.0]
    assert lb["_FILE"].unique().to_list() == ["lb.csv"] and sorted(lb["_ROW"].to_list()) == [1, 2, 3]
    # a time part stays in the text only
    row = lb.filter(pl.col("LBSEQ") == 2).row(0, named=True)
    assert row["LBDTC"] == "2026-01-19T08:30" and str(row["LBDTC_DT"]) == "2026-01-19" and row["LBDTC_DTF"] is None
    dm = table(db, "raw.dm")
    assert dm.schema["AGE"] == pl.Float64
    for name in ("adsl", "adae", "adlb", "advs", "adex", "adsv", "adcyc"):
        table(db, f"adam.{name}")  # every analysis table exists


def test_partial_dates_kept_as_text_with_imputation_flags(make_export, tmp_path: Path, protocol: Protocol) -> None:
    ae: Table = [
        dict(AE[0], AESEQ="1", AESTDTC="2026-01", AEENDTC="2026-02"),
        dict(AE[0], AESEQ="2", AESTDTC="2026", AEENDTC="2026"),
        dict(AE[0], AESEQ="3", AESTDTC="2026-01-07T10:15:00", AEENDTC="2024-02"),
    ]
    _, db = load(make_export(ae=ae), tmp_path, protocol)
    rows = {r["AESEQ"]: r for r in table(db, "raw.ae").filter(pl.col("USUBJID") == "S-001").to_dicts()}
    assert (rows[1]["AESTDTC"], str(rows[1]["AESTDTC_DT"]), rows[1]["AESTDTC_DTF"]) == ("2026-01", "2026-01-01", "D")
    assert (str(rows[1]["AEENDTC_DT"]), rows[1]["AEENDTC_DTF"]) == ("2026-02-28", "D")  # end: last day
    assert (str(rows[2]["AESTDTC_DT"]), rows[2]["AESTDTC_DTF"]) == ("2026-01-01", "M")
    assert (str(rows[2]["AEENDTC_DT"]), rows[2]["AEENDTC_DTF"]) == ("2026-12-31", "M")
    assert (rows[3]["AESTDTC"], str(rows[3]["AESTDTC_DT"]), rows[3]["AESTDTC_DTF"]) == ("2026-01-07T10:15:00", "2026-01-07", None)
    assert str(rows[3]["AEENDTC_DT"]) == "2024-02-29"  # leap year


def test_split_domains_and_suppae_pivot(tmp_path: Path, protocol: Protocol, make_export) -> None:
    folder = make_export(skip=("lb",))
    # lbch as XPT, lbhe as CSV: both become raw.lb
    chem = pl.DataFrame({"USUBJID": ["S-001"], "LBSEQ": [10.0], "LBTESTCD": ["ALT"], "LBSTRESN": [55.0],
                         "LBSTRESU": ["U/L"], "LBSTNRHI": [40.0], "LBDTC": ["2026-01-12"]})
    pyreadstat.write_xport(chem.to_pandas(), str(folder / "lbch.xpt"), table_name="LBCH", file_format_version=5)
    write_csv(folder / "lbhe.csv", LB[:2])
    write_csv(folder / "suppae.csv", [
        {"STUDYID": "NCT07479732", "RDOMAIN": "AE", "USUBJID": "S-001", "IDVAR": "AESEQ", "IDVARVAL": "1",
         "QNAM": "AEDLT", "QLABEL": "Dose-limiting toxicity", "QVAL": "Y"},
        {"STUDYID": "NCT07479732", "RDOMAIN": "AE", "USUBJID": "S-002", "IDVAR": "AESEQ", "IDVARVAL": "7",
         "QNAM": "AEDLT", "QLABEL": "Dose-limiting toxicity", "QVAL": "N"},
    ])
    result, db = load(folder, tmp_path, protocol)
    assert result.domains["lb"].files == ["lbch.xpt", "lbhe.csv"]
    lb = table(db, "raw.lb")
    assert lb.height == 3 and set(lb["_FILE"]) == {"lbch.xpt", "lbhe.csv"}
    ae = table(db, "raw.ae").sort("USUBJID")
    assert ae["AEDLT"].to_list() == ["Y", None]
    # the orphan SUPPAE row (no AESEQ 7 for S-002) is quarantined, not dropped
    st = result.domains["suppae"]
    assert (st.rows_read, st.rows_loaded, st.rows_quarantined, st.reasons) == (2, 1, 1, {"orphan_supp": 1})
    adae = table(db, "adam.adae").sort("USUBJID")
    assert adae["DLTFL"].to_list() == ["Y", None]


def test_column_mapping_for_non_sdtm_export(tmp_path: Path, protocol: Protocol, make_export) -> None:
    folder = make_export(skip=("ae", "dm"))
    write_csv(folder / "patients.csv", [
        {"Subject ID": r["USUBJID"], "Dose Level": r["ARMCD"], "Age (years)": r["AGE"], "Sex": r["SEX"],
         "First Dose": r["RFXSTDTC"]} for r in DM
    ])
    write_csv(folder / "adverse_events.csv", [
        {"Subject ID": r["USUBJID"], "AE No": r["AESEQ"], "Verbatim": r["AETERM"], "Preferred Term": r["AEDECOD"],
         "Grade": r["AETOXGR"], "Onset": r["AESTDTC"], "Resolved": r["AEENDTC"]} for r in AE
    ])
    mapping = Path(__file__).resolve().parents[2] / "data" / "mappings" / "example_mapping.toml"
    result, db = load(folder, tmp_path, protocol, mapping=mapping)
    assert result.domains["ae"].files == ["adverse_events.csv"]
    ae = table(db, "raw.ae").sort("USUBJID")
    assert ae["AETERM"].to_list() == ["Hypertension", "Nausea"] and ae["AETOXGR"].to_list() == ["2", "1"]
    assert ae["AESTDTC_DTF"].to_list() == [None, "D"]
    adsl = table(db, "adam.adsl").sort("USUBJID")
    assert adsl["DOSELVLC"].to_list() == ["DL1", "DL1"] and adsl["AGE"].to_list() == [34.0, 15.0]
    loads = table(db, "meta.loads")
    assert loads["mapping_sha256"][0] is not None
    # what the example mapping names and this export lacks is said, not passed over
    mapping_notes = [n for n in result.warnings if n.startswith("column mapping:")]
    assert "column mapping: [files] labs = 'lb' names no file of the export (no labs.*)" in mapping_notes
    assert ("column mapping: [columns.ae] renamed nothing for 'System Organ Class', 'Serious', 'DLT (investigator)': "
            "no such column in adverse_events.csv (a misspelt name leaves its variable out of the cut)") in mapping_notes
    assert any(n.startswith("column mapping: [columns.\"*\"] renamed nothing for 'Site', 'Visit No': no such column in "
                            "adverse_events.csv, ex.csv, lb.csv, patients.csv, vs.csv") for n in mapping_notes)
    assert not any(used in n for n in mapping_notes for used in ("'Subject ID'", "'Verbatim'", "'Dose Level'"))
    assert json.loads(loads["notes"][0]) == result.warnings


def test_a_misspelt_mapping_column_is_named_in_the_load_notes(tmp_path: Path, protocol: Protocol, make_export) -> None:
    # "Grde" renamed nothing: AETOXGR was missing from the cut and every AE ungraded, with no word of why
    folder = make_export(skip=("ae",))
    write_csv(folder / "ae.csv", [{**{k: v for k, v in r.items() if k != "AETOXGR"}, "Grade": r["AETOXGR"]} for r in AE])
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns.ae]\n"Grde" = "AETOXGR"\n\n[columns.suppae]\n"QNAM" = "QNAM"\n', encoding="utf-8")
    result, db = load(folder, tmp_path, protocol, mapping=mapping)
    assert "AETOXGR" not in table(db, "raw.ae").columns
    assert [n for n in result.warnings if n.startswith("column mapping:")] == [
        "column mapping: [columns.ae] renamed nothing for 'Grde': no such column in ae.csv (a misspelt name leaves "
        "its variable out of the cut)",
        "column mapping: [columns.suppae] applies to no file of the export: its 1 rename(s) were not made",
    ]
    # the right name: no note
    mapping.write_text('[columns.ae]\n"grade" = "AETOXGR"\n', encoding="utf-8")
    result, db = load(folder, tmp_path, protocol, mapping=mapping)
    assert table(db, "raw.ae")["AETOXGR"].to_list() == [r["AETOXGR"] for r in AE]
    assert not [n for n in result.warnings if n.startswith("column mapping:")]


def test_a_mapping_target_one_letter_off_a_variable_the_analysis_reads_is_named(
        tmp_path: Path, protocol: Protocol, make_export) -> None:
    # "Grade" = "AETOXGRR" loaded as a column of that name: every AE ungraded, and the load said nothing
    folder = make_export(skip=("ae",))
    write_csv(folder / "ae.csv", [{**{k: v for k, v in r.items() if k != "AETOXGR"}, "Grade": r["AETOXGR"]} for r in AE])
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns.ae]\n"Grade" = "AETOXGRR"\n"AEDECOD" = "AEDECOD"\n"AESER" = "SERIOUS"\n', encoding="utf-8")
    result, _ = load(folder, tmp_path, protocol, mapping=mapping)
    assert [n for n in result.warnings if "did you mean" in n] == [
        "column mapping: [columns.ae] maps 'Grade' to 'AETOXGRR', which SafetyBoard does not read; did you mean "
        "AETOXGR (not in ae.csv)?"]  # a name of its own (SERIOUS) is no near miss


def test_quarantine_reasons_and_records(tmp_path: Path, protocol: Protocol, make_export) -> None:
    lb: Table = [
        *LB,
        dict(LB[0], LBSEQ="1", LBSTRESN="2.0"),  # duplicate key of row 1 -> second one quarantined
        dict(LB[0], LBSEQ="4", LBDTC="2026-02-30"),  # impossible date
        dict(LB[0], LBSEQ="5", LBSTRESN="<0.2"),  # non-numeric result
        dict(LB[0], LBSEQ="6", USUBJID="S-999"),  # not in DM
        dict(LB[0], LBSEQ="7", LBDTC=""),  # required date missing
    ]
    result, db = load(make_export(lb=lb), tmp_path, protocol)
    st = result.domains["lb"]
    assert st.rows_read == 8 and st.rows_loaded == 3 and st.rows_quarantined == 5
    assert st.reasons == {"duplicate_key": 1, "invalid_date": 1, "non_numeric": 1, "unknown_subject": 1,
                          "missing_required": 1}
    q = quarantine(db).sort("row_number")
    assert {"cut_id", "domain", "file", "row_number", "reason", "detail", "record"} <= set(q.columns)
    by_row = {r["row_number"]: r for r in q.to_dicts()}
    assert by_row[4]["reason"] == "duplicate_key" and "first kept" in by_row[4]["detail"]
    assert by_row[5]["reason"] == "invalid_date" and "2026-02-30" in by_row[5]["detail"]
    assert by_row[6]["reason"] == "non_numeric" and "<0.2" in by_row[6]["detail"]
    assert by_row[7]["reason"] == "unknown_subject" and "S-999" in by_row[7]["detail"]
    assert by_row[8]["reason"] == "missing_required" and "LBDTC" in by_row[8]["detail"]
    for r in q.to_dicts():
        assert r["file"] == "lb.csv" and r["domain"] == "LB" and r["cut_id"] == result.cut_id
        record = json.loads(r["record"])
        assert record["LBTESTCD"] == "NEUT"  # the raw record is kept as text
    assert json.loads(by_row[6]["record"])["LBSTRESN"] == "<0.2"
    # the first of the duplicate pair is the one loaded
    loaded = table(db, "raw.lb").filter((pl.col("USUBJID") == "S-001") & (pl.col("LBSEQ") == 1))
    assert loaded["LBSTRESN"].to_list() == [3.1] and loaded["_ROW"].to_list() == [1]


def test_non_numeric_in_optional_number_column_becomes_null(tmp_path: Path, protocol: Protocol, make_export) -> None:
    lb = [dict(LB[0], LBSTNRLO="see comment")]
    result, db = load(make_export(lb=lb), tmp_path, protocol)
    assert result.domains["lb"].rows_loaded == 1
    assert table(db, "raw.lb")["LBSTNRLO"].to_list() == [None]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"skip": ("vs",)}, r"required domain file\(s\) missing: VS"),
        ({"ae": [{k: v for k, v in r.items() if k != "AETERM"} for r in AE]}, r"ae\.csv: required column\(s\) missing: AETERM"),
    ],
)
def test_missing_domain_or_column_stops_the_load(tmp_path: Path, protocol: Protocol, make_export, change: dict,
                                                 message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        load(make_export(**change), tmp_path, protocol)
    assert not (tmp_path / "cuts" / "current.duckdb").exists()


def test_wrong_delimiter_names_file_and_missing_columns(tmp_path: Path, protocol: Protocol, make_export) -> None:
    folder = make_export()
    write_csv(folder / "vs.csv", VS, delimiter="|")
    # '|' is sniffed; a header joined by a delimiter we do not sniff is read as one column
    text = (folder / "vs.csv").read_text().replace("|", "#")
    (folder / "vs.csv").write_text(text)
    with pytest.raises(BadInputError) as err:
        load(folder, tmp_path, protocol)
    message = str(err.value)
    assert "vs.csv" in message and "USUBJID" in message and "VSSEQ" in message and "wrong delimiter" in message


def test_pipe_delimited_file_loads(tmp_path: Path, protocol: Protocol, make_export) -> None:
    folder = make_export()
    write_csv(folder / "vs.csv", VS, delimiter="|")
    result, _ = load(folder, tmp_path, protocol)
    assert result.domains["vs"].rows_loaded == len(VS)


def test_truncated_file_stops_the_load(tmp_path: Path, protocol: Protocol, make_export) -> None:
    folder = make_export()
    text = (folder / "ae.csv").read_text()
    (folder / "ae.csv").write_text(text[:-25])
    with pytest.raises(BadInputError, match=r"ae\.csv.*truncated"):
        load(folder, tmp_path, protocol)


def test_missing_folder(tmp_path: Path, protocol: Protocol) -> None:
    with pytest.raises(BadInputError, match="not a folder"):
        load(tmp_path / "nowhere", tmp_path, protocol)


def test_cdisc_pilot_loads_with_row_accounting(pilot_dir: Path, tmp_path: Path, protocol: Protocol) -> None:
    result, db = load(pilot_dir, tmp_path, protocol)
    assert {"dm", "ae", "lb", "vs", "ex", "sv", "ds", "suppae"} <= set(result.domains)
    assert result.domains["lb"].files == ["lbch.xpt", "lbhe.xpt", "lbur.xpt"]
    with duckdb.connect(str(db), read_only=True) as con:
        for name, st in result.domains.items():
            assert st.rows_read == st.rows_loaded + st.rows_quarantined, name
            assert st.rows_read > 0, name
            if not name.startswith("supp"):
                n = con.execute(f'SELECT count(*) FROM raw."{name}"').fetchone()[0]
                assert n == st.rows_loaded, name
            q = con.execute("SELECT count(*) FROM meta.quarantine WHERE lower(domain) = ?", [name]).fetchone()[0]
            assert q == st.rows_quarantined, name
    assert result.domains["dm"].rows_loaded == 306


def test_mapping_two_columns_onto_one_name_is_bad_input(tmp_path: Path, protocol: Protocol, make_export) -> None:
    folder = make_export()
    write_csv(folder / "ae.csv", [dict(r, Verbatim=r["AETERM"]) for r in AE])
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns.ae]\n"Verbatim" = "AETERM"\n', encoding="utf-8")
    with pytest.raises(BadInputError, match=r"ae\.csv: the column mapping gives several columns the same name AETERM"):
        load(folder, tmp_path, protocol, mapping=mapping)


def test_unreadable_mapping_file_is_bad_input(tmp_path: Path, protocol: Protocol, make_export) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_text("[files\nae = ", encoding="utf-8")
    with pytest.raises(BadInputError, match=r"map\.toml: the mapping file is not valid TOML"):
        load(make_export(), tmp_path, protocol, mapping=mapping)
    with pytest.raises(BadInputError, match=r"nope\.toml: cannot read the mapping file"):
        load(make_export(), tmp_path, protocol, mapping=tmp_path / "nope.toml")


def test_trial_before_first_dose_loads_header_only_files(tmp_path: Path, protocol: Protocol, make_export) -> None:
    """Early in the trial EX, AE, LB and VS exist with a header and no rows: a valid, empty cut."""
    folder = make_export()
    for name in ("ex", "ae", "lb", "vs"):
        path = folder / f"{name}.csv"
        path.write_text(path.read_text().splitlines()[0] + "\n")
    result, db = load(folder, tmp_path, protocol)
    assert {k: v.rows_loaded for k, v in result.domains.items()} == {"dm": 2, "ex": 0, "ae": 0, "lb": 0, "vs": 0}
    adsl = table(db, "adam.adsl").sort("USUBJID")
    assert adsl["SAFFL"].to_list() == ["N", "N"] and adsl["DLTEVLFL"].to_list() == ["N", "N"]
    assert table(db, "adam.adae").height == 0


def test_no_column_is_null_typed(make_export, tmp_path: Path, protocol: Protocol) -> None:
    """An optional column the export lacks (VSTPT, VSPOS, LBCAT ...) keeps its type in the cut:
    a NULL-typed column would change the table's schema from one export to the next."""
    _, db = load(make_export(), tmp_path, protocol)
    with duckdb.connect(str(db), read_only=True) as con:
        null_typed = con.execute(
            "SELECT table_schema || '.' || table_name || '.' || column_name FROM information_schema.columns "
            "WHERE data_type = '\"NULL\"' OR data_type = 'NULL'"
        ).fetchall()
        advs = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                "WHERE table_schema = 'adam' AND table_name = 'advs'").fetchall())
    assert null_typed == []
    assert advs["VSTPT"] == "VARCHAR" and advs["VSPOS"] == "VARCHAR"


@pytest.mark.parametrize("second", ["AE.CSV", "ae.xpt", "ae.parquet"])
def test_two_files_of_one_dataset_stop_the_load(tmp_path: Path, protocol: Protocol, make_export, second: str) -> None:
    # ae.csv beside AE.xpt is the same data twice: loaded as a split domain, every row would become a
    # duplicate_key in quarantine and the real problem would not be named
    export = make_export()
    target = export / second
    if second.endswith(".xpt"):
        pyreadstat.write_xport(pl.read_csv(export / "ae.csv", infer_schema=False).to_pandas(), str(target))
    elif second.endswith(".parquet"):
        pl.read_csv(export / "ae.csv", infer_schema=False).write_parquet(target)
    else:
        target.write_bytes((export / "ae.csv").read_bytes())
    db = tmp_path / "cuts" / "current.duckdb"
    with pytest.raises(BadInputError, match=rf"{second if second < 'ae.csv' else 'ae.csv'} and .* are both dataset AE"):
        load_export(export, db, protocol, run_checks=False)
    assert not db.exists()


def test_files_not_named_like_a_dataset_are_reported_not_loaded(tmp_path: Path, protocol: Protocol, make_export) -> None:
    # export_info.csv was read as EX (its first two letters) and stopped the load for missing EX columns;
    # "dm (1).csv", a copy beside dm.csv, was loaded as DM and made every subject a duplicate_key
    folder = make_export()
    write_csv(folder / "export_info.csv", [{"key": "exported_by", "value": "EDC"}])
    (folder / "dm (1).csv").write_bytes((folder / "dm.csv").read_bytes())
    result, db = load(folder, tmp_path, protocol)
    assert result.domains["dm"].rows_quarantined == 0 and result.domains["dm"].files == ["dm.csv"]
    assert "ex" in result.domains and result.domains["ex"].files == ["ex.csv"]
    told = [w for w in result.warnings if "is not the name of an SDTM dataset" in w]
    assert [w.split(" was not loaded")[0] for w in told] == ["dm (1).csv", "export_info.csv"]
    notes = json.loads(table(db, "meta.loads")["notes"][0])
    assert notes == result.warnings
    # with no dataset-named DM at all, the missing-domain error names the file that was not taken for it
    (folder / "dm.csv").rename(folder / "DM_2026-03.csv")
    with pytest.raises(BadInputError, match=r"missing: DM .*not named like an SDTM dataset.*: DM_2026-03\.csv"):
        load(folder, tmp_path / "second", protocol)


def _supp(usubjid: str, idvar: str, idvarval: str, qnam: str, qval: str) -> dict[str, str]:
    return {"STUDYID": "NCT07479732", "RDOMAIN": "AE", "USUBJID": usubjid, "IDVAR": idvar, "IDVARVAL": idvarval,
            "QNAM": qnam, "QLABEL": qnam, "QVAL": qval}


def test_supp_keys_match_as_the_parent_is_typed(tmp_path: Path, protocol: Protocol, make_export) -> None:
    # AESEQ '1.0' / IDVARVAL ' 1' and a padded USUBJID are the same record once typed: the investigator's
    # DLT flag must reach its AE, not be quarantined as an orphan
    ae = [dict(AE[0], AESEQ="1.0"), dict(AE[1], USUBJID=" S-002 ")]
    folder = make_export(ae=ae)
    write_csv(folder / "suppae.csv", [_supp("S-001", "AESEQ", " 1", "AEDLT", "Y"), _supp("S-002", "AESEQ", "1", "AEDLT", "N")])
    result, db = load(folder, tmp_path, protocol)
    assert result.domains["suppae"].reasons == {}
    assert table(db, "raw.ae").sort("USUBJID")["AEDLT"].to_list() == ["Y", "N"]


def test_record_level_supp_wins_over_subject_level_and_clash_is_quarantined(
    tmp_path: Path, protocol: Protocol, make_export
) -> None:
    ae = [*AE, dict(AE[0], AESEQ="2", AETERM="Fatigue", AEDECOD="FATIGUE")]
    folder = make_export(ae=ae)
    write_csv(folder / "suppae.csv", [
        _supp("S-001", "AESEQ", "1", "AEDLT", "N"),   # record level
        _supp("S-001", "", "", "AEDLT", "Y"),          # subject level: fills S-001's AESEQ 2 only
        _supp("S-002", "AESEQ", "1", "AETERM", "Vomiting"),  # QNAM that is an AE column already
    ])
    result, db = load(folder, tmp_path, protocol)
    raw_ae = table(db, "raw.ae").sort("USUBJID", "AESEQ")
    assert raw_ae["AEDLT"].to_list() == ["N", "Y", None]
    assert raw_ae["AETERM"].to_list() == ["Hypertension", "Fatigue", "Nausea"]  # the AE's own value kept
    st = result.domains["suppae"]
    assert (st.rows_read, st.rows_loaded, st.rows_quarantined, st.reasons) == (3, 2, 1, {"supp_clash": 1})
    q = quarantine(db).filter(pl.col("reason") == "supp_clash")
    assert q["detail"].to_list() == ["QNAM AETERM is already a column of AE: the AE value is kept"]


def test_supp_value_of_a_quarantined_record_is_not_counted_as_loaded(tmp_path: Path, protocol: Protocol,
                                                                    make_export) -> None:
    # an investigator's DLT flag on an AE of an unknown subject went to quarantine inside the AE record,
    # yet SUPPAE counted it as loaded: the counts said the flag was in raw.ae
    ae = [*AE, dict(AE[0], USUBJID="S-999", AESEQ="7")]
    folder = make_export(ae=ae)
    write_csv(folder / "suppae.csv", [_supp("S-001", "AESEQ", "1", "AEDLT", "N"), _supp("S-999", "AESEQ", "7", "AEDLT", "Y"),
                                      _supp("S-999", "", "", "AECONTRT", "Y")])
    result, db = load(folder, tmp_path, protocol)
    st = result.domains["suppae"]
    assert (st.rows_read, st.rows_loaded, st.rows_quarantined, st.reasons) == (3, 1, 2, {"parent_quarantined": 2})
    q = quarantine(db).filter(pl.col("domain") == "SUPPAE").sort("row_number")
    assert q["detail"].to_list() == [
        "its AE record AESEQ=7 is in quarantine (see its reason there), this QNAM AEDLT = Y inside its record",
        "every AE record of subject S-999 is in quarantine (see its reason there), this QNAM AECONTRT = Y inside its record",
    ]
    kept = quarantine(db).filter((pl.col("domain") == "AE") & (pl.col("reason") == "unknown_subject"))
    assert json.loads(kept["record"][0])["AEDLT"] == "Y"  # the value is kept with its record
    assert table(db, "raw.ae").sort("_FILE", "_ROW")["AEDLT"].to_list() == ["N", None]  # raw rows in no set order


@pytest.mark.parametrize("kind", ["folder", "broken link"])
def test_a_data_file_name_that_is_no_file_stops_the_load(tmp_path: Path, protocol: Protocol, make_export,
                                                         kind: str) -> None:
    # skipped without a word, a folder named ae.csv would read as 'AE missing' or lose a whole domain
    folder = make_export()
    if kind == "folder":
        (folder / "cm.csv").mkdir()
    else:
        (folder / "cm.csv").symlink_to(tmp_path / "nowhere.csv")
    with pytest.raises(BadInputError, match=rf"cm\.csv: is {'not a regular file' if kind == 'folder' else 'a broken link'}"):
        load(folder, tmp_path, protocol)


def test_text_in_an_optional_number_is_kept_and_listed(tmp_path: Path, protocol: Protocol, make_export) -> None:
    # '<5' as a lower limit, '>89' as an age: the number is NULL (the row stays), the text is kept in
    # <VAR>_TEXT and the check value_not_numeric names the record, so nothing is lost without a word
    dm = [dict(DM[0], AGE=">89"), DM[1]]
    lb = [dict(LB[0], LBSTNRLO="<5"), *LB[1:]]
    folder = make_export(dm=dm, lb=lb)
    db = tmp_path / "cuts" / "current.duckdb"
    result = load_export(folder, db, protocol)
    assert result.domains["lb"].rows_quarantined == 0 and result.domains["dm"].rows_quarantined == 0
    raw_lb = table(db, "raw.lb").sort("_ROW")
    assert raw_lb["LBSTNRLO"][0] is None and raw_lb["LBSTNRLO_TEXT"].to_list() == ["<5", *[None] * (len(LB) - 1)]
    assert table(db, "raw.dm").sort("_ROW")["AGE_TEXT"].to_list() == [">89", None]
    found = table(db, "meta.findings").filter(pl.col("check_id") == "value_not_numeric").sort("domain")
    assert found.select("domain", "record_key", "message").rows() == [
        ("DM", "USUBJID=S-001", "AGE '>89' is not a number: loaded as NULL, the text is kept in AGE_TEXT"),
        ("LB", "LBSEQ=1", "LBSTNRLO '<5' is not a number: loaded as NULL, the text is kept in LBSTNRLO_TEXT"),
    ]


def test_dataset_files_in_a_subfolder_are_named_not_loaded(tmp_path: Path, protocol: Protocol, make_export) -> None:
    # old/ae.csv or a split lb/ folder was ignored without a word; with LB only there, the missing-domain error
    # did not say where it was
    folder = make_export()
    (folder / "old").mkdir()
    (folder / "old" / "ae.csv").write_bytes((folder / "ae.csv").read_bytes())
    (folder / "old" / "notes.md").write_text("not data")
    result, _ = load(folder, tmp_path, protocol)
    told = [w for w in result.warnings if w.startswith("old/ae.csv was not loaded: it is in a subfolder")]
    assert len(told) == 1 and not [w for w in result.warnings if "notes.md" in w]
    assert result.domains["ae"].files == ["ae.csv"]
    (folder / "lb").mkdir()
    (folder / "lb.csv").rename(folder / "lb" / "lbch.csv")
    with pytest.raises(BadInputError, match=r"missing: LB .*subfolder: lb/lbch\.csv, old/ae\.csv"):
        load(folder, tmp_path / "second", protocol)
