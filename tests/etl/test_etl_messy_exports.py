"""Messy but plausible exports: line ends, encodings, odd values. Real files in tmp_path, no mocks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from etl_sample_export import AE, BASE_TABLES, LB, csv_text
from etl_sample_export import load_checked as load
from etl_sample_export import read_table as table

from safetyboard.cli import main
from safetyboard.errors import BadInputError
from safetyboard.protocol import Protocol


def export_with(tmp_path: Path, domain: str, data: bytes, name: str | None = None) -> Path:
    """The sample export as CSV, with `domain`'s file replaced by `data` (bytes as written)."""
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    for d, rows in BASE_TABLES.items():
        if d != domain:
            (folder / f"{d}.csv").write_text(csv_text(rows), encoding="utf-8")
    (folder / (name or f"{domain}.csv")).write_bytes(data)
    return folder


AE_TEXT = csv_text(AE)


@pytest.mark.parametrize(
    "data",
    [
        AE_TEXT.replace("\n", "\r").encode(),  # classic Mac / Excel "CSV (Macintosh)"
        AE_TEXT.encode("utf-16"),  # with a BOM: Excel's "Unicode text"
        AE_TEXT.encode("utf-16-le"),  # no BOM
        AE_TEXT.encode("utf-16-be"),
    ],
    ids=["cr-line-ends", "utf-16-bom", "utf-16-le", "utf-16-be"],
)
def test_line_ends_and_utf16_load_like_the_plain_file(tmp_path: Path, protocol: Protocol, data: bytes) -> None:
    _, db = load(export_with(tmp_path, "ae", data), tmp_path, protocol)
    ae = table(db, "raw.ae").sort("_ROW")
    assert ae["AETERM"].to_list() == ["Hypertension", "Nausea"]
    assert ae["AESTDTC"].to_list() == ["2026-01-10", "2026-01"]
    assert ae["_ROW"].to_list() == [1, 2]


def test_truncated_transcoded_file_is_named_as_in_the_export(tmp_path: Path, protocol: Protocol) -> None:
    data = (AE_TEXT + "S-001,2,Fièvre").encode("cp1252")  # cut off mid-row, and not UTF-8
    with pytest.raises(BadInputError, match=r"^ae\.csv: the file is truncated"):
        load(export_with(tmp_path, "ae", data), tmp_path, protocol)


def test_cr_line_ends_with_a_short_row_name_its_line(tmp_path: Path, protocol: Protocol) -> None:
    data = (AE_TEXT + "S-002,2,Fatigue\n").replace("\n", "\r").encode()
    result, db = load(export_with(tmp_path, "ae", data), tmp_path, protocol)
    q = table(db, "meta.quarantine")
    assert q.select("row_number", "reason").rows() == [(3, "malformed_row")]
    assert "line 4" in q["detail"][0]
    assert result.domains["ae"].rows_loaded == 2


def test_cli_exit_code_on_cr_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = export_with(tmp_path, "ae", AE_TEXT.replace("\n", "\r").encode())
    assert main(["load", str(folder), "--db", str(tmp_path / "c.duckdb"), "--no-checks", "--json"]) == 0


@pytest.mark.parametrize(
    ("value", "reason_detail"),
    [
        ("١٢", "is not a number"),  # Arabic-Indic digits: matched \d, then cast to null without a word
        ("1e999", "is not a number"),  # reads as infinity
    ],
)
def test_strict_numeric_that_does_not_read_as_a_number_is_quarantined(
    tmp_path: Path, protocol: Protocol, value: str, reason_detail: str
) -> None:
    lb = [dict(LB[0], LBSTRESN=value), *LB[1:]]
    _, db = load(export_with(tmp_path, "lb", csv_text(lb).encode()), tmp_path, protocol)
    q = table(db, "meta.quarantine")
    assert q.select("row_number", "reason").rows() == [(1, "non_numeric")]
    assert reason_detail in q["detail"][0]
    assert table(db, "raw.lb")["LBSTRESN"].null_count() == 0


@pytest.mark.parametrize(
    ("seq", "loaded", "detail"),
    [
        ("12345678901234567", 12345678901234567, None),  # beyond a double's 53 bits: kept exactly
        ("1.0", 1, None),
        ("99999999999999999999", None, "out of range"),  # was loaded with AESEQ NULL
        ("1e20", None, "out of range"),
    ],
)
def test_seq_values_are_exact_or_quarantined(
    tmp_path: Path, protocol: Protocol, seq: str, loaded: int | None, detail: str | None
) -> None:
    ae = [dict(AE[0], AESEQ=seq), *AE[1:]]
    _, db = load(export_with(tmp_path, "ae", csv_text(ae).encode()), tmp_path, protocol)
    raw = table(db, "raw.ae")
    assert raw["AESEQ"].null_count() == 0
    q = table(db, "meta.quarantine")
    if loaded is None:
        assert q.select("row_number", "reason").rows() == [(1, "non_numeric")]
        assert detail in q["detail"][0]
    else:
        assert q.height == 0
        assert raw.filter(pl.col("_ROW") == 1)["AESEQ"].to_list() == [loaded]


