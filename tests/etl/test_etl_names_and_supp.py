"""Column names the loader uses itself, SUPP-- merging and the column mapping: cases that lost or changed
values, or stopped the load with an internal error. Real files in tmp_path, no mocks."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyreadstat
import pytest
from etl_sample_export import AE, LB, write_csv
from etl_sample_export import load_checked as load
from etl_sample_export import read_table as table

from safetyboard.errors import BadInputError
from safetyboard.protocol import Protocol


def supp_rows(*records: tuple[str, str, str, str, str], rdomain: str = "AE") -> list[dict[str, str]]:
    """SUPP-- records from (USUBJID, IDVAR, IDVARVAL, QNAM, QVAL)."""
    return [{"STUDYID": "NCT07479732", "RDOMAIN": rdomain, "USUBJID": u, "IDVAR": idvar, "IDVARVAL": value,
             "QNAM": qnam, "QLABEL": qnam, "QVAL": qval} for u, idvar, value, qnam, qval in records]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet", ".xpt"])
@pytest.mark.parametrize("name", ["_FILE", "_row"])
def test_a_header_naming_the_loaders_own_columns_stops_the_load(
    make_export, tmp_path: Path, protocol: Protocol, suffix: str, name: str
) -> None:
    # _ROW stopped an XLSX load with an internal error; _FILE was overwritten by the file name, its values lost
    folder = make_export(skip=("ae",))
    ae = pl.DataFrame(AE).with_columns(pl.lit("theirs").alias(name))
    path = folder / f"ae{suffix}"
    if suffix == ".csv":
        ae.write_csv(path)
    elif suffix == ".xlsx":
        ae.write_excel(path)
    elif suffix == ".parquet":
        ae.write_parquet(path)
    else:
        pyreadstat.write_xport(ae.to_pandas(), str(path), table_name="AE", file_format_version=5)
    with pytest.raises(BadInputError, match=rf"^ae\{suffix}: the header names a column {name.upper()} \(column 9\)"):
        load(folder, tmp_path, protocol)


@pytest.mark.parametrize(
    ("domain", "rows", "mapping", "expected"),
    [
        ("ae", [dict(r, AESTDTC_DT="2026-01-10") for r in AE], None, r"^ae\.csv: column\(s\) AESTDTC_DT \(from AESTDTC\)"),
        ("lb", [dict(r, LBSTNRLO="<1", LBSTNRLO_TEXT="x") for r in LB], None, r"^lb\.csv: column\(s\) LBSTNRLO_TEXT"),
        ("ae", AE, '[columns.ae]\n"AEDECOD" = "AEENDTC_DTF"\n', r"^ae\.csv: column\(s\) AEENDTC_DTF \(from AEENDTC\)"),
        ("ae", AE, '[columns.ae]\n"AEDECOD" = "_FILE"\n', r"^ae\.csv: the column mapping names a column _FILE"),
    ],
    ids=["date", "text", "mapped-date", "mapped-file"],
)
def test_a_column_named_like_a_derived_one_stops_the_load(
    make_export, tmp_path: Path, protocol: Protocol, domain: str, rows: list, mapping: str | None, expected: str
) -> None:
    # AESTDTC_DT beside AESTDTC (a cut's raw table exported again) stopped the load with an internal error
    # (duplicate output name); mapped onto _FILE, AEDECOD's values were overwritten by the file name
    folder = make_export(**{domain: rows})
    kw = {}
    if mapping:
        (tmp_path / "map.toml").write_text(mapping)
        kw["mapping"] = tmp_path / "map.toml"
    with pytest.raises(BadInputError, match=expected):
        load(folder, tmp_path, protocol, **kw)


def test_export_columns_named_like_the_loaders_helpers_keep_their_values(
    make_export, tmp_path: Path, protocol: Protocol
) -> None:
    # typing's helper columns (_Q0, _BAD, _NN0) overwrote an export's columns of those names with booleans; an
    # export column _S_AEDLT took the place of SUPPAE's AEDLT: every AE got its value as the investigator's flag
    lb = [dict(r, _Q0="q", _BAD="b", _NN0="n", LBSTNRLO="<1" if i == 0 else r["LBSTNRLO"]) for i, r in enumerate(LB)]
    folder = make_export(lb=lb, ae=[dict(r, _S_AEDLT="x", _SID="s", _K0="k") for r in AE])
    write_csv(folder / "suppae.csv", supp_rows(("S-001", "AESEQ", "1", "AEDLT", "Y")))
    _, db = load(folder, tmp_path, protocol)
    raw = table(db, "raw.lb").sort("_ROW")
    assert raw.select("_Q0", "_BAD", "_NN0").unique().rows() == [("q", "b", "n")]
    assert raw["LBSTNRLO_TEXT"].to_list() == ["<1", None, None]
    ae = table(db, "raw.ae").sort("_ROW")
    assert ae["AEDLT"].to_list() == ["Y", None]
    assert ae.select("_S_AEDLT", "_SID", "_K0").unique().rows() == [("x", "s", "k")]


def test_a_qnam_named_like_a_derived_column_is_a_supp_clash(make_export, tmp_path: Path, protocol: Protocol) -> None:
    # QNAM AESTDTC_DT stopped the load with an internal error, and so did _K0 (the SUPP join's helper name)
    folder = make_export()
    write_csv(folder / "suppae.csv", supp_rows(("S-001", "AESEQ", "1", "AESTDTC_DT", "2026-01-01"),
                                               ("S-001", "AESEQ", "1", "_K0", "k")))
    result, db = load(folder, tmp_path, protocol)
    assert result.domains["suppae"].reasons == {"supp_clash": 1}
    quarantine = table(db, "meta.quarantine")
    assert quarantine["detail"].to_list() == ["QNAM AESTDTC_DT is the name of a column the loader derives from AE.AESTDTC"]
    ae = table(db, "raw.ae").sort("_ROW")
    assert ae["AESTDTC_DT"].cast(pl.String).to_list() == ["2026-01-10", "2026-01-01"]  # typing's own, untouched
    assert ae["_K0"].to_list() == ["k", None]


def test_supp_values_for_one_record_spelled_apart_are_duplicates(make_export, tmp_path: Path, protocol: Protocol) -> None:
    # IDVARVAL '1' and '1.0' (or '01' in a second SUPP file) are one AESEQ: both were counted as loaded while
    # the pivot kept one value, silently; so were two subject-level values told apart by a stray IDVARVAL
    folder = make_export(lb=LB)
    write_csv(folder / "suppae.csv", supp_rows(
        ("S-001", "AESEQ", "1", "AEDLT", "Y"),
        ("S-001", "AESEQ", "1.0", "AEDLT", "N"),
        ("S-002", "", "x", "AESUBJ", "first"),
        ("S-002", "", "y", "AESUBJ", "second"),
    ))
    write_csv(folder / "supplbch.csv", supp_rows(("S-001", "LBSEQ", "1", "LBQ", "a"), rdomain="LB"))
    write_csv(folder / "supplbhe.csv", supp_rows(("S-001", "LBSEQ", "01", "LBQ", "b"), rdomain="LB"))
    result, db = load(folder, tmp_path, protocol)
    assert (result.domains["suppae"].rows_loaded, result.domains["suppae"].reasons) == (2, {"duplicate_key": 2})
    assert (result.domains["supplb"].rows_loaded, result.domains["supplb"].reasons) == (1, {"duplicate_key": 1})
    quarantine = table(db, "meta.quarantine").sort("file", "row_number")
    assert quarantine.select("file", "row_number", "detail").rows() == [
        ("suppae.csv", 2, "duplicate QNAM AEDLT for the same record (AESEQ=1.0) with another value: QVAL 'N' here, "
                          "'Y' kept (the first)"),
        ("suppae.csv", 4, "duplicate QNAM AESUBJ for the same subject with another value: QVAL 'second' here, "
                          "'first' kept (the first)"),
        ("supplbhe.csv", 1, "duplicate QNAM LBQ for the same record (LBSEQ=01) with another value: QVAL 'b' here, "
                            "'a' kept (the first)"),
    ]
    ae = table(db, "raw.ae").sort("_ROW")
    assert ae.select("AEDLT", "AESUBJ").rows() == [("Y", None), (None, "first")]
    assert table(db, "raw.lb").sort("_ROW")["LBQ"].to_list() == ["a", None, None]


def test_a_records_own_supp_value_wins_over_its_groups(make_export, tmp_path: Path, protocol: Protocol) -> None:
    # AEGRPID sorted before AESEQ, so a group's AEDLT N replaced the record's own AEDLT Y (the investigator's
    # DLT flag), both counted as loaded
    ae = [dict(AE[0], AEGRPID="G1"), dict(AE[0], AESEQ="2", AEGRPID="G1"), dict(AE[1], AEGRPID="")]
    folder = make_export(ae=ae)
    write_csv(folder / "suppae.csv", supp_rows(
        ("S-001", "AEGRPID", "G1", "AEDLT", "N"),
        ("S-001", "AESEQ", "1", "AEDLT", "Y"),
    ))
    result, db = load(folder, tmp_path, protocol)
    assert result.domains["suppae"].rows_loaded == 2
    assert table(db, "raw.ae").sort("_ROW")["AEDLT"].to_list() == ["Y", "N", None]


def test_a_wider_supp_value_that_fills_no_record_is_a_clash(make_export, tmp_path: Path, protocol: Protocol) -> None:
    # a subject-level value whose every record has its own was counted as loaded, though in no record
    folder = make_export()
    write_csv(folder / "suppae.csv", supp_rows(
        ("S-002", "AESEQ", "1", "AEDLT", "Y"),
        ("S-002", "", "", "AEDLT", "N"),
        ("S-001", "", "", "AEDLT", "N"),
    ))
    result, db = load(folder, tmp_path, protocol)
    assert (result.domains["suppae"].rows_loaded, result.domains["suppae"].reasons) == (2, {"supp_clash": 1})
    assert table(db, "meta.quarantine").select("row_number", "detail").rows() == [
        (2, "the subject-level value of AEDLT fills no AE record of subject S-002: each has a value of its own "
            "from a SUPP record of fewer records")]
    assert table(db, "raw.ae").sort("_ROW")["AEDLT"].to_list() == ["N", "Y"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[columns.ae]\n"Grade" = 5\n', r"\[columns\.ae\] maps 'Grade' to 5: a target must be a column name"),
        ('[columns."*"]\n"Site" = ["SITEID"]\n', r"\[columns\.\*\] maps 'Site' to \['SITEID'\]"),
        ('[columns.ae.Grade]\nx = "AETOXGR"\n', r"\[columns\.ae\] maps 'Grade' to \{'x': 'AETOXGR'\}"),
        ('[columns.ae]\n"AEDECOD" = " "\n', r"\[columns\.ae\] maps 'AEDECOD' to ' '"),
        ('[column.ae]\n"Grade" = "AETOXGR"\n', r"unknown key\(s\) 'column' in the mapping file"),
        ('[files]\nadverse_events = ""\n', r"key 'files' must map file name stems to domain names"),
        # these became columns of that name and left every AE ungraded, without a word
        ('[columns.ae]\n"Grade" = "AE TOXGR"\n', r"\[columns\.ae\] maps 'Grade' to 'AE TOXGR', which is not a variable name"),
        ('[columns.ae]\n"Grade" = "1AETOX"\n', r"\[columns\.ae\] maps 'Grade' to '1AETOX', which is not a variable name"),
        ('[columns.ae]\n"Grade" = "AETÖXGR"\n', r"\[columns\.ae\] maps 'Grade' to 'AETÖXGR', which is not a variable name"),
        ('[files]\nadverse_events = "ae.csv"\n', r"\[files\] maps 'adverse_events' to 'ae\.csv', which is not a dataset name"),
    ],
    ids=["number", "list", "nested-table", "empty-name", "misspelt-table", "empty-domain", "space", "digit-first",
         "non-ascii", "file-name-as-domain"],
)
def test_a_mapping_file_of_the_wrong_shape_is_bad_input(make_export, tmp_path: Path, protocol: Protocol,
                                                        text: str, expected: str) -> None:
    # a target that is no text stopped the load with an internal error (AttributeError); an empty one gave a
    # column without a name; a misspelt table was ignored, its renames silently not made
    (tmp_path / "map.toml").write_text(text)
    with pytest.raises(BadInputError, match=r"map\.toml: " + expected):
        load(make_export(), tmp_path, protocol, mapping=tmp_path / "map.toml")


def test_a_split_datasets_mapping_table_applies_to_its_files(make_export, tmp_path: Path, protocol: Protocol) -> None:
    # [columns.lbch] was ignored (only [columns.lb] was looked up for lbch.csv), silently
    folder = make_export(skip=("lb",))
    write_csv(folder / "lbch.csv", [{("Test Code" if k == "LBTESTCD" else k): v for k, v in r.items()} for r in LB[2:]])
    write_csv(folder / "lbhe.csv", [{("Code" if k == "LBTESTCD" else k): v for k, v in r.items()} for r in LB[:2]])
    (tmp_path / "map.toml").write_text('[columns.lb]\n"Code" = "LBTESTCD"\n[columns.lbch]\n"Test Code" = "LBTESTCD"\n')
    _, db = load(folder, tmp_path, protocol, mapping=tmp_path / "map.toml")
    raw = table(db, "raw.lb").sort("_FILE", "_ROW")
    assert raw.select("_FILE", "LBTESTCD").rows() == [("lbch.csv", "ALT"), ("lbhe.csv", "NEUT"), ("lbhe.csv", "NEUT")]


def test_sdtm_durations_are_text(make_export, tmp_path: Path, protocol: Protocol) -> None:
    # --DUR, --STINT and --ENINT were typed as numbers: an SDTM AEDUR 'P3D' loaded as NULL (the text moved to
    # AEDUR_TEXT) and every one was listed as value_not_numeric
    folder = make_export(ae=[dict(r, AEDUR="P3D", AESTINT="-P1D", AEENINT="PT12H") for r in AE])
    _, db = load(folder, tmp_path, protocol)
    raw = table(db, "raw.ae")
    assert raw.select("AEDUR", "AESTINT", "AEENINT").unique().rows() == [("P3D", "-P1D", "PT12H")]
    assert not any(c.endswith("_TEXT") for c in raw.columns)


def test_a_supp_qnam_that_is_no_variable_name_is_quarantined(make_export, tmp_path: Path, protocol: Protocol) -> None:
    # QNAM 'AE DLT' became a raw.ae column of its own: the investigator's Y never reached AEDLT, and nothing said so
    folder = make_export()
    write_csv(folder / "suppae.csv", supp_rows(("S-001", "AESEQ", "1", "AE DLT", "Y"), ("S-001", "AESEQ", "1", "AEDLT", "N")))
    result, db = load(folder, tmp_path, protocol)
    assert result.domains["suppae"].reasons == {"invalid_qnam": 1}
    assert table(db, "meta.quarantine")["detail"].to_list() == [
        "QNAM 'AE DLT' is not a variable name (letters, digits and _, not starting with a digit)"]
    assert "AE DLT" not in table(db, "raw.ae").columns


def test_an_orphan_supp_row_says_why_even_without_idvarval(make_export, tmp_path: Path, protocol: Protocol) -> None:
    # the detail was null for a subject-level orphan and for an empty IDVARVAL (format() of a null)
    folder = make_export()
    write_csv(folder / "suppae.csv", supp_rows(("S-001", "AESEQ", "", "AEDLT", "Y"), ("S-009", "", "", "AEDLT", "Y")))
    result, db = load(folder, tmp_path, protocol)
    assert result.domains["suppae"].reasons == {"orphan_supp": 2}
    assert sorted(table(db, "meta.quarantine")["detail"].to_list()) == [
        "IDVARVAL is empty, so IDVAR AESEQ names no record of subject S-001",
        "no AE record of subject S-009 (a subject-level qualifier)",
    ]


def test_supp_records_that_attach_to_nothing_are_named_in_a_load_warning(
        make_export, tmp_path: Path, protocol: Protocol) -> None:
    # an IDVARVAL off by a constant sent every SUPPAE record to orphan_supp: every investigator DLT flag was lost
    # and the load said nothing (the mostly-quarantined warning skipped SUPP datasets)
    folder = make_export()
    write_csv(folder / "suppae.csv", supp_rows(("S-001", "AESEQ", "1001", "AEDLT", "Y"), ("S-002", "AESEQ", "1001", "AEDLT", "N")))
    result, _ = load(folder, tmp_path, protocol)
    assert result.domains["suppae"].reasons == {"orphan_supp": 2}
    supp_notes = [n for n in result.warnings if n.startswith("SUPPAE:")]
    assert len(supp_notes) == 1
    assert supp_notes[0].startswith("SUPPAE: 2 of its 2 record(s) were quarantined (orphan_supp 2, e.g. ")
    assert supp_notes[0].endswith("none of its qualifiers are on AE")


def test_a_few_orphan_supp_records_give_no_warning(make_export, tmp_path: Path, protocol: Protocol) -> None:
    folder = make_export()
    write_csv(folder / "suppae.csv", supp_rows(("S-001", "AESEQ", "1", "AEDLT", "Y"), ("S-002", "AESEQ", "1", "AEDLT", "N"),
                                               ("S-002", "AESEQ", "7", "AEDLT", "N")))
    result, _ = load(folder, tmp_path, protocol)
    assert result.domains["suppae"].reasons == {"orphan_supp": 1}
    assert not [n for n in result.warnings if n.startswith("SUPPAE")]


def test_a_mapping_file_saved_with_a_bom_is_read(make_export, tmp_path: Path, protocol: Protocol) -> None:
    # Windows Notepad's UTF-8 BOM was refused as 'Invalid statement (at line 1, column 1)'
    folder = make_export(ae=[{("Grade" if k == "AETOXGR" else k): v for k, v in r.items()} for r in AE])
    (tmp_path / "map.toml").write_bytes('[columns.ae]\n"Grade" = "AETOXGR"\n'.encode("utf-8-sig"))
    _, db = load(folder, tmp_path, protocol, mapping=tmp_path / "map.toml")
    assert sorted(table(db, "raw.ae")["AETOXGR"].to_list()) == sorted(r["AETOXGR"] for r in AE)


def test_a_supp_duplicate_with_another_value_says_which_value_was_kept(
        make_export, tmp_path: Path, protocol: Protocol) -> None:
    # AEDLT N, then Y for the same AE: quarantined with the same words as an identical copy, so the data manager
    # could not tell that the investigator's DLT flag is in doubt
    folder = make_export()
    write_csv(folder / "suppae.csv", supp_rows(("S-001", "AESEQ", "1", "AEDLT", "N"), ("S-001", "AESEQ", "1", "AEDLT", "Y"),
                                               ("S-001", "AESEQ", "1", "AEDLT", "N")))
    result, db = load(folder, tmp_path, protocol)
    assert result.domains["suppae"].reasons == {"duplicate_key": 2}
    assert table(db, "meta.quarantine").sort("row_number").select("row_number", "detail").rows() == [
        (2, "duplicate QNAM AEDLT for the same record (AESEQ=1) with another value: QVAL 'Y' here, 'N' kept (the first)"),
        (3, "duplicate QNAM AEDLT for the same record (AESEQ=1) (first kept)"),
    ]
    assert table(db, "raw.ae").filter(pl.col("USUBJID") == "S-001")["AEDLT"].to_list() == ["N"]


def test_a_supp_record_of_another_domain_is_not_attached(make_export, tmp_path: Path, protocol: Protocol) -> None:
    # RDOMAIN 'LB' in suppae.csv: the lab record's qualifier was attached to the AE with the same sequence number
    folder = make_export()
    write_csv(folder / "suppae.csv", [*supp_rows(("S-001", "AESEQ", "1", "AEDLT", "Y"), rdomain="LB"),
                                      *supp_rows(("S-002", "AESEQ", "1", "AEDLT", "N"), rdomain=" ae")])
    result, db = load(folder, tmp_path, protocol)
    assert result.domains["suppae"].reasons == {"wrong_rdomain": 1}
    q = table(db, "meta.quarantine")
    assert q.select("row_number", "reason", "detail").rows() == [
        (1, "wrong_rdomain", "RDOMAIN 'LB' is not AE, the parent domain of SUPPAE: a qualifier of another domain's record")]
    ae = table(db, "raw.ae").sort("USUBJID")
    assert ae["AEDLT"].to_list() == [None, "N"]


def test_mapping_source_names_are_trimmed_as_header_names_are(make_export, tmp_path: Path, protocol: Protocol) -> None:
    # "Verbatim " (a trailing space in the mapping) renamed nothing: header names are trimmed when read
    folder = make_export(ae=[{("Verbatim" if k == "AETERM" else k): v for k, v in r.items()} for r in AE])
    (tmp_path / "map.toml").write_text('[columns.ae]\n"Verbatim " = "AETERM"\n')
    result, db = load(folder, tmp_path, protocol, mapping=tmp_path / "map.toml")
    assert sorted(table(db, "raw.ae")["AETERM"].to_list()) == sorted(r["AETERM"] for r in AE)
    assert not [w for w in result.warnings if "renamed nothing" in w]


@pytest.mark.parametrize("suffix", [".csv", ".xpt"])
def test_a_suppqual_dataset_is_merged_into_each_records_parent(make_export, tmp_path: Path, protocol: Protocol,
                                                               suffix: str) -> None:
    # SDTM 3.1.1's one SUPPQUAL for every domain: taken for a domain 'QUAL', all of its records were quarantined
    # (the investigator's AEDLT with them)
    folder = make_export(lb=LB)
    rows = [*supp_rows(("S-001", "AESEQ", "1", "AEDLT", "Y")), *supp_rows(("S-001", "LBSEQ", "2", "LBQ", "b"), rdomain="LB"),
            *supp_rows(("S-001", "LBSEQ", "1", "LBQ", "a"), rdomain=""), *supp_rows(("S-002", "CMSEQ", "1", "CMQ", "c"), rdomain="CM")]
    if suffix == ".csv":
        write_csv(folder / "suppqual.csv", rows)
    else:
        pyreadstat.write_xport(pl.DataFrame(rows).to_pandas(), str(folder / "suppqual.xpt"), table_name="SUPPQUAL")
    result, db = load(folder, tmp_path, protocol)
    counts = {k: (v.rows_read, v.rows_loaded, v.reasons) for k, v in result.domains.items() if k.startswith("supp")}
    assert counts == {"suppae": (1, 1, {}), "supplb": (1, 1, {}), "suppcm": (1, 0, {"orphan_supp": 1}),
                      "suppqual": (1, 0, {"missing_required": 1})}
    assert all(v.files == [f"suppqual{suffix}"] for k, v in result.domains.items() if k.startswith("supp"))
    assert table(db, "raw.ae").sort("USUBJID")["AEDLT"].to_list() == ["Y", None]
    assert table(db, "raw.lb").sort("_ROW")["LBQ"].to_list() == [None, "b", None]
    q = table(db, "meta.quarantine").sort("row_number")
    assert q.select("domain", "file", "row_number", "reason").rows() == [
        ("SUPPQUAL", f"suppqual{suffix}", 3, "missing_required"), ("SUPPCM", f"suppqual{suffix}", 4, "orphan_supp")]
