"""CSV rows with the wrong number of fields: quarantined as malformed_row, never padded or fatal."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from etl_sample_export import AE, LB, csv_text

from etl.csv_rows import find_ragged_rows, original_rows
from etl.loader import load_export
from etl.readers import iter_batches, read_csv
from safetyboard.errors import BadInputError
from safetyboard.protocol import Protocol

HEADER = "USUBJID,AESEQ,AETERM,AETOXGR,AESTDTC\n"


def _write(tmp_path: Path, body: str, name: str = "ae.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # (row, first line, last line, fields)
        ("S-1,1,Fatigue,1,2026-01-05\nS-1,2,Pain,back,2,2026-01-06\n", [(2, 3, 3, 6)]),  # unquoted comma: long row
        ("S-1,1,Fatigue,1,2026-01-05\nS-1,2,Nausea\n", [(2, 3, 3, 3)]),  # cut short
        ('S-1,1,"Pain, back",1,2026-01-05\nS-1,2,"Pain, ""sharp""",2\n', [(2, 3, 3, 4)]),  # quoted lines, one short
        # a quoted field over two lines is one record: the short record after it is row 2, line 4
        ('S-1,1,"Pain\nback",1,2026-01-05\nS-1,2,Nausea\n', [(2, 4, 4, 3)]),
        ("S-1,1,Fatigue,1,2026-01-05\n\n   \nS-1,2,Nausea,1,2026-01-06\n", []),  # blank lines are not ragged
        ("S-1,1,Fatigue,1,2026-01-05\r\nS-1,2,Nausea,1\r\n", [(2, 3, 3, 4)]),  # CRLF line ends
        # an export that quotes every field: cleared without a parse per line, the short row found
        ('"S-1","1","Pain, back","1","2026-01-05"\n"S-1","2","Nausea","1"\n"S-1","3","A ""B"", C","1","2026-01-06"\n'
         '"S-1","4","","1",""\n"S-1",5,,"1","2026-01-07"\n', [(2, 3, 3, 4)]),
        # quotes inside an unquoted field are plain characters (csv module and Polars alike): 6 fields
        ('S-1,1,Tube 5" x,y 6",1,2026-01-05\nS-1,2,Nausea,1,2026-01-06\n', [(1, 2, 2, 6)]),
    ],
)
def test_ragged_records_are_found_with_row_and_line(tmp_path: Path, body: str, expected: list[tuple[int, int, int, int]]) -> None:
    found = find_ragged_rows(_write(tmp_path, body), ",", 5)
    assert [(r.row, r.first_line, r.last_line, len(r.fields)) for r in found] == expected


def test_rows_after_a_removed_record_keep_their_numbers(tmp_path: Path) -> None:
    body = "".join(f"S-1,{i},T{i},1,2026-01-05\n" if i not in (2, 5, 6) else f"S-1,{i},short\n" for i in range(1, 9))
    ragged: list = []
    frame = pl.concat(list(iter_batches(_write(tmp_path, body), batch_rows=2, ragged=ragged)))
    assert [r.row for r in ragged] == [2, 5, 6]
    assert frame["_ROW"].to_list() == [1, 3, 4, 7, 8]
    assert frame["AESEQ"].to_list() == ["1", "3", "4", "7", "8"]  # the row number names the same record
    assert original_rows(pl.Series("_ROW", [1, 2, 3, 4, 5]), ragged).to_list() == [1, 3, 4, 7, 8]


def test_without_a_list_ragged_rows_are_bad_input_naming_the_row(tmp_path: Path) -> None:
    path = _write(tmp_path, "S-1,1,Fatigue,1,2026-01-05\nS-1,2,Pain,back,2,2026-01-06\n")
    with pytest.raises(BadInputError, match=r"ae\.csv: row 2 \(line 3\) has 6 fields, the header has 5"):
        read_csv(path)


def test_a_file_mostly_ragged_is_bad_input(tmp_path: Path) -> None:
    path = _write(tmp_path, "S-1;1;Fatigue;1;2026-01-05\nS-1;2;Nausea;1;2026-01-06\nS-1,3,Rash,1,2026-01-07\n")
    with pytest.raises(BadInputError, match=r"2 of 3 rows do not have the header's 5 fields"):
        list(iter_batches(path, ragged=[]))


