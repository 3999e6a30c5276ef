"""Dates that are not ISO 8601 text as the contract asks: SAS numeric dates, and date-times with a
space for the 'T'. Real CSV, XPT, XLSX and Parquet files in tmp_path, no mocks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pyreadstat
import pytest
from etl_sample_export import AE, BASE_TABLES, EX, LB, Table, csv_text
from etl_sample_export import load_checked as load
from etl_sample_export import read_table as table

from etl.dates import SAS_EPOCH
from safetyboard.errors import BadInputError
from safetyboard.protocol import Protocol


def export(tmp_path: Path, **replaced: Table) -> Path:
    """The sample export as CSV, without the files of the `replaced` domains (the test writes them)."""
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    for domain, rows in BASE_TABLES.items():
        if domain not in replaced:
            (folder / f"{domain}.csv").write_text(csv_text(rows), encoding="utf-8")
    return folder


def write_xpt(path: Path, frame: pl.DataFrame, formats: dict[str, str] | None = None) -> None:
    pyreadstat.write_xport(frame.to_pandas(), str(path), table_name=path.stem.upper(), file_format_version=5,
                           variable_format=formats)


def sas_days(day: dt.date) -> float:
    return float((day - SAS_EPOCH.date()).days)


def sas_seconds(moment: dt.datetime) -> float:
    return (moment - SAS_EPOCH).total_seconds()


def ae_frame(**columns: list[object]) -> pl.DataFrame:
    return pl.DataFrame(AE).with_columns(pl.col("AESEQ").cast(pl.Float64), *[pl.Series(k, v) for k, v in columns.items()])


@pytest.mark.parametrize(
    ("column", "values", "shown"),
    [
        ("AESTDTC", [sas_days(dt.date(2026, 1, 10)), sas_days(dt.date(2026, 1, 13))], "24116 days after 1960-01-01 is 2026-01-10"),
        ("AEENDTC", [sas_seconds(dt.datetime(2026, 1, 20, 8, 30)), None],
         "seconds after 1960-01-01T00:00:00 is 2026-01-20T08:30:00"),
    ],
    ids=["days", "seconds"],
)
def test_sas_numeric_dates_without_a_date_format_stop_the_load_naming_file_and_column(
    tmp_path: Path, protocol: Protocol, column: str, values: list[float | None], shown: str
) -> None:
    folder = export(tmp_path)
    _, db = load(folder, tmp_path, protocol)
    before = db.read_bytes()
    (folder / "ae.csv").unlink()
    write_xpt(folder / "ae.xpt", ae_frame(**{column: values}))  # numeric, no SAS date format
    with pytest.raises(BadInputError) as raised:
        load(folder, tmp_path, protocol)
    message = str(raised.value)
    # was quarantine/flag details "'24116' is not a valid ISO 8601 date" with no hint of why
    assert message.startswith(f"ae.xpt: column {column} holds SAS numeric dates, not ISO 8601 text")
    assert "row 1" in message and shown in message
    assert "E8601DA." in message  # how to export it instead
    assert db.read_bytes() == before  # the current cut is untouched


def test_sas_numeric_dates_under_a_mapped_name_are_named_by_both_names(tmp_path: Path, protocol: Protocol) -> None:
    folder = export(tmp_path, ae=AE)
    write_xpt(folder / "ae.xpt", ae_frame(ONSET=[sas_days(dt.date(2026, 1, 10)), 24119.0]).drop("AESTDTC"))
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[columns.ae]\n"ONSET" = "AESTDTC"\n', encoding="utf-8")
    with pytest.raises(BadInputError, match=r"^ae\.xpt: column ONSET \(AESTDTC by the column mapping\) holds SAS numeric dates"):
        load(folder, tmp_path, protocol, mapping=mapping)


@pytest.mark.parametrize(
    ("start_format", "end_format"),
    [("DATE9.", "DATETIME20."), ("E8601DA.", "E8601DT."), ("YYMMDD10.", "IS8601DT.")],
)
def test_sas_numeric_dates_with_a_date_format_are_read_exactly(
    tmp_path: Path, protocol: Protocol, start_format: str, end_format: str
) -> None:
    folder = export(tmp_path, ae=AE)
    start = [sas_days(dt.date(2026, 1, 10)), sas_days(dt.date(2026, 1, 13))]
    end = [sas_seconds(dt.datetime(2026, 1, 20, 8, 30)), None]
    write_xpt(folder / "ae.xpt", ae_frame(AESTDTC=start, AEENDTC=end), {"AESTDTC": start_format, "AEENDTC": end_format})
    result, db = load(folder, tmp_path, protocol)
    assert result.domains["ae"].rows_quarantined == 0
    ae = table(db, "raw.ae").sort("_ROW")
    assert ae["AESTDTC"].to_list() == ["2026-01-10", "2026-01-13"]
    assert ae["AEENDTC"].to_list() == ["2026-01-20T08:30:00", None]
    assert ae["AESTDTC_DT"].to_list() == [dt.date(2026, 1, 10), dt.date(2026, 1, 13)]
    assert ae["AESTDTC_DTF"].to_list() == [None, None]


@pytest.mark.parametrize("value", ["24111", "24111.0", "46027"])
def test_a_number_as_date_text_is_quarantined_with_a_hint(tmp_path: Path, protocol: Protocol, value: str) -> None:
    folder = export(tmp_path, lb=LB)
    (folder / "lb.csv").write_text(csv_text([dict(LB[0], LBDTC=value), *LB[1:]]), encoding="utf-8")
    _, db = load(folder, tmp_path, protocol)
    q = table(db, "meta.quarantine")
    assert q.select("file", "row_number", "reason").rows() == [("lb.csv", 1, "invalid_date")]
    # was "LBDTC '24111' is not a valid ISO 8601 date" alone
    assert q["detail"][0].startswith(f"LBDTC '{value}' is not a valid ISO 8601 date: it is a number")
    assert "SAS" in q["detail"][0] and "Excel" in q["detail"][0]


SPACE_LB = [dict(LB[0], LBDTC="2026-01-05 08:30"), dict(LB[1], LBDTC="2026-01-19 08:30:15"), LB[2]]
SPACE_AE = [dict(AE[0], AESTDTC="2026-01-10 14:00", AEENDTC="2026-01-20 00:00:00"), AE[1]]


def write_table(path: Path, rows: Table) -> None:
    frame = pl.DataFrame(rows)
    if path.suffix == ".csv":
        path.write_text(csv_text(rows), encoding="utf-8")
    elif path.suffix == ".xlsx":
        frame.write_excel(path)  # text cells, as a site types them
    else:
        frame.write_parquet(path)  # string columns


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_space_separated_date_times_load_the_same_in_every_format(tmp_path: Path, protocol: Protocol, suffix: str) -> None:
    """ISO 8601 separates date and time with 'T'; '2026-01-05 08:30' (SQL, Excel, pandas) names the day
    as exactly, so it is a date-time with its date kept, in every format (XLSX turned it into ISO
    text and loaded it; CSV and Parquet quarantined the lab rows as invalid_date)."""
    folder = export(tmp_path, lb=SPACE_LB, ae=SPACE_AE)
    write_table(folder / f"lb{suffix}", SPACE_LB)
    write_table(folder / f"ae{suffix}", SPACE_AE)
    result, db = load(folder, tmp_path, protocol)
    assert (result.domains["lb"].rows_quarantined, result.domains["ae"].rows_quarantined) == (0, 0)
    lb = table(db, "raw.lb").sort("_ROW")
    assert lb["LBDTC_DT"].to_list() == [dt.date(2026, 1, 5), dt.date(2026, 1, 19), dt.date(2026, 1, 12)]
    assert lb["LBDTC_DTF"].to_list() == [None, None, None]
    ae = table(db, "raw.ae").sort("_ROW")
    assert ae["AESTDTC_DT"].to_list() == [dt.date(2026, 1, 10), dt.date(2026, 1, 1)]
    assert ae["AESTDTC_DTF"].to_list() == [None, "D"]  # not 'X' (invalid, date unknown)
    assert ae["AEENDTC_DT"].to_list() == [dt.date(2026, 1, 20), None]
    # the text as written; a workbook cell 'YYYY-MM-DD HH:MM:SS' cannot be told from a date cell
    # (the engine prints date cells so) and is written as ISO 8601 like one
    if suffix == ".xlsx":
        assert lb["LBDTC"].to_list() == ["2026-01-05 08:30", "2026-01-19T08:30:15", "2026-01-12"]
        assert ae["AEENDTC"].to_list() == ["2026-01-20", None]
    else:
        assert lb["LBDTC"].to_list() == ["2026-01-05 08:30", "2026-01-19 08:30:15", "2026-01-12"]
        assert ae["AEENDTC"].to_list() == ["2026-01-20 00:00:00", None]


@pytest.mark.parametrize("end", [False, True])
def test_dates_typed_row_by_row_are_the_general_path_on_every_row(end: bool) -> None:
    # the loader types a column's complete YYYY-MM-DD dates on the fast path and only its other rows on the
    # general one (etl.dates.parse_iso_date_columns): row for row the result must be the general path's
    from etl.dates import parse_iso_date, parse_iso_date_columns

    values = ["2026-01-05", "2026-01", "2026", "2026---05", "2026-02-30", "2026-01-05T10:30", " 2026-01-05 ", "",
              None, "abc", "2026-13", "2026-01-05T25:00", "2026-01-5", "20260105", "2025-12-31T23:59:59Z",
              "2026-02-29", "2024-02-29", "2026-04"]
    frame = pl.DataFrame({"AESTDTC": values * 50})
    general = frame.select(*(e.alias(n) for e, n in zip(parse_iso_date("AESTDTC", end=end), ("d", "f", "i"), strict=True)))
    mixed = parse_iso_date_columns(frame, "AESTDTC", end=end)
    for name, series in zip(("d", "f", "i"), mixed, strict=True):
        assert series.to_list() == general[name].to_list(), name


def test_year_0000_is_no_date_and_never_stops_the_load(tmp_path: Path, protocol: Protocol) -> None:
    # EDC systems write 0000-01-01 for an unknown date; ISO 8601 reads it as 1 BC, which Python's date cannot hold:
    # as a first dose date it made the load exit 1 ('year 0 is out of range'), elsewhere it loaded as a date
    folder = export(tmp_path, ex=EX, ae=AE)
    (folder / "ex.csv").write_text(csv_text([dict(EX[0], EXSTDTC="0000-01-01"), *EX[1:]]), encoding="utf-8")
    (folder / "ae.csv").write_text(csv_text([dict(AE[0], AEENDTC="0000-01-01"), AE[1]]), encoding="utf-8")
    _, db = load(folder, tmp_path, protocol)
    q = table(db, "meta.quarantine").filter(pl.col("file") == "ex.csv")
    assert q.select("row_number", "reason").rows() == [(1, "invalid_date")]
    assert "year 0000 is no calendar year" in q["detail"][0]
    ae = table(db, "raw.ae").sort("USUBJID")
    assert ae["AEENDTC"].to_list()[0] == "0000-01-01"  # the text is kept as written
    assert ae["AEENDTC_DT"].to_list()[0] is None
    assert ae["AEENDTC_DTF"].to_list()[0] == "X"
    assert table(db, "adam.adsl").sort("USUBJID")["TRTSDT"].to_list()[0] == dt.date(2026, 1, 5)  # the infusion's date
