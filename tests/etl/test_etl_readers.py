"""Readers: every format and CSV dialect an EDC export arrives in gives the same text records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pyreadstat
import pytest
from etl_sample_export import AE, csv_text

from etl.readers import detect_encoding, iter_batches, read_csv, read_file
from safetyboard.errors import BadInputError

ROWS = [dict(r) for r in AE]


@pytest.mark.parametrize(
    ("encoding", "term", "expected_detect"),
    [
        ("utf-8", "Hypertension", "utf-8"),
        ("utf-8-sig", "Müller-Syndrom", "utf-8-sig"),
        ("cp1252", "Müller-Syndrom", None),
        ("gb18030", "高血压", "gb18030"),
    ],
)
def test_csv_encodings_are_detected_and_decoded(tmp_path: Path, encoding: str, term: str, expected_detect: str | None) -> None:
    rows = [dict(r) for r in ROWS]
    rows[0]["AETERM"] = term
    rows[1]["AETERM"] = term + " (2)"
    path = tmp_path / "ae.csv"
    path.write_bytes(csv_text(rows).encode(encoding))
    result = read_csv(path)
    assert result.frame.columns[1] == "USUBJID"  # a BOM never sticks to the first column name
    assert result.frame["AETERM"].to_list() == [term, term + " (2)"]
    if expected_detect:
        assert detect_encoding(path) == expected_detect
    else:
        assert detect_encoding(path).lower().replace("_", "") in ("cp1252", "windows1252")


def test_cp1252_single_accent_in_a_larger_file(tmp_path: Path) -> None:
    rows = [dict(ROWS[0], AESEQ=str(i), AETERM="Fatigue") for i in range(1, 200)]
    rows[150]["AETERM"] = "Müller"
    path = tmp_path / "ae.csv"
    path.write_bytes(csv_text(rows).encode("cp1252"))
    assert read_csv(path).frame["AETERM"][150] == "Müller"


@pytest.mark.parametrize(
    ("content", "utf8"),
    [
        (b"USUBJID,AETERM\n01,Fatigue\n", True),
        ("01,Müller\n".encode(), True),  # a 2-byte character split across two chunks
        ("01,高血压 and more ASCII\n".encode(), True),  # 3-byte characters; an ASCII chunk follows
        ("01,Müller\n".encode("cp1252"), False),  # a lone high byte, then ASCII
        (b"01,Fatigue\xe9", False),  # ends inside a character
        (b"01,abcdefg" + "中".encode()[:2], False),  # a truncated character at the end
        # a character cut by an ASCII chunk: skipping that chunk would join the pieces into a valid one
        (b"01" + "中".encode()[:2] + b"abcd" + "中".encode()[2:] + b"\n", False),
    ],
)
def test_utf8_validation_across_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, utf8: bool) -> None:
    """The ASCII fast path skips decoding only clean chunks: tiny chunks split every character."""
    import etl.readers as readers

    monkeypatch.setattr(readers, "_CHUNK", 4)
    path = tmp_path / "ae.csv"
    path.write_bytes(content)
    assert readers._is_utf8(path) is utf8


def test_explicit_encoding_overrides_detection(tmp_path: Path) -> None:
    rows = [dict(ROWS[0], AETERM="高血压")]
    path = tmp_path / "ae.csv"
    path.write_bytes(csv_text(rows).encode("gb18030"))
    assert read_csv(path, encoding="gb18030").frame["AETERM"].to_list() == ["高血压"]


def test_undecodable_with_named_encoding_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "ae.csv"
    path.write_bytes(csv_text([dict(ROWS[0], AETERM="Müller")]).encode("cp1252"))
    with pytest.raises(BadInputError, match=r"ae\.csv"):
        read_csv(path, encoding="utf-8")


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters(tmp_path: Path, delimiter: str) -> None:
    rows = [dict(r, AETERM="Pain, back") if delimiter != "," else dict(r) for r in ROWS]
    path = tmp_path / "ae.csv"
    path.write_text(csv_text(rows, delimiter), encoding="utf-8")
    result = read_csv(path)
    assert result.delimiter == delimiter
    assert result.frame.columns == ["_ROW", *ROWS[0].keys()]
    assert result.frame["USUBJID"].to_list() == ["S-001", "S-002"]


def test_na_and_empty_are_missing_and_rows_are_numbered(tmp_path: Path) -> None:
    path = tmp_path / "ae.csv"
    path.write_text(
        "USUBJID,AESEQ,AETERM,AEENDTC\nS-001,1,Nausea,NA\nS-001,2,Rash,\nS-002,1,NA,2026-01-02\n", encoding="utf-8"
    )
    frame = read_csv(path).frame
    assert frame["AEENDTC"].to_list() == [None, None, "2026-01-02"]
    assert frame["AETERM"].to_list() == ["Nausea", "Rash", None]
    assert frame["_ROW"].to_list() == [1, 2, 3]  # header is row 0
    assert frame.schema["AESEQ"] == pl.String  # typing happens in normalise, not in the reader


def test_xpt_reader(tmp_path: Path) -> None:
    df = pl.DataFrame(
        {"USUBJID": ["S-001", "S-002"], "LBSEQ": [1.0, 2.0], "LBTESTCD": ["NEUT", "HGB"],
         "LBSTRESN": [1.5, float("nan")], "LBDTC": ["2026-01-05", ""]}
    )
    path = tmp_path / "lb.xpt"
    pyreadstat.write_xport(df.to_pandas(), str(path), table_name="LB", file_format_version=5)
    frame = read_file(path).frame
    assert frame["LBSEQ"].to_list() == ["1", "2"]  # whole floats without '.0'
    assert frame["LBSTRESN"].to_list() == ["1.5", None]
    assert frame["LBDTC"].to_list() == ["2026-01-05", None]
    assert frame["_ROW"].to_list() == [1, 2]


def test_xlsx_reader(tmp_path: Path) -> None:
    df = pl.DataFrame({"usubjid": ["S-001", "S-002"], "VSSEQ": [1, 2], "VSSTRESN": [120.5, None], "VSTESTCD": ["SYSBP", "NA"]})
    path = tmp_path / "vs.xlsx"
    df.write_excel(path)
    frame = read_file(path).frame
    assert "USUBJID" in frame.columns  # names upper-cased
    assert frame["VSSEQ"].to_list() == ["1", "2"]
    assert frame["VSSTRESN"].to_list() == ["120.5", None]
    assert frame["VSTESTCD"].to_list() == ["SYSBP", None]


def test_parquet_reader(tmp_path: Path) -> None:
    df = pl.DataFrame({"USUBJID": ["S-001"], "EXSEQ": [1], "EXDOSE": [250.0], "EXSTDTC": ["2026-01-05"]})
    path = tmp_path / "ex.parquet"
    df.write_parquet(path)
    frame = read_file(path).frame
    assert frame.row(0, named=True) == {"_ROW": 1, "USUBJID": "S-001", "EXSEQ": "1", "EXDOSE": "250", "EXSTDTC": "2026-01-05"}


def test_truncated_csv_names_the_file(tmp_path: Path) -> None:
    text = csv_text(ROWS)
    path = tmp_path / "ae.csv"
    path.write_text(text[: text.rindex(",2026-01") + 3], encoding="utf-8")  # last line cut mid-record
    with pytest.raises(BadInputError, match=r"ae\.csv.*truncated"):
        read_csv(path)


@pytest.mark.parametrize(
    ("last", "value"),
    [
        # the last record's quoted value holds a line break (the last physical line alone has 1 field)
        ('S-009,9,"Last term\nsecond line"', "Last term\nsecond line"),
        # a quote inside an unquoted value, read as a character (odd quote count on the last line)
        ("S-009,9,Laceration 2\" long", 'Laceration 2" long'),
    ],
)
def test_a_complete_last_record_without_a_line_end_is_not_truncated(tmp_path: Path, last: str, value: str) -> None:
    n = csv_text(ROWS).split("\n", 1)[0].count(",") + 1
    path = tmp_path / "ae.csv"
    text = csv_text(ROWS).rstrip("\n")
    path.write_text(text + "\n" + last + "," * (n - 3), encoding="utf-8")
    frame = read_csv(path).frame
    assert frame.height == len(ROWS) + 1
    assert frame["AETERM"][-1] == value


def test_a_blank_last_line_without_a_line_end_is_not_truncated(tmp_path: Path) -> None:
    path = tmp_path / "ae.csv"
    path.write_text(csv_text(ROWS) + "   ", encoding="utf-8")
    frame = read_csv(path).frame  # the blank line is a row of blanks (normalise quarantines it as blank_row)
    assert frame["USUBJID"].head(len(ROWS)).to_list() == [r["USUBJID"] for r in ROWS]
    assert all(not (v or "").strip() for v in frame.drop("_ROW").row(-1)) if frame.height > len(ROWS) else True


def test_a_file_cut_inside_a_quoted_value_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "ae.csv"
    path.write_text(csv_text(ROWS) + 'S-009,9,"Hypertens', encoding="utf-8")
    with pytest.raises(BadInputError, match=r"ae\.csv: the file is truncated: its last record ends inside a quoted value"):
        read_csv(path)


def test_a_cut_last_line_longer_than_the_tail_read_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "ae.csv"
    path.write_text(csv_text(ROWS) + "S-009,9," + "x" * 70_000, encoding="utf-8")
    with pytest.raises(BadInputError, match=r"ae\.csv: the file is truncated: its last line has 3 of"):
        read_csv(path)


def test_unsupported_suffix_and_empty_file(tmp_path: Path) -> None:
    odd = tmp_path / "ae.sav"
    odd.write_bytes(b"x")
    with pytest.raises(BadInputError, match=r"ae\.sav"):
        read_file(odd)
    empty = tmp_path / "ae.csv"
    empty.write_bytes(b"")
    with pytest.raises(BadInputError, match=r"ae\.csv.*empty"):
        read_csv(empty)


def test_corrupt_xpt_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "lb.xpt"
    path.write_bytes(b"HEADER RECORD*******garbage" * 10)
    with pytest.raises(BadInputError, match=r"lb\.xpt"):
        read_file(path)


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet", ".xpt"])
def test_typed_date_cells_become_iso_8601_text(tmp_path: Path, suffix: str) -> None:
    """Excel date cells and typed date columns must not end up quarantined as invalid dates."""
    df = pl.DataFrame({
        "USUBJID": ["S-001", "S-002"], "EXSEQ": [1, 2],
        "EXSTDTC": [dt.datetime(2026, 1, 5), dt.datetime(2026, 1, 6, 8, 30)],
        "EXENDTC": [dt.date(2026, 1, 5), None],
    })
    path = tmp_path / f"ex{suffix}"
    if suffix == ".xlsx":
        df.write_excel(path)
    elif suffix == ".parquet":
        df.write_parquet(path)
    else:
        pyreadstat.write_xport(df.to_pandas(), str(path), file_format_version=5)
    frame = read_file(path).frame
    assert frame["EXSTDTC"].to_list() == ["2026-01-05", "2026-01-06T08:30:00"]
    assert frame["EXENDTC"].to_list() == ["2026-01-05", None]


def test_xpt_in_cp1252(tmp_path: Path) -> None:
    df = pl.DataFrame({"USUBJID": ["S-001"], "AESEQ": [1.0], "AETERM": ["MXller"]})
    path = tmp_path / "ae.xpt"
    pyreadstat.write_xport(df.to_pandas(), str(path), file_format_version=5)
    path.write_bytes(path.read_bytes().replace(b"MXller", "Müller".encode("cp1252")))
    assert read_file(path).frame["AETERM"].to_list() == ["Müller"]


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet", ".xpt"])
def test_truncated_binary_files_are_bad_input(tmp_path: Path, suffix: str) -> None:
    df = pl.DataFrame({"USUBJID": [f"S-{i:03d}" for i in range(300)], "VSSEQ": list(range(300))})
    path = tmp_path / f"vs{suffix}"
    if suffix == ".xlsx":
        df.write_excel(path)
    elif suffix == ".parquet":
        df.write_parquet(path)
    else:
        pyreadstat.write_xport(df.to_pandas(), str(path), file_format_version=5)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 7])
    # (an XPT cut exactly at an 80-byte record boundary: test_xpt_cut_on_a_record_boundary_is_truncated)
    with pytest.raises(BadInputError, match=f"vs\\{suffix}"):
        read_file(path)
    with pytest.raises(BadInputError, match=f"vs\\{suffix}"):  # the loader's streaming read too
        list(iter_batches(path))


def test_parquet_is_streamed_in_batches_with_file_row_numbers(tmp_path: Path) -> None:
    """A Parquet export is read in batches (never whole); the batches together are the whole-file
    read, typed values as text and row numbers counting on across batches."""
    df = pl.DataFrame({
        "USUBJID": [f"S-{i:03d}" for i in range(25)], "VSSEQ": list(range(1, 26)),
        "VSSTRESN": [120.0 + i / 2 for i in range(25)], "VSDTC": [dt.date(2026, 1, 1 + i) for i in range(25)],
    })
    path = tmp_path / "vs.parquet"
    df.write_parquet(path, row_group_size=7)
    batches = list(iter_batches(path, batch_rows=10))
    assert len(batches) > 1
    assert pl.concat(batches).equals(read_file(path).frame)
    streamed = pl.concat(batches)
    assert streamed["_ROW"].to_list() == list(range(1, 26))
    assert streamed.row(12, named=True) == {"_ROW": 13, "USUBJID": "S-012", "VSSEQ": "13", "VSSTRESN": "126", "VSDTC": "2026-01-13"}


WESTERN_TERMS = ["Érythème", "Ödem", "Müller", "Neutropénie fébrile", "Schwäche", "Señor", "Œdème « local »"]
CHINESE_TERMS = ["高血压", "腹泻", "恶心", "中性粒细胞减少", "手足综合征", "血小板计数降低（3级）"]


@pytest.mark.parametrize("rows", [1, 5, 50])
@pytest.mark.parametrize(("term", "encoding"), [(t, "cp1252") for t in WESTERN_TERMS] + [(t, "gb18030") for t in CHINESE_TERMS])
def test_cp1252_and_gb18030_are_told_apart(tmp_path: Path, term: str, encoding: str, rows: int) -> None:
    """A wrong guess here garbles AE terms silently ('腹泻' as cp1252 is '¸¹Ðº'), so every row count is tried."""
    path = tmp_path / "ae.csv"
    body = "".join(f"S-{i:03d},{i},{term}\n" for i in range(1, rows + 1))
    path.write_bytes(("USUBJID,AESEQ,AETERM\n" + body).encode(encoding))
    assert detect_encoding(path) == encoding
    assert read_csv(path).frame["AETERM"].to_list() == [term] * rows


def test_windows_line_ends_quotes_and_no_final_newline(tmp_path: Path) -> None:
    """A complete last record without a line end is not 'truncated'; CRLF and quoted delimiters are read."""
    path = tmp_path / "ae.csv"
    path.write_bytes(b'USUBJID;AESEQ;AETERM\r\nS-001;1;"Nausea; severe"\r\nS-002;2;Rash')
    frame = read_csv(path).frame
    assert frame.rows() == [(1, "S-001", "1", "Nausea; severe"), (2, "S-002", "2", "Rash")]


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_large_xpt_is_streamed_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str) -> None:
    """An XPT file above XPT_WHOLE_MAX_BYTES is read in chunks (a program-scale file read whole
    needs GBs): the chunks together are the whole-file read, row numbers counting on, and the
    encoding (auto) settled on the first chunk."""
    import etl.readers as readers

    term = "MXdigkeit" if encoding == "cp1252" else "Müdigkeit"
    df = pl.DataFrame({
        "USUBJID": [f"S-{i:03d}" for i in range(23)], "AESEQ": [float(i) for i in range(1, 24)],
        "AETERM": [term if i % 5 == 0 else "Fatigue" for i in range(23)],
    })
    path = tmp_path / "ae.xpt"
    pyreadstat.write_xport(df.to_pandas(), str(path), file_format_version=5, table_name="AE")
    if encoding == "cp1252":  # same length in cp1252: swap the placeholder's bytes in place
        path.write_bytes(path.read_bytes().replace(b"MXdigkeit", "Müdigkeit".encode("cp1252")))
    whole = read_file(path).frame
    monkeypatch.setattr(readers, "XPT_WHOLE_MAX_BYTES", 0)
    batches = list(iter_batches(path, batch_rows=5))
    assert len(batches) == 5
    streamed = pl.concat(batches)
    assert streamed.equals(whole)
    assert streamed["_ROW"].to_list() == list(range(1, 24)) and streamed["AETERM"][0] == "Müdigkeit"


def test_large_xpt_that_stops_decoding_late_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches before the bad chunk are already loaded, so the encoding cannot change mid-file:
    the load stops (the current cut stays) with a message naming the row and --encoding."""
    import etl.readers as readers

    df = pl.DataFrame({"USUBJID": [f"S-{i:03d}" for i in range(23)],
                       "AETERM": ["MXdigkeit" if i == 20 else "Fatigue" for i in range(23)]})
    path = tmp_path / "ae.xpt"
    pyreadstat.write_xport(df.to_pandas(), str(path), file_format_version=5, table_name="AE")
    path.write_bytes(path.read_bytes().replace(b"MXdigkeit", "Müdigkeit".encode("cp1252")))
    monkeypatch.setattr(readers, "XPT_WHOLE_MAX_BYTES", 0)
    with pytest.raises(BadInputError, match=r"ae\.xpt: cannot be read as SAS XPT from row 21 on .*--encoding"):
        list(iter_batches(path, batch_rows=5))
    assert pl.concat(list(iter_batches(path, "cp1252", batch_rows=5)))["AETERM"][20] == "Müdigkeit"