@pytest.mark.parametrize("header", ["USUBJID,AESEQ,AETERM,AETERM\n", "USUBJID,AESEQ,AETERM,aeterm \n"])
def test_a_column_named_twice_is_bad_input(tmp_path: Path, header: str) -> None:
    path = tmp_path / "ae.csv"
    path.write_text(header + "S-1,1,Fatigue,Tiredness\n")
    with pytest.raises(BadInputError, match=r"ae\.csv: the header names a column more than once: AETERM \(columns 3, 4\)"):
        read_csv(path)


def test_xlsx_column_named_twice_is_bad_input(tmp_path: Path) -> None:
    from etl.readers import read_file

    path = tmp_path / "ae.xlsx"
    import xlsxwriter

    with xlsxwriter.Workbook(path) as book:
        sheet = book.add_worksheet()
        for col, value in enumerate(["USUBJID", "AETERM", "AETERM"]):
            sheet.write(0, col, value)
        for col, value in enumerate(["S-1", "Fatigue", "Tiredness"]):
            sheet.write(1, col, value)
    with pytest.raises(BadInputError, match=r"ae\.xlsx: the header names a column more than once: AETERM"):
        read_file(path)


def test_loader_quarantines_ragged_rows_and_loads_the_rest(tmp_path: Path, protocol: Protocol, make_export) -> None:
    folder = make_export()
    rows = [dict(r) for r in AE]
    text = csv_text(rows).splitlines(keepends=True)
    # a long row (unquoted comma in the term) between the two good ones, and a short row at the end
    long_row = "S-001,2,Pain,back,HYPERTENSION,3,2026-01-11,2026-01-12,N\n"
    (folder / "ae.csv").write_text(text[0] + text[1] + long_row + text[2] + "S-002,2,Rash\n")
    db = tmp_path / "cuts" / "current.duckdb"
    result = load_export(folder, db, protocol, run_checks=False)
    ae = result.domains["ae"]
    assert (ae.rows_read, ae.rows_loaded, ae.rows_quarantined) == (4, 2, 2)
    assert ae.reasons == {"malformed_row": 2}
    with duckdb.connect(str(db), read_only=True) as con:
        q = con.sql("SELECT * FROM meta.quarantine WHERE reason = 'malformed_row' ORDER BY row_number").pl()
        raw = con.sql('SELECT USUBJID, AESEQ, "_ROW" FROM raw.ae ORDER BY "_ROW"').fetchall()
        files = json.loads(con.sql("SELECT files FROM meta.loads").fetchall()[0][0])
    assert q["row_number"].to_list() == [2, 4] and set(q["file"]) == {"ae.csv"} and set(q["domain"]) == {"AE"}
    assert q["detail"].to_list() == ["row 2 (line 3) has 9 fields, the header has 8",
                                     "row 4 (line 5) has 3 fields, the header has 8"]
    long_record = json.loads(q["record"][0])
    assert long_record["AETERM"] == "Pain" and long_record["_EXTRA_FIELDS"] == ["N"]  # every field kept
    assert raw == [("S-001", 1, 1), ("S-002", 1, 3)]
    assert {f["file"]: f["rows_read"] for f in files}["ae.csv"] == 4


def test_loader_quarantines_ragged_supp_rows(tmp_path: Path, protocol: Protocol, make_export) -> None:
    folder = make_export(lb=LB)
    (folder / "suppae.csv").write_text(
        "STUDYID,RDOMAIN,USUBJID,IDVAR,IDVARVAL,QNAM,QVAL\n"
        "NCT07479732,AE,S-001,AESEQ,1,AEDLT,N\n"
        "NCT07479732,AE,S-002,AESEQ,1,AEDLT\n"
    )
    result = load_export(folder, tmp_path / "cuts" / "current.duckdb", protocol, run_checks=False)
    supp = result.domains["suppae"]
    assert (supp.rows_read, supp.rows_loaded, supp.reasons) == (2, 1, {"malformed_row": 1})