@pytest.mark.parametrize(("domain", "column"), [("ex", "EXDOSE"), ("ex", "EXSTDTC"), ("sv", "SVSTDTC")])
def test_a_column_the_derivations_need_is_a_required_column(
    tmp_path: Path, protocol: Protocol, capsys: pytest.CaptureFixture[str], domain: str, column: str
) -> None:
    sv = [{"USUBJID": "S-001", "VISITNUM": "101", "VISIT": "C1D1", "SVSTDTC": "2026-01-05"}]
    rows = [{k: v for k, v in r.items() if k != column} for r in ({"ex": BASE_TABLES["ex"], "sv": sv}[domain])]
    folder = export_with(tmp_path, domain, csv_text(rows).encode())
    db = tmp_path / "cuts" / "current.duckdb"
    code = main(["load", str(folder), "--db", str(db), "--no-checks"])
    assert code == 2  # was 1: a ColumnNotFoundError from the derivations
    assert f"{domain}.csv: required column(s) missing: {column}" in capsys.readouterr().err
    assert not db.exists()


def test_time_zone_aware_and_sub_second_parquet_datetimes_stay_valid_dates(tmp_path: Path, protocol: Protocol) -> None:
    # Spark writes timestamps adjusted to UTC: Polars reads them as Datetime(time_zone="UTC")
    lb = pl.DataFrame(LB).with_columns(
        pl.Series("LBDTC", [dt.datetime(2026, 1, 5, 23, 0), dt.datetime(2026, 1, 19, 8, 30, 7, 250000),
                            dt.datetime(2026, 1, 12)]).dt.replace_time_zone("UTC")
    )
    folder = export_with(tmp_path, "lb", b"", name="lb.csv")
    (folder / "lb.csv").unlink()
    lb.with_columns(pl.col("LBDTC").dt.convert_time_zone("Asia/Shanghai").alias("LBDTC")).write_parquet(folder / "lb.parquet")
    result, db = load(folder, tmp_path, protocol)
    assert result.domains["lb"].rows_quarantined == 0  # every row was invalid_date
    raw = table(db, "raw.lb").sort("_ROW")
    assert raw["LBDTC"].to_list() == ["2026-01-06T07:00:00+08:00", "2026-01-19T16:30:07.25+08:00", "2026-01-12T08:00:00+08:00"]
    assert raw["LBDTC_DT"].to_list() == [dt.date(2026, 1, 6), dt.date(2026, 1, 19), dt.date(2026, 1, 12)]


def test_db_path_naming_another_kind_of_file_is_not_replaced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = export_with(tmp_path, "ae", AE_TEXT.encode())
    notes = tmp_path / "notes.txt"
    notes.write_text("the data manager's notes\n")
    assert main(["load", str(folder), "--db", str(notes), "--no-checks"]) == 2  # was 0, the notes overwritten
    assert "not a DuckDB database" in capsys.readouterr().err
    assert notes.read_text() == "the data manager's notes\n"


def test_a_damaged_current_cut_is_kept_aside_not_lost(tmp_path: Path, protocol: Protocol) -> None:
    folder = export_with(tmp_path, "ae", AE_TEXT.encode())
    _, db = load(folder, tmp_path, protocol)
    damaged = db.read_bytes()[:20000]  # a cut cut short: still a DuckDB header, no readable cut
    db.write_bytes(damaged)
    load(folder, tmp_path, protocol)
    kept = list((db.parent / "current.cuts").glob("unreadable-*.duckdb"))
    assert [p.read_bytes() for p in kept] == [damaged]
    assert table(db, "raw.ae").height == 2


@pytest.mark.parametrize(
    ("start", "end", "start_dt", "end_dt"),
    [
        ("2026---15", "2026---20", dt.date(2026, 1, 1), dt.date(2026, 12, 31)),  # SDTMIG: month unknown, day known
        ("2026---32", "", None, None),  # no such day: still invalid
    ],
)
def test_sdtm_partial_date_with_unknown_month_has_year_precision(
    tmp_path: Path, protocol: Protocol, start: str, end: str, start_dt: dt.date | None, end_dt: dt.date | None
) -> None:
    ae = [dict(AE[0], AESTDTC=start, AEENDTC=end), *AE[1:]]
    _, db = load(export_with(tmp_path, "ae", csv_text(ae).encode()), tmp_path, protocol)
    row = table(db, "raw.ae").filter(pl.col("_ROW") == 1).row(0, named=True)
    assert row["AESTDTC"] == start
    assert (row["AESTDTC_DT"], row["AEENDTC_DT"]) == (start_dt, end_dt)
    assert row["AESTDTC_DTF"] == ("M" if start_dt else "X")  # was 'X' (invalid) for a valid SDTM date