@pytest.mark.parametrize("chunked", [False, True])
def test_xpt_cut_on_a_record_boundary_is_truncated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   chunked: bool) -> None:
    """An XPT cut at an 80-byte record boundary passed the size check, and pyreadstat returned the whole
    observations before the cut: half of an AE file loaded as if complete. The bytes after the last whole
    observation are not blanks, so the cut is found, also when a large file is read in chunks."""
    import etl.readers

    df = pl.DataFrame({"USUBJID": [f"S-{i:03d}" for i in range(300)], "AESEQ": [float(i) for i in range(300)],
                       "AETERM": ["Fatigue" * 3] * 300})
    path = tmp_path / "ae.xpt"
    pyreadstat.write_xport(df.to_pandas(), str(path), file_format_version=5)
    assert read_file(path).frame.height == 300  # complete: no error
    data = path.read_bytes()
    cut = (len(data) // 2) // 80 * 80
    path.write_bytes(data[:cut])
    if chunked:
        monkeypatch.setattr(etl.readers, "XPT_WHOLE_MAX_BYTES", 0)
    with pytest.raises(BadInputError, match=r"^ae\.xpt: the file is truncated: it ends \d+ bytes into an observation "
                                            r"after \d+ whole ones of 34 bytes"):
        list(iter_batches(path, batch_rows=50)) if chunked else read_file(path)


def test_a_quote_doubled_inside_a_quoted_header_name_is_undone(tmp_path: Path) -> None:
    # Polars keeps 'Comment ""free text""' as the name; the header says Comment "free text" (RFC 4180)
    text = csv_text(ROWS).replace("AESER\n", 'AESER,"Comment ""free text"""\n', 1).replace("\n", ",x\n").replace(
        'free text""",x\n', 'free text"""\n', 1)
    path = tmp_path / "ae.csv"
    path.write_text(text, encoding="utf-8")
    frame = read_csv(path).frame
    assert 'COMMENT "FREE TEXT"' in frame.columns
    assert next(b.columns for b in iter_batches(path)) == frame.columns


def test_utf8_with_a_stray_cp1252_byte_is_refused_naming_the_line(tmp_path: Path) -> None:
    # read as cp1252, every UTF-8 character would be garbled silently ('Müdigkeit' -> 'MÃ¼digkeit')
    rows = [dict(r) for r in ROWS]
    rows[0]["AETERM"] = "Müdigkeit"
    path = tmp_path / "ae.csv"
    data = csv_text(rows).encode("utf-8").replace(b"Nausea", "Naus\u00e9e".encode("cp1252"))
    path.write_bytes(data)
    with pytest.raises(BadInputError, match=r"^ae\.csv: mixes two encodings: 1 character\(s\) are UTF-8, but line 3 "
                                            r"\(byte \d+, 0xE9, 'é' in cp1252\) is not UTF-8"):
        read_csv(path)
    # the data manager's way out: one encoding for the whole file
    assert read_csv(path, encoding="cp1252").frame["AETERM"].to_list() == ["MÃ¼digkeit", "Nausée"]


def test_a_file_given_as_utf8_that_is_not_names_the_line(tmp_path: Path) -> None:
    rows = [dict(r) for r in ROWS]
    rows[1]["AETERM"] = "Nausée"
    path = tmp_path / "ae.csv"
    path.write_bytes(csv_text(rows).encode("cp1252"))
    assert read_csv(path).frame["AETERM"][1] == "Nausée"  # detected as cp1252
    with pytest.raises(BadInputError, match=r"^ae\.csv: cannot be decoded as utf-8: line 3 \(byte \d+, 0xE9"):
        read_csv(path, encoding="utf-8")


def test_a_header_name_with_a_line_break_is_one_name_and_rows_keep_their_numbers(tmp_path: Path) -> None:
    # Excel writes a header cell with a line break quoted over two lines; the ragged-row screen took the header's
    # second line for a record and refused the file ("52 of 52 rows do not have the header's 2 fields")
    text = csv_text(ROWS).replace("AETERM", '"Investigator\ncomment"', 1)
    n = text.split("\n", 1)[0].count(",") + 1
    path = tmp_path / "ae.csv"
    path.write_text(text + "S-003,1,too,few\n", encoding="utf-8")
    ragged: list = []
    frame = pl.concat(list(iter_batches(path, ragged=ragged)))
    assert "INVESTIGATOR COMMENT" in frame.columns
    assert frame["INVESTIGATOR COMMENT"].to_list() == [r["AETERM"] for r in ROWS]
    assert frame["_ROW"].to_list() == [1, 2]
    assert [(r.row, r.first_line) for r in ragged] == [(3, 5)]  # header on lines 1-2, records from line 3
    assert len(ragged[0].fields) == 4 != n


@pytest.mark.parametrize("first_end", [b"\n", b"\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("chunked", [False, True], ids=["whole", "batches"])
def test_mixed_line_ends_with_a_bare_cr_name_the_line(tmp_path: Path, first_end: bytes, chunked: bool) -> None:
    # the message was Python's csv text ('new-line character seen in unquoted field - do you need to open the
    # file in universal-newline mode?'), naming no line
    lines = csv_text(ROWS).encode().split(b"\n")[:-1]
    path = tmp_path / "ae.csv"
    path.write_bytes(first_end.join(lines[:2]) + b"\r" + first_end.join(lines[2:]) + first_end)
    with pytest.raises(BadInputError, match=r"ae\.csv: cannot be parsed as CSV \(line 2: a carriage return \(CR\) not followed by LF outside"):
        if chunked:
            list(iter_batches(path, batch_rows=1))
        else:
            read_csv(path)
