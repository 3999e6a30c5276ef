"""SAS XPT, XLSX and Parquet files whose values the loader lost, changed or crashed on. Real files in tmp_path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyreadstat
import pytest
from etl_sample_export import BASE_TABLES, LB, csv_text
from etl_sample_export import load_checked as load
from etl_sample_export import read_table as table

from safetyboard.errors import BadInputError
from safetyboard.protocol import Protocol


def export_without(tmp_path: Path, domain: str) -> Path:
    """The sample export as CSV without `domain`'s file (the test writes it in another format)."""
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    for d, rows in BASE_TABLES.items():
        if d != domain:
            (folder / f"{d}.csv").write_text(csv_text(rows), encoding="utf-8")
    return folder


def lb_frame(**columns: list) -> pl.DataFrame:
    return pl.DataFrame(LB).with_columns(pl.Series(name, values) for name, values in columns.items())


@pytest.mark.parametrize("suffix", [".xpt", ".parquet"])
def test_numbers_beyond_int64_and_infinities_are_not_nulled(tmp_path: Path, protocol: Protocol, suffix: str) -> None:
    # a whole float was printed through Int64: 1e20 and inf did not fit and became NULL, silently (the
    # row loaded without its result)
    lb = lb_frame(LBSEQ=[1.0, 2.0, 1.0], LBSTRESN=[1e20, float("inf"), 30.0], LBSTNRHI=[7.5, 7.5, -2.0**64])
    folder = export_without(tmp_path, "lb")
    if suffix == ".xpt":
        pyreadstat.write_xport(lb.to_pandas(), str(folder / "lb.xpt"), table_name="LB", file_format_version=5)
    else:
        lb.write_parquet(folder / "lb.parquet")
    _, db = load(folder, tmp_path, protocol)
    raw = table(db, "raw.lb").sort("_ROW")
    assert raw["_ROW"].to_list() == [1, 3]
    assert raw["LBSTRESN"].to_list() == [1e20, 30.0]
    assert raw["LBSTNRHI"].to_list() == [7.5, -2.0**64]
    quarantine = table(db, "meta.quarantine")
    assert quarantine.select("row_number", "reason", "detail").rows() == [(2, "non_numeric", "LBSTRESN 'inf' is not a number")]