def test_unnamed_columns_are_named_by_position(tmp_path: Path) -> None:
    """A trailing delimiter (or an empty header cell) makes a column without a name: it is kept,
    with its values, as UNNAMED_<position>, never as a reader's placeholder name."""
    path = tmp_path / "ae.csv"
    path.write_text("USUBJID,,AETERM,\nS-1,x,Fatigue,\nS-2,,Nausea,\n")
    frame = read_csv(path).frame
    assert frame.columns == ["_ROW", "USUBJID", "UNNAMED_2", "AETERM", "UNNAMED_4"]
    assert frame["UNNAMED_2"].to_list() == ["x", None]


def test_xlsx_unnamed_column_is_named_by_position(tmp_path: Path) -> None:
    import xlsxwriter

    from etl.readers import read_file

    path = tmp_path / "ae.xlsx"
    with xlsxwriter.Workbook(path) as book:
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, ["USUBJID", "", "AETERM"])
        sheet.write_row(1, 0, ["S-1", "x", "Fatigue"])
    frame = read_file(path).frame
    assert frame.columns == ["_ROW", "USUBJID", "UNNAMED_2", "AETERM"]
    assert frame["UNNAMED_2"].to_list() == ["x"]


def test_a_lone_cr_inside_a_quoted_field_does_not_shift_the_lines(tmp_path: Path) -> None:
    """Lines end at LF for the csv module too: a CR inside a quoted field is data, so the ragged
    record removed is the right one and the others keep their row numbers."""
    path = _write(tmp_path, 'S-1,1,"Fat\rigue",1,2026-01-05\nS-1,2,"Nau\nsea",1,2026-01-06\nS-1,3,Rash\nS-1,4,Pain,1,2026-01-07\n')
    ragged: list = []
    frame = pl.concat(list(iter_batches(path, ragged=ragged)))
    assert [(r.row, r.first_line) for r in ragged] == [(3, 5)]
    assert frame["_ROW"].to_list() == [1, 2, 4] and frame["AETERM"].to_list() == ["Fat\rigue", "Nau\nsea", "Pain"]


def test_a_lone_cr_in_an_unquoted_field_is_bad_input_naming_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, 'S-1,1,Fat\rigue,1,2026-01-05\nS-1,2,"Nau\nsea",1,2026-01-06\n')
    with pytest.raises(BadInputError, match=r"ae\.csv: cannot be parsed as CSV \(line 2: a carriage return \(CR\) not followed by LF"):
        list(iter_batches(path, ragged=[]))


def test_excel_sep_line_names_the_delimiter(tmp_path: Path) -> None:
    """Excel's 'sep=;' first line: the delimiter it names is used, the header is the next line,
    row numbers start after the header and a ragged row is named by its line in the file."""
    path = tmp_path / "ae.csv"
    path.write_text("sep=;\r\nUSUBJID;AESEQ;AETERM\r\nS-1;1;Pain, back\r\nS-1;2\r\nS-1;3;Rash\r\n")
    ragged: list = []
    frame = pl.concat(list(iter_batches(path, ragged=ragged)))
    assert frame.columns == ["_ROW", "USUBJID", "AESEQ", "AETERM"]
    assert frame["_ROW"].to_list() == [1, 3] and frame["AETERM"].to_list() == ["Pain, back", "Rash"]
    assert [(r.row, r.first_line) for r in ragged] == [(2, 4)]
    with_quotes = tmp_path / "tr.csv"  # a quoted field over two lines: the csv-module path
    with_quotes.write_text('sep=;\nUSUBJID;TRSEQ;TRTEST\nS-1;1;"Lesion\nsize"\nS-1;2\nS-1;3;Size\n')
    ragged = []
    frame = pl.concat(list(iter_batches(with_quotes, ragged=ragged)))
    assert frame["_ROW"].to_list() == [1, 3] and [(r.row, r.first_line) for r in ragged] == [(2, 5)]