def test_binary_file_named_csv_is_named_as_such(tmp_path: Path, protocol: Protocol) -> None:
    folder = export_with(tmp_path, "ae", b"", name="ae.csv")
    pl.DataFrame(AE).write_excel(folder / "ae.csv")  # a workbook saved under a .csv name
    with pytest.raises(BadInputError, match=r"^ae\.csv: is an XLSX \(ZIP\) file, not CSV text"):  # was 'cannot be decoded as cp1252'
        load(folder, tmp_path, protocol)


def test_xlsx_with_an_empty_first_sheet_says_so(tmp_path: Path, protocol: Protocol) -> None:
    import xlsxwriter

    folder = export_with(tmp_path, "ae", AE_TEXT.encode())
    book = xlsxwriter.Workbook(str(folder / "sv.xlsx"))
    book.add_worksheet("Notes")
    sheet = book.add_worksheet("SV")
    for j, value in enumerate(["USUBJID", "VISITNUM", "SVSTDTC"]):
        sheet.write(0, j, value)
    book.close()
    # was "cannot be read as XLSX (empty Excel sheet ... set `raise_if_empty=False`)"
    with pytest.raises(BadInputError, match=r"^sv\.xlsx: the first sheet is empty \(no header row\)$"):
        load(folder, tmp_path, protocol)


@pytest.mark.parametrize("marker", [" NA", "NA ", " N/A ", " . ", "NULL  "])
def test_a_missing_marker_with_blanks_around_it_is_missing_as_in_xlsx(tmp_path: Path, protocol: Protocol, marker: str) -> None:
    # Polars' CSV null_values match the exact text only; the XLSX/XPT/Parquet readers trim first: the same
    # cell must mean the same thing in every format (a padded 'NA' result was quarantined as non_numeric)
    lb = [dict(r) for r in LB]
    lb[0]["LBSTRESN"] = marker
    lb[0]["LBORRES"] = marker
    dm = [dict(r) for r in BASE_TABLES["dm"]]
    dm[0]["AGE"] = marker
    folder = export_with(tmp_path, "lb", csv_text(lb).encode())
    (folder / "dm.csv").write_text(csv_text(dm), encoding="utf-8")
    result, db = load(folder, tmp_path, protocol)
    assert result.domains["lb"].rows_quarantined == 0
    row = table(db, "raw.lb").sort("_ROW").row(0, named=True)
    assert row["LBSTRESN"] is None and row["LBORRES"] is None
    dm_row = table(db, "raw.dm").sort("_ROW").row(0, named=True)
    assert dm_row["AGE"] is None and "AGE_TEXT" not in dm_row


def test_a_repeated_header_line_is_quarantined_not_loaded_as_a_subject(tmp_path: Path, protocol: Protocol) -> None:
    # site exports joined one after another keep each site's header line: in DM it became a subject 'USUBJID'
    dm_text = csv_text(BASE_TABLES["dm"])
    header, first, rest = dm_text.split("\n", 2)
    folder = export_with(tmp_path, "dm", f"{header}\n{first}\n{header.lower()}\n{rest}".encode())
    ae_header, ae_rest = AE_TEXT.split("\n", 1)
    (folder / "ae.csv").write_text(f"{ae_header}\n{ae_rest}{ae_header}\n", encoding="utf-8")
    result, db = load(folder, tmp_path, protocol)
    assert result.domains["dm"].rows_read == len(BASE_TABLES["dm"]) + 1
    assert result.domains["dm"].rows_loaded == len(BASE_TABLES["dm"])
    assert "USUBJID" not in table(db, "raw.dm")["USUBJID"].to_list()
    assert "USUBJID" not in table(db, "adam.adsl")["USUBJID"].to_list()
    q = table(db, "meta.quarantine").filter(pl.col("reason") == "repeated_header").sort("domain")
    assert q.select("domain", "file", "row_number").rows() == [("ae", "ae.csv", len(AE) + 1), ("dm", "dm.csv", 2)]
    assert "repeats the header line" in q["detail"][0]


def test_a_result_without_its_test_code_or_a_dose_without_its_treatment_is_quarantined(
        tmp_path: Path, make_export, protocol: Protocol) -> None:
    # an LB row with no LBTESTCD grades nothing and an EX row with no EXTRT counts for no drug: both loaded
    # silently before (a dose lost from exposure without a word); an AE without AETERM stays (DLT review)
    from etl_sample_export import EX, VS

    lb, ex, vs, ae = ([dict(r) for r in t] for t in (LB, EX, VS, AE))
    lb[0]["LBTESTCD"] = ""
    ex[1]["EXTRT"] = " "
    vs[0]["VSTESTCD"] = ""
    ae[0]["AETERM"] = ""
    folder = make_export(lb=lb, ex=ex, vs=vs, ae=ae)
    result, db = load(folder, tmp_path, protocol)
    q = table(db, "meta.quarantine").filter(pl.col("reason") == "missing_required").sort("domain")
    assert q.select("domain", "row_number", "detail").rows() == [
        ("EX", 2, "EXTRT is empty"), ("LB", 1, "LBTESTCD is empty"), ("VS", 1, "VSTESTCD is empty")]
    assert result.domains["ae"].rows_quarantined == 0
    assert table(db, "raw.ae").height == len(AE)