def write_lb_workbook(path: Path, cell: Callable[..., bool] | None = None, options: dict | None = None,
                      sheets: dict[str, list[list]] | None = None) -> None:
    """LB on the first sheet (xlsxwriter); `cell(sheet, row, col, name, value)` may write a cell itself."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), options or {})
    sheet = book.add_worksheet("LB")
    header = list(LB[0])
    sheet.write_row(0, 0, header)
    for i, record in enumerate(LB, start=1):
        for j, name in enumerate(header):
            if cell is None or not cell(book, sheet, i, j, name, record[name]):
                sheet.write(i, j, record[name])
    for name, rows in (sheets or {}).items():
        other = book.add_worksheet(name)
        for i, row in enumerate(rows):
            other.write_row(i, 0, row)
    book.close()


def test_xlsx_error_cells_keep_their_text(tmp_path: Path, protocol: Protocol) -> None:
    # the engine gives an error cell no value: a #DIV/0! result loaded as a missing LBSTRESN, silently (a CSV
    # saved by Excel holds the text, which is quarantined)
    def cell(book, sheet, i, j, name, value) -> bool:
        if (i, name) in ((1, "LBSTRESN"), (2, "LBSTNRHI")):
            sheet.write_formula(i, j, "=1/0" if name == "LBSTRESN" else "=NA()", None,
                                "#DIV/0!" if name == "LBSTRESN" else "#N/A")
            return True
        return False

    folder = export_without(tmp_path, "lb")
    write_lb_workbook(folder / "lb.xlsx", cell)
    _, db = load(folder, tmp_path, protocol)
    quarantine = table(db, "meta.quarantine")
    assert quarantine.select("row_number", "reason", "detail").rows() == [
        (1, "non_numeric", "LBSTRESN '#DIV/0!' is not a number")]
    row = table(db, "raw.lb").filter(pl.col("_ROW") == 2).row(0, named=True)
    assert (row["LBSTNRHI"], row["LBSTNRHI_TEXT"]) == (None, "#N/A")


@pytest.mark.parametrize("date1904", [False, True], ids=["1900-dates", "1904-dates"])
def test_xlsx_time_only_cells_are_times_of_day(tmp_path: Path, protocol: Protocol, date1904: bool) -> None:
    # a time cell is a date-time on serial day 0: it loaded as '1899-12-31T08:30:00' (midnight as '1899-12-31')
    times = [dt.time(8, 30), dt.time(0, 0), dt.time(23, 59, 59, 500000)]

    def cell(book, sheet, i, j, name, value) -> bool:
        if name == "LBSTRESU":  # a column of the sheet holds the sample time instead
            sheet.write_datetime(i, j, times[i - 1], book.add_format({"num_format": "hh:mm:ss"}))
            return True
        if name == "LBDTC":
            sheet.write_datetime(i, j, dt.datetime(2026, 1, 4 + i), book.add_format({"num_format": "yyyy-mm-dd"}))
            return True
        return False

    folder = export_without(tmp_path, "lb")
    write_lb_workbook(folder / "lb.xlsx", cell, {"date_1904": date1904})
    _, db = load(folder, tmp_path, protocol)
    raw = table(db, "raw.lb").sort("_ROW")
    assert raw["LBSTRESU"].to_list() == ["08:30:00", "00:00:00", "23:59:59.5"]
    assert raw["LBDTC"].to_list() == ["2026-01-05", "2026-01-06", "2026-01-07"]


@pytest.mark.parametrize("writer", ["openpyxl", "polars"])
def test_xlsx_formulas_without_computed_values_stop_the_load(tmp_path: Path, protocol: Protocol, writer: str) -> None:
    # a workbook written by a program and never calculated: openpyxl stores no result (the cell loaded as
    # empty), xlsxwriter (Polars' write_excel) a 0 (LBSTRESN 0 for every row), both silently
    folder = export_without(tmp_path, "lb")
    if writer == "openpyxl":
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(list(LB[0]))
        for record in LB:
            sheet.append(list(record.values()))
        sheet["F2"] = "=E2*1"
        book.save(folder / "lb.xlsx")
        expected = r"1 formula cell\(s\) of the first sheet hold no computed value \(F2 =E2\*1\)"
    else:
        pl.DataFrame(LB).drop("LBSTRESN").write_excel(folder / "lb.xlsx", formulas={"LBSTRESN": "=[@LBORRES]*1"})
        expected = r"3 formula cell\(s\) of the first sheet hold no computed value \(J2 ="
    with pytest.raises(BadInputError, match=r"^lb\.xlsx: " + expected):
        load(folder, tmp_path, protocol)


def test_xlsx_formulas_with_computed_values_load_them(tmp_path: Path, protocol: Protocol) -> None:
    def cell(book, sheet, i, j, name, value) -> bool:
        if name == "LBSTRESN":
            sheet.write_formula(i, j, f"=E{i + 1}*1", None, float(value))
            return True
        return False

    folder = export_without(tmp_path, "lb")
    write_lb_workbook(folder / "lb.xlsx", cell)
    _, db = load(folder, tmp_path, protocol)
    assert table(db, "raw.lb").sort("_ROW")["LBSTRESN"].to_list() == [3.1, 0.9, 30.0]


@pytest.mark.parametrize(
    ("sheets", "hidden_first", "expected"),
    [
        ({"Haematology": [list(LB[0]), list(LB[0].values())]}, False,
         r"^lb\.xlsx: sheet 'Haematology' holds records too \(its header names LBDTC, LBORRES, LBSEQ, LBSTNRHI, \.\.\.\), "
         r"but only the first sheet \('LB'\)"),
        ({"Subjects": [["Usubjid ", "Note"], ["S-001", "x"]]}, False,
         r"^lb\.xlsx: sheet 'Subjects' holds records too \(its header names USUBJID\)"),
        ({"Data": [list(LB[0])]}, True, r"^lb\.xlsx: sheet 'Data' holds records too .* only the first sheet \('LB', which is hidden\)"),
    ],
    ids=["same-header", "usubjid", "hidden-first-sheet"],
)
def test_xlsx_records_on_a_later_sheet_stop_the_load(tmp_path: Path, protocol: Protocol, sheets: dict,
                                                     hidden_first: bool, expected: str) -> None:
    # only the first sheet is read: a second sheet of records was left out, its rows in no count
    folder = export_without(tmp_path, "lb")
    write_lb_workbook(folder / "lb.xlsx", sheets=sheets)
    if hidden_first:
        import openpyxl

        book = openpyxl.load_workbook(folder / "lb.xlsx")
        book.active = 1
        book["LB"].sheet_state = "hidden"
        book.save(folder / "lb.xlsx")
    with pytest.raises(BadInputError, match=expected):
        load(folder, tmp_path, protocol)


def test_xlsx_a_later_sheet_of_notes_is_not_records(tmp_path: Path, protocol: Protocol) -> None:
    folder = export_without(tmp_path, "lb")
    write_lb_workbook(folder / "lb.xlsx", sheets={"Notes": [["Exported from the EDC on 2026-02-01"], ["by the site"]]})
    result, _ = load(folder, tmp_path, protocol)
    assert result.domains["lb"].rows_loaded == 3


@pytest.mark.parametrize(
    ("name", "kind"),
    [("lbhe.sas7bdat", "a SAS dataset"), ("sv.xls", "an Excel 97-2003 workbook"), ("ds.xlsm", "a macro-enabled Excel workbook"),
     ("lbhe.csv.gz", "a compressed CSV file"), ("vs.json", "a JSON file")],
)
def test_a_data_file_in_a_format_the_loader_does_not_read_stops_the_load(
    tmp_path: Path, protocol: Protocol, name: str, kind: str
) -> None:
    # skipped like define.xml: lbhe.sas7bdat beside lbch.csv left haematology out of the cut, unsaid
    folder = export_without(tmp_path, "lb")
    (folder / "lbch.csv").write_text(csv_text(LB), encoding="utf-8")
    (folder / name).write_bytes(b"\x00" * 64)
    with pytest.raises(BadInputError, match=rf"{name}: is {kind}, a format the loader does not read"):
        load(folder, tmp_path, protocol)


@pytest.mark.parametrize("name", ["ds.xml", "lbhe.dat", "ae.csv.bak", "suppae.psv"])
def test_a_file_named_like_a_dataset_in_an_unknown_format_is_named_in_a_warning(
    tmp_path: Path, protocol: Protocol, name: str
) -> None:
    # ds.xml (Dataset-XML), lbhe.dat or a backup copy was skipped without a word: its records were not in the cut
    folder = export_without(tmp_path, "")
    (folder / name).write_text("USUBJID,DSSEQ\nS-001,1\n", encoding="utf-8")
    result, _ = load(folder, tmp_path, protocol)
    told = [w for w in result.warnings if w.startswith(f"{name} was not loaded: it is named like a dataset")]
    assert len(told) == 1 and "is no format the loader reads" in told[0]


@pytest.mark.parametrize(("name", "expected"), [
    # a required domain only in an unknown format: the missing-domain error names the file
    ("lb.dat", r"missing: LB .*in a subfolder: lb\.dat"),
    # a CSV under an XPT name was called "truncated: not a whole number of 80-byte XPT records"
    ("lb.xpt", r"lb\.xpt: is not a SAS transport \(XPT\) file"),
])
def test_lab_records_as_csv_under_another_name_stop_the_load_naming_the_file(
    tmp_path: Path, protocol: Protocol, name: str, expected: str
) -> None:
    folder = export_without(tmp_path, "lb")
    (folder / name).write_text(csv_text(LB), encoding="utf-8")
    with pytest.raises(BadInputError, match=expected):
        load(folder, tmp_path, protocol)


def test_a_sas_transport_file_named_xport_is_read_as_xpt(tmp_path: Path, protocol: Protocol) -> None:
    folder = export_without(tmp_path, "lb")
    frame = pl.DataFrame(LB).with_columns(pl.col("LBSEQ", "LBSTRESN", "LBSTNRLO", "LBSTNRHI").cast(pl.Float64))
    pyreadstat.write_xport(frame.to_pandas(), str(folder / "lb.xport"), table_name="LB", file_format_version=5)
    result, db = load(folder, tmp_path, protocol)
    assert result.domains["lb"].files == ["lb.xport"] and result.domains["lb"].rows_loaded == len(LB)
    assert table(db, "raw.lb").sort("_ROW")["LBSTRESN"].to_list() == [3.1, 0.9, 30.0]


def test_documents_and_a_whole_export_archive_beside_the_data_are_not_data(tmp_path: Path, protocol: Protocol) -> None:
    folder = export_without(tmp_path, "")
    # files not named like a dataset are documents whatever their format (an EDC's manifest, a data dictionary)
    for name in ("define.xml", "blankcrf.pdf", "export-2026-02-01.zip", "README.md", "_truth.json", ".DS_Store",
                 "manifest.json", "Data Dictionary.xls", "export_info.json.gz"):
        (folder / name).write_bytes(b"\x00")
    result, _ = load(folder, tmp_path, protocol)
    assert sorted(result.domains) == ["ae", "dm", "ex", "lb", "vs"]


def test_parquet_durations_and_unannotated_strings_are_text(tmp_path: Path, protocol: Protocol) -> None:
    # a Duration column stopped the load with Polars' cast error (a screenful of its expression); strings
    # written as plain BINARY (older Spark, Impala) did too
    import pyarrow as pa
    import pyarrow.parquet as pq

    lb = pl.DataFrame(LB).to_arrow()
    lb = lb.set_column(lb.column_names.index("LBTEST"), "LBTEST",
                       pa.array([b"Neutrophils", "Neutrophiles \u00e9".encode(), None], pa.binary()))
    lb = lb.append_column("LBELTM", pa.array([dt.timedelta(hours=1, minutes=30), None, dt.timedelta(days=2)],
                                             pa.duration("s")))
    folder = export_without(tmp_path, "lb")
    pq.write_table(lb, folder / "lb.parquet")
    _, db = load(folder, tmp_path, protocol)
    raw = table(db, "raw.lb").sort("_ROW")
    assert raw["LBTEST"].to_list() == ["Neutrophils", "Neutrophiles \u00e9", None]
    assert raw["LBELTM"].to_list() == ["PT1H30M", None, "P2D"]


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (lambda pa: pa.array([[1, 2], [], None]), r"^lb\.parquet: column EXTRA holds nested values \(List\(Int64\)\)"),
        (lambda pa: pa.array([{"a": 1}, {"a": 2}, None]), r"^lb\.parquet: column EXTRA holds nested values \(Struct"),
        (lambda pa: pa.array([b"ok", b"\xff\xfe", None], pa.binary()),
         r"^lb\.parquet: column EXTRA holds bytes that are not UTF-8 text \(row 2\)$"),
    ],
    ids=["list", "struct", "binary-not-utf8"],
)
def test_parquet_columns_without_one_text_per_cell_are_named(tmp_path: Path, protocol: Protocol,
                                                              column: Callable, expected: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = export_without(tmp_path, "lb")
    pq.write_table(pl.DataFrame(LB).to_arrow().append_column("EXTRA", column(pa)), folder / "lb.parquet")
    with pytest.raises(BadInputError, match=expected):
        load(folder, tmp_path, protocol)


@pytest.mark.parametrize("chunked", [False, True], ids=["whole", "chunked"])
def test_xpt_in_gb18030_is_not_read_as_cp1252(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunked: bool) -> None:
    # a Chinese site's SAS text: UTF-8 failed, cp1252 decoded it without complaint, and '恶心' loaded as '¶ñÐÄ'
    import etl.readers as readers

    terms = ["恶心呕吐", "高血压", "Fatigue"]
    placeholders = ["QQQQQQQQ", "ZZZZZZ", "Fatigue"]  # as many bytes as the GB18030 text
    df = pl.DataFrame({"USUBJID": ["S-001", "S-002", "S-003"], "AESEQ": [1.0, 1.0, 1.0], "AETERM": placeholders})
    path = tmp_path / "ae.xpt"
    pyreadstat.write_xport(df.to_pandas(), str(path), file_format_version=5, table_name="AE")
    data = path.read_bytes()
    for placeholder, term in zip(placeholders[:2], terms[:2], strict=True):
        data = data.replace(placeholder.encode(), term.encode("gb18030"))
    path.write_bytes(data)
    if chunked:
        monkeypatch.setattr(readers, "XPT_WHOLE_MAX_BYTES", 0)
    frame = pl.concat(list(readers.iter_batches(path, batch_rows=2)))
    assert frame["AETERM"].to_list() == terms
    assert readers.read_file(path).encoding == "gb18030"


def test_a_workbook_at_the_sheet_row_limit_stops_the_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         protocol: Protocol) -> None:
    # a lab CSV of more rows, opened and saved in Excel, keeps its first 1,048,576: the rest were missing from
    # the cut with nothing to say so (the limit is lowered here so that the sheet can be small)
    import etl.readers as readers

    folder = export_without(tmp_path, "lb")
    write_lb_workbook(folder / "lb.xlsx")
    load(folder, tmp_path / "below", protocol)
    monkeypatch.setattr(readers, "EXCEL_MAX_ROWS", len(LB) + 1)
    with pytest.raises(BadInputError, match=r"^lb\.xlsx: the first sheet fills all 4 rows a worksheet can hold"):
        load(folder, tmp_path, protocol)


def test_a_title_above_a_workbooks_header_is_named_as_such(tmp_path: Path, protocol: Protocol) -> None:
    # the message guessed a wrong CSV delimiter for a workbook (or gave no hint at all)
    import xlsxwriter

    folder = export_without(tmp_path, "lb")
    book = xlsxwriter.Workbook(str(folder / "lb.xlsx"))
    sheet = book.add_worksheet("LB")
    sheet.write(0, 0, "Listing 16.2.8 Laboratory results")
    sheet.write_row(2, 0, list(LB[0]))
    for i, record in enumerate(LB, start=3):
        sheet.write_row(i, 0, list(record.values()))
    book.close()
    with pytest.raises(BadInputError, match=r"^lb\.xlsx: required column\(s\) missing: USUBJID, LBSEQ, LBTESTCD \(the header "
                                            r"row holds only 'LISTING 16\.2\.8 LABORATORY RESULTS': is a title above"):
        load(folder, tmp_path, protocol)


@pytest.mark.parametrize("version", [5, 8])
@pytest.mark.parametrize("chunked", [False, True], ids=["whole", "chunked"])
def test_an_xpt_library_of_two_datasets_stops_the_load_naming_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: int, chunked: bool
) -> None:
    # SAS PROC COPY to an XPORT libname writes AE and SUPPAE into one file: pyreadstat read SUPPAE's headers and
    # records as AE rows (quarantined as non_numeric / unknown_subject, its qualifiers never reached AE)
    import etl.readers as readers

    ae = pl.DataFrame({"USUBJID": ["S-001", "S-002"], "AESEQ": [1.0, 1.0], "AETERM": ["Nausea", "Fatigue"]})
    supp = pl.DataFrame({"USUBJID": ["S-001"], "IDVAR": ["AESEQ"], "IDVARVAL": ["1"], "QNAM": ["AEDLT"], "QVAL": ["Y"]})
    first, second = tmp_path / "first.xpt", tmp_path / "second.xpt"
    pyreadstat.write_xport(ae.to_pandas(), str(first), table_name="AE", file_format_version=version)
    pyreadstat.write_xport(supp.to_pandas(), str(second), table_name="SUPPAE", file_format_version=version)
    path = tmp_path / "ae.xpt"
    path.write_bytes(first.read_bytes() + second.read_bytes()[3 * 80:])  # the second without its library header
    if chunked:
        monkeypatch.setattr(readers, "XPT_WHOLE_MAX_BYTES", 0)
    with pytest.raises(BadInputError, match=r"ae\.xpt: the SAS transport file holds 2 datasets \(AE, SUPPAE\)"):
        list(readers.iter_batches(path, batch_rows=2))
    assert readers.read_file(first).frame.height == 2  # one dataset: read as before


def test_parquet_booleans_are_sdtm_y_n_flags(tmp_path: Path, protocol: Protocol) -> None:
    # SDTM has no boolean type; a Parquet boolean AESER loaded as 'true'/'false', which no rule reads as serious
    folder = export_without(tmp_path, "ae")
    ae = pl.DataFrame(BASE_TABLES["ae"]).with_columns(pl.Series("AESER", [True, None]))
    ae.write_parquet(folder / "ae.parquet")
    _, db = load(folder, tmp_path, protocol)
    assert table(db, "raw.ae").sort("_ROW")["AESER"].to_list() == ["Y", None]


def test_archives_and_documents_named_like_a_dataset_are_not_warned_of(tmp_path: Path, protocol: Protocol) -> None:
    folder = export_without(tmp_path, "")
    for name in ("export.zip", "ae.pdf", "ex.sas", "lb.log"):
        (folder / name).write_bytes(b"\x00")
    result, _ = load(folder, tmp_path, protocol)
    assert not [w for w in result.warnings if "was not loaded" in w]