def _quarantine(db: Path) -> list[tuple[str, int, str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT file, row_number, reason FROM meta.quarantine ORDER BY file, row_number").fetchall()


def _raw_rows(db: Path, domain: str) -> list[tuple[int, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f'SELECT "_ROW", {domain.upper()}SEQ FROM raw.{domain} ORDER BY "_ROW"').fetchall()


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_blank_csv_lines_are_quarantined_as_blank_rows(tmp_path: Path, protocol: Protocol, make_export, line_end: str) -> None:
    """A line with no field values (empty, spaces, only delimiters) is no record: quarantined as
    blank_row with its row number (was missing_required: 'USUBJID is empty'), so rows read = rows loaded
    + rows quarantined still holds, and the rows after it keep their numbers."""
    folder = make_export()
    header, first, second = csv_text(AE).splitlines()
    lines = [header, first, "", ",,,,,,,", second, "   ", "S-002,2,Rash", ",,,,,,,", ""]
    (folder / "ae.csv").write_text(line_end.join(lines) + line_end, encoding="utf-8")
    db = tmp_path / "cuts" / "current.duckdb"
    result = load_export(folder, db, protocol, run_checks=False)
    ae = result.domains["ae"]
    assert (ae.rows_read, ae.rows_loaded, ae.rows_quarantined) == (8, 2, 6)
    assert ae.reasons == {"blank_row": 5, "malformed_row": 1}
    assert _raw_rows(db, "ae") == [(1, 1), (4, 1)]
    assert _quarantine(db) == [("ae.csv", 2, "blank_row"), ("ae.csv", 3, "blank_row"), ("ae.csv", 5, "blank_row"),
                               ("ae.csv", 6, "malformed_row"), ("ae.csv", 7, "blank_row"), ("ae.csv", 8, "blank_row")]
    with duckdb.connect(str(db), read_only=True) as con:
        detail = con.execute("SELECT DISTINCT detail FROM meta.quarantine WHERE reason = 'blank_row'").fetchall()
    assert detail == [("the row has no values (a blank line, or only delimiters or missing-value markers)",)]


def test_blank_supp_lines_are_blank_rows(tmp_path: Path, protocol: Protocol, make_export) -> None:
    folder = make_export()
    (folder / "suppae.csv").write_text(
        "STUDYID,RDOMAIN,USUBJID,IDVAR,IDVARVAL,QNAM,QVAL\n\nNCT07479732,AE,S-001,AESEQ,1,AEDLT,N\n,,,,,,\n"
    )
    db = tmp_path / "cuts" / "current.duckdb"
    supp = load_export(folder, db, protocol, run_checks=False).domains["suppae"]
    assert (supp.rows_read, supp.rows_loaded, supp.reasons) == (3, 1, {"blank_row": 2})
    assert _quarantine(db) == [("suppae.csv", 1, "blank_row"), ("suppae.csv", 3, "blank_row")]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet", ".xpt"])
def test_a_row_without_values_is_a_blank_row_in_every_format(tmp_path: Path, protocol: Protocol, make_export, suffix: str) -> None:
    """The same outcome whatever the format: a workbook row left empty between two records is row 2
    (the XLSX reader dropped it, and the next record was numbered 2 instead of 3)."""
    import pyreadstat
    import xlsxwriter

    folder = make_export()
    (folder / "ae.csv").unlink()
    path = folder / f"ae{suffix}"
    header = list(AE[0])
    records = [list(AE[0].values()), None, list(AE[1].values())]
    if suffix == ".csv":
        path.write_text(csv_text(AE).replace("\nS-002", "\n\nS-002"), encoding="utf-8")
    elif suffix == ".xlsx":
        with xlsxwriter.Workbook(path) as book:
            sheet = book.add_worksheet()
            sheet.write_row(0, 0, header)
            for i, values in enumerate(records, start=1):
                if values:
                    sheet.write_row(i, 0, values)
    else:
        frame = pl.DataFrame([v or [None] * len(header) for v in records], schema=header, orient="row")
        if suffix == ".parquet":
            frame.write_parquet(path)
        else:
            pyreadstat.write_xport(frame.with_columns(pl.col("AESEQ").cast(pl.Float64)).to_pandas(), str(path),
                                   table_name="AE", file_format_version=5)
    db = tmp_path / "cuts" / "current.duckdb"
    ae = load_export(folder, db, protocol, run_checks=False).domains["ae"]
    assert (ae.rows_read, ae.rows_loaded, ae.reasons) == (3, 2, {"blank_row": 1})
    assert _raw_rows(db, "ae") == [(1, 1), (3, 1)]
    assert _quarantine(db) == [(path.name, 2, "blank_row")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # a stray quote opening AETERM: the two records after it become part of its value (to the end),
        # one ragged record of 3 fields
        ('S-1,1,"Fatigue,1,2026-01-05\nS-1,2,Nausea,1,2026-01-06\nS-1,3,Rash,1,2026-01-07\n', (2, 4, 2, True)),
        # closed by a second stray quote: the merged record has the header's 5 fields, so it is not even
        # ragged, and record 2 would vanish silently (record 3 merged into record 1's AETERM)
        ('S-1,1,"Fatigue,1,2026-01-05\nS-1,2,Nausea,1,2026-01-06\nS-1,3,"Rash,1,2026-01-07\nS-1,4,Pain,1,2026-01-08\n',
         (2, 4, 1, False)),
    ],
)
def test_a_quote_that_swallows_records_is_found(tmp_path: Path, body: str, expected: tuple[int, int, int, bool]) -> None:
    from etl.csv_rows import broken_quoting

    path = _write(tmp_path, body)
    spans: list[tuple[int, int]] = []
    find_ragged_rows(path, ",", 5, spans=spans)
    broken = broken_quoting(path, spans, ",", 5)
    assert broken is not None
    assert (broken.first_line, broken.last_line, broken.swallowed, broken.at_end) == expected
    with pytest.raises(BadInputError, match=rf"ae\.csv: the record starting on line 2 has a quoted value that runs on "
                                            rf"to line {expected[1]}"):
        read_csv(path)


def test_a_value_over_two_lines_is_not_a_broken_quote(tmp_path: Path) -> None:
    from etl.csv_rows import broken_quoting

    # genuine line breaks inside quoted terms: one in a record cut short (quarantined), one in a good record
    path = _write(tmp_path, 'S-1,1,Fatigue,1,2026-01-05\nS-1,2,"Pain\nin the back",2\nS-1,3,"Rash,\nitchy",1,2026-01-07\n')
    spans: list[tuple[int, int]] = []
    found = find_ragged_rows(path, ",", 5, spans=spans)
    assert [(r.row, r.first_line, r.last_line) for r in found] == [(2, 3, 4)]
    assert spans == [(3, 4), (5, 6)]
    assert broken_quoting(path, spans, ",", 5) is None
    ragged: list = []
    frame = pl.concat(list(iter_batches(path, ragged=ragged)))
    assert frame["AESEQ"].to_list() == ["1", "3"] and [r.row for r in ragged] == [2]
    assert frame["AETERM"].to_list() == ["Fatigue", "Rash,\nitchy"]


def test_loader_refuses_a_file_whose_quote_swallows_records(tmp_path: Path, protocol: Protocol, make_export) -> None:
    # exposure records hidden inside one "malformed row" would make later doses vanish (and DLT
    # evaluability with them): the load stops, names the file and the line, and the cut stays as it was
    good = make_export("good")
    db = tmp_path / "cuts" / "current.duckdb"
    first = load_export(good, db, protocol, run_checks=False)
    folder = make_export("bad")
    lines = (folder / "ex.csv").read_text().splitlines(keepends=True)
    assert len(lines) >= 4
    fields = lines[1].split(",")
    fields[4] = '"' + fields[4]
    (folder / "ex.csv").write_text(lines[0] + ",".join(fields) + "".join(lines[2:]))
    with pytest.raises(BadInputError, match=r"ex\.csv: the record starting on line 2 has a quoted value that runs on "
                                            rf"to line {len(lines)} \(the end of the file\), taking in {len(lines) - 2} "):
        load_export(folder, db, protocol, run_checks=False)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT cut_id FROM meta.loads").fetchall() == [(first.cut_id,)]
