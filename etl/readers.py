"""Readers, one per format: each returns the file's records as text columns plus `_ROW`.

Every value comes back as text (or null) so that typing and quarantine happen in one place
(etl/normalise.py) whatever the format. `_ROW` is the 1-based data row number in the file (the
header is row 0). Unreadable files raise BadInputError naming the file and the problem.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from etl import xlsx
from etl.csv_rows import (
    RaggedRow,
    StrayQuote,
    broken_quoting,
    copy_without,
    describe,
    find_ragged_rows,
    original_rows,
    stray_quote_note,
)
from etl.xlsx import error_text
from safetyboard.errors import BadInputError

MISSING_TEXT = ["", "NA", "N/A", "NULL", "."]
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
# file extension -> reader; .xport is the other usual extension of a SAS transport file
FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xpt": "xpt", ".xport": "xpt", ".xlsx": "xlsx",
           ".parquet": "parquet"}
_CHUNK = 1 << 24  # 16 MiB
BATCH_ROWS = 1_000_000  # rows per batch when streaming a large file (typing 1 M rows costs 0.87 s/M, 500 k 1.15 s/M)


@dataclass(frozen=True)
class ReadResult:
    frame: pl.DataFrame
    encoding: str | None
    delimiter: str | None
    # SAS XPT: the columns (as named in `frame`) that are numeric variables without a SAS date format
    # and hold a value; their text is a number, which the loader refuses for a --DTC variable
    sas_numeric: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Utf8Scan:
    valid: bool
    bad_offset: int | None = None  # byte offset of the first byte that is not UTF-8
    wide: int = 0  # non-ASCII characters that are valid UTF-8 (counted only when the file is not valid UTF-8)


def _utf8_scan(path: Path) -> _Utf8Scan:
    """Whether the file is UTF-8; if not, where the first byte that is not UTF-8 is, and how many non-ASCII
    characters are valid UTF-8 anyway (a UTF-8 file with a stray cp1252 byte has many)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    consumed = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            # pure ASCII is valid UTF-8: bytes.isascii() is far cheaper than decoding (2.2 s ->
            # 0.5 s for a 1.7 GB lab file), as long as no multi-byte character is pending
            if chunk.isascii() and not decoder.getstate()[0]:
                consumed += len(chunk)
                continue
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return _Utf8Scan(False, consumed - pending + exc.start, _valid_wide(path))
            consumed += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return _Utf8Scan(False, consumed - len(decoder.getstate()[0]), _valid_wide(path))
    return _Utf8Scan(True)


def _valid_wide(path: Path) -> int:
    """Non-ASCII characters of the file that decode as UTF-8 (each invalid byte read as U+FFFD, not counted)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    wide = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            text = decoder.decode(chunk)
            wide += len(text) - len(text.encode("ascii", "ignore")) - text.count("\ufffd")
    return wide


def _is_utf8(path: Path) -> bool:
    return _utf8_scan(path).valid


def _line_of(path: Path, offset: int) -> tuple[int, bytes]:
    """1-based line number of byte `offset` and the bytes around it."""
    with path.open("rb") as fh:
        head = fh.read(offset)
        around = fh.read(8)
    return head.count(b"\n") + 1, around[:1]


def _not_utf8_message(path: Path, scan: _Utf8Scan) -> str:
    offset = scan.bad_offset or 0
    line, byte = _line_of(path, offset)
    shown = byte.decode("cp1252", errors="replace")
    return (f"line {line} (byte {offset}, 0x{byte.hex().upper()}, {shown!r} in cp1252) is not UTF-8")


def _gb2312_share(sample: bytes) -> float | None:
    """Share of the non-ASCII characters of `sample`, read as GB18030, that are common GB2312 pairs.

    Chinese text is almost all GB2312 characters (both bytes 0xA1-0xFE). cp1252 text read as GB18030
    pairs an accented letter with the ASCII letter after it ('é' + 'n' = 0xE9 0x6E), a pair whose
    second byte is below 0x80. None when the sample is not valid GB18030 at all.
    """
    try:
        text = codecs.getincrementaldecoder("gb18030")(errors="strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return None
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return None
    common = sum(1 for ch in wide if (b := ch.encode("gb18030")) and len(b) == 2 and b[0] >= 0xA1 and b[1] >= 0xA1)
    return common / len(wide)


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes; else GB18030 or cp1252.

    Chinese sites export GB18030 (pairs of high bytes, mostly in the GB2312 range); Western EDCs
    cp1252 (isolated high bytes). A sample that decodes as GB18030 with at least 80% of its
    non-ASCII characters in the GB2312 range is GB18030; anything else is cp1252. Pass --encoding
    for other code pages.
    """
    with path.open("rb") as fh:
        head = fh.read(256)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # e.g. Excel's "Unicode text"; the codec reads the byte order from the BOM
    # UTF-16 without a BOM: an ASCII header has a NUL beside every character (NUL is valid UTF-8)
    even, odd = head[0::2], head[1::2]
    if len(head) >= 8 and odd.count(0) == len(odd) and 0 not in even:
        return "utf-16-le"
    if len(head) >= 8 and even.count(0) == len(even) and 0 not in odd:
        return "utf-16-be"
    scan = _utf8_scan(path)
    if scan.valid:
        return "utf-8"
    with path.open("rb") as fh:
        sample = fh.read(1 << 20)
    share = _gb2312_share(sample)
    if share is not None and share >= 0.8:
        return "gb18030"
    if scan.wide:
        # UTF-8 text with bytes of another encoding (a record pasted from a cp1252 system): read as cp1252, every
        # UTF-8 character would be garbled without a word ('Müdigkeit' -> 'MÃ¼digkeit'); read as UTF-8, the other
        # bytes have no reading. Which is meant is a guess, so the file is refused, saying where
        raise BadInputError(
            f"{path.name}: mixes two encodings: {scan.wide} character(s) are UTF-8, but {_not_utf8_message(path, scan)}; "
            "re-export the file in UTF-8, or pass --encoding NAME to read all of it in one encoding"
        )
    return "cp1252"


def _transcode_to_utf8(path: Path, encoding: str, workdir: Path) -> Path:
    target = workdir / (path.name + ".utf8")
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(_CHUNK):
                dst.write(decoder.decode(chunk))
            dst.write(decoder.decode(b"", final=True))
    except UnicodeDecodeError as exc:
        raise BadInputError(
            f"{path.name}: cannot be decoded as {encoding} at byte {exc.start} (pass --encoding NAME)"
        ) from exc
    except LookupError as exc:
        raise BadInputError(f"{path.name}: unknown encoding {encoding!r}") from exc
    return target


def sniff_delimiter(first_line: str) -> str:
    """The delimiter among comma, semicolon, tab and pipe that splits the header most often."""
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _last_record(path: Path, delimiter: str) -> tuple[list[str], str]:
    """The file's last record as the csv module reads it (a quoted value may span lines) and its text."""
    text: list[str] = []
    fields: list[str] = []
    raw = ""

    def lines(fh: io.TextIOBase) -> Iterator[str]:
        for line in fh:
            text.append(line)
            yield line

    with path.open("r", encoding="utf-8-sig", errors="replace", newline="\n") as fh:
        for fields in csv.reader(lines(fh), delimiter=delimiter):  # noqa: B007 (the last one is kept)
            raw = "".join(text)
            text.clear()
    return fields, raw


def _ends_inside_quotes(raw: str, delimiter: str) -> bool:
    try:
        list(csv.reader(io.StringIO(raw), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _check_not_truncated(path: Path, encoding: str, delimiter: str, n_columns: int, name: str) -> None:
    """A file whose last record ends without a newline and has too few fields, or ends inside a quoted
    value, was cut off (export interrupted: how many records are lost, the file does not say).

    The last line alone usually tells. When it does not (a quoted value with a line break, a quote inside an
    unquoted value, a line longer than the tail read), the file is read through to its last record. A last line
    of blanks without its line end is no record. `path` is the file parsed (perhaps a transcoded copy), `name`
    the export file's name."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 65536))
        tail = fh.read()
    if not tail or tail.endswith(b"\n"):
        return
    whole_line = b"\n" in tail or size <= len(tail)
    last = tail.rsplit(b"\n", 1)[-1].decode(encoding, errors="replace")
    if whole_line and not last.strip():
        return
    fields = next(csv.reader(io.StringIO(last), delimiter=delimiter), [])
    if whole_line and len(fields) == n_columns and last.count('"') % 2 == 0:
        return
    try:
        fields, raw = _last_record(path, delimiter)
    except csv.Error as exc:
        raise BadInputError(f"{name}: cannot be parsed as CSV (last line: {exc})") from exc
    if _ends_inside_quotes(raw, delimiter):
        raise BadInputError(
            f"{name}: the file is truncated: its last record ends inside a quoted value, with no line end "
            "(export interrupted?)"
        )
    if len(fields) < n_columns and raw.strip():
        raise BadInputError(
            f"{name}: the file is truncated: its last line has {len(fields)} of {n_columns} fields "
            "and no line end (export interrupted?)"
        )


def _has_cr_line_ends(path: Path) -> bool:
    """Lines that end in CR alone (classic Mac, Excel's "CSV (Macintosh)"): the header ends so."""
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    cr, lf = head.find(b"\r"), head.find(b"\n")
    return cr >= 0 and (lf < 0 or cr < lf - 1)


def _cr_to_lf(path: Path, target: Path) -> Path:
    """A copy of `path` with its line ends (CR, CRLF) as LF, the only line end Polars knows."""
    with path.open("rb") as src, target.open("wb") as dst:
        pending = b""
        while chunk := src.read(_CHUNK):
            chunk = pending + chunk
            # a CR at the end of a chunk may be the first half of a CRLF
            chunk, pending = (chunk[:-1], b"\r") if chunk.endswith(b"\r") else (chunk, b"")
            dst.write(chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        dst.write(pending.replace(b"\r", b"\n"))
    return target


@dataclass(frozen=True)
class _CsvSource:
    path: Path  # the UTF-8 file to parse (the original, or a transcoded copy in workdir)
    encoding: str  # the original's encoding, detected or given
    delimiter: str
    n_fields: int  # fields in the header
    workdir: Path  # a temporary folder that lives as long as the source
    skip_lines: int = 0  # lines before the header (an Excel 'sep=;' line)
    header_lines: int = 1  # lines the header spans (a quoted name with a line break in it, as Excel writes one)
    names: tuple[str, ...] = ()  # the header's names as the csv module reads them (a quote doubled inside one undone)


@contextlib.contextmanager
def _csv_source(path: Path, encoding: str) -> Iterator[_CsvSource]:
    """The file as UTF-8 (transcoded into a temp file if needed), its encoding and delimiter."""
    with path.open("rb") as fh:
        head = fh.read(32)
    for magic, kind in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise BadInputError(f"{path.name}: is {kind} file, not CSV text (name it after its format)")
    enc = detect_encoding(path) if encoding == "auto" else encoding
    if encoding != "auto" and enc.lower().replace("_", "-") in ("utf-8", "utf8") and not (scan := _utf8_scan(path)).valid:
        raise BadInputError(f"{path.name}: cannot be decoded as {encoding}: {_not_utf8_message(path, scan)}")
    with tempfile.TemporaryDirectory(prefix="sb-csv-") as tmp:
        source = path
        if enc.lower().replace("_", "-") not in ("utf-8", "utf8", "utf-8-sig", "ascii"):
            source = _transcode_to_utf8(path, enc, Path(tmp))
        if _has_cr_line_ends(source):
            source = _cr_to_lf(source, Path(tmp) / (path.name + ".lf"))
        with source.open("r", encoding="utf-8-sig", errors="replace") as fh:
            first = fh.readline()
            # Excel writes (and reads) 'sep=;' as a first line naming the delimiter
            declared = _SEP_LINE.match(first)
            if declared:
                first = fh.readline()
            # a quoted header name with a line break in it ('"Comment<LF>free text"'): the header goes on
            header_text, header_lines = first, 1
            while header_text.count('"') % 2 == 1 and (more := fh.readline()):
                header_text, header_lines = header_text + more, header_lines + 1
        if not first.strip():
            raise BadInputError(f"{path.name}: the file is empty (no header line)")
        delimiter = declared.group(1) if declared else sniff_delimiter(first)
        header = next(csv.reader(io.StringIO(header_text), delimiter=delimiter))
        check_column_names(header, path)
        _check_not_truncated(source, "utf-8", delimiter, len(header), path.name)
        yield _CsvSource(source, enc, delimiter, len(header), Path(tmp), skip_lines=1 if declared else 0,
                         names=tuple(header), header_lines=header_lines)


# the first bytes of binary formats that a .csv name sometimes hides (a workbook saved as .csv)
_BINARY_MAGIC = {b"PK\x03\x04": "an XLSX (ZIP)", b"PAR1": "a Parquet", b"HEADER RECORD*******": "a SAS XPT",
                 b"\xd0\xcf\x11\xe0": "an old Excel (.xls)"}
_SEP_LINE = re.compile(r"^sep=(.)\r?\n?$", re.IGNORECASE)


def _csv_options(delimiter: str, skip_lines: int = 0) -> dict:
    return {
        "separator": delimiter,
        "skip_lines": skip_lines,
        "infer_schema": False,
        "null_values": MISSING_TEXT,
        "encoding": "utf8",
        "row_index_name": "_ROW",
        "row_index_offset": 1,
        "empty_string_is_null": True,
    }


RESERVED_COLUMNS = ("_FILE", "_ROW")  # each record's file and 1-based row, added by the readers and the loader
_POLARS_DUPLICATE = re.compile(r"^(.*)_duplicated_\d+$")  # how Polars renames a repeated column name


def check_column_names(names: list[str], path: Path) -> None:
    """A header naming one column twice (also when only the case differs) is bad input: which of
    the two holds the value is a guess we do not make. So is a column named _FILE or _ROW."""
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        dup = _POLARS_DUPLICATE.match(name)
        key = (dup.group(1) if dup else name).strip().lstrip("\ufeff").upper()
        if not key:  # unnamed columns (empty header cells) are not names
            continue
        if key in RESERVED_COLUMNS:
            # the loader's own columns: an export's value there was overwritten (_FILE) or stopped the load
            # with an internal error (_ROW)
            raise BadInputError(
                f"{path.name}: the header names a column {key} (column {i}), a name the loader keeps for the file "
                "and row of each record: rename it in the export or leave it out"
            )
        seen.setdefault(key, []).append(i)
    repeated = {k: v for k, v in seen.items() if len(v) > 1}
    if repeated:
        listed = "; ".join(f"{k} (columns {', '.join(map(str, v))})" for k, v in repeated.items())
        raise BadInputError(f"{path.name}: the header names a column more than once: {listed}")


# an empty header cell (a trailing delimiter, an unlabelled spreadsheet column): named by the
# reader '' / '_duplicated_0' (Polars CSV) or '__UNNAMED__2' (XLSX); renamed by its position
_UNNAMED = re.compile(r"^(_duplicated_\d+|__UNNAMED__\d+|)$")


def _column_names(names: list[str]) -> dict[str, str]:
    """Header names as the loader uses them: trimmed, upper case, an empty one UNNAMED_<position>."""
    out = {}
    for position, name in enumerate((c for c in names if c != "_ROW"), start=1):
        # a line break inside a quoted header name is a space (the name stays one line in every listing)
        clean = re.sub(r"\s*[\r\n]+\s*", " ", name.strip().lstrip("\ufeff"))
        out[name] = f"UNNAMED_{position}" if _UNNAMED.match(clean) else clean.upper()
    return out


def _header_names(frame: pl.DataFrame, names: tuple[str, ...]) -> pl.DataFrame:
    """Columns named as the csv module reads the header: Polars keeps a doubled quote inside a quoted header name
    ('Comment ""free text""'); empty names keep Polars' own (they are named by position later)."""
    columns = [c for c in frame.columns if c != "_ROW"]
    if len(columns) != len(names):
        return frame
    renames = {c: n for c, n in zip(columns, names, strict=True) if n.strip() and n != c}
    return frame.rename(renames) if renames else frame


def _upper_columns(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.rename(_column_names(frame.columns))


def _csv_error(path: Path, exc: Exception) -> BadInputError:
    message = str(exc).split("\n", 1)[0]
    bare_cr = re.match(r"line (\d+): new-line character seen in unquoted field", message)
    if bare_cr:  # Python's csv text ('... do you need to open the file in universal-newline mode?') helps no one
        return BadInputError(
            f"{path.name}: cannot be parsed as CSV (line {bare_cr.group(1)}: a carriage return (CR) not followed by LF "
            "outside a quoted value: the file mixes line ends (CR alone, as old Mac files end lines, beside LF or "
            "CRLF) or a value holds a stray CR; save the file again with one kind of line end, e.g. from Excel as "
            "'CSV UTF-8')"
        )
    return BadInputError(f"{path.name}: cannot be parsed as CSV ({message})")


def _without_ragged_rows(src: _CsvSource, path: Path, ragged: list[RaggedRow] | None,
                         notes: list[str] | None = None) -> tuple[Path, list[RaggedRow]]:
    """The file to parse: `src.path`, or a copy without its ragged rows (which go to `ragged`) and with its
    records that hold a quote inside an unquoted value written quoted (said in `notes`).

    Without a `ragged` list to take them, ragged rows are bad input naming the first of them.
    """
    spans: list[tuple[int, int]] = []
    stray: list[StrayQuote] = []
    try:
        found = find_ragged_rows(src.path, src.delimiter, src.n_fields, src.skip_lines, spans, stray, src.header_lines)
    except (pl.exceptions.ComputeError, UnicodeDecodeError, csv.Error) as exc:  # e.g. invalid UTF-8 with --encoding utf-8
        raise _csv_error(path, exc) from exc
    broken = broken_quoting(src.path, spans, src.delimiter, src.n_fields)
    if broken is not None:
        end = " (the end of the file)" if broken.at_end else ""
        raise BadInputError(
            f"{path.name}: the record starting on line {broken.first_line} has a quoted value that runs on to line "
            f"{broken.last_line}{end}, taking in {broken.swallowed} line(s) that look like records of their own: a quote "
            "is not closed where it should be (or a quote inside a value is not doubled), and the records on those lines "
            "would be lost inside that value, so nothing was loaded; fix the quote and load again"
        )
    if stray and notes is not None:
        notes.append(stray_quote_note(path.name, stray))
    if found and ragged is None:
        raise BadInputError(f"{path.name}: " + "; ".join(describe(found, src.n_fields))
                            + (f" (and {len(found) - 3} more)" if len(found) > 3 else ""))
    if not found and not stray:
        return src.path, found
    if ragged is not None:
        ragged.extend(found)
    return copy_without(src.path, src.workdir / (path.name + ".rows"), found, stray), found


def read_csv(path: Path, encoding: str = "auto") -> ReadResult:
    with _csv_source(path, encoding) as src:
        source, _ = _without_ragged_rows(src, path, None)
        try:
            frame = pl.read_csv(source, **_csv_options(src.delimiter, src.skip_lines))
        except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, UnicodeDecodeError) as exc:
            raise _csv_error(path, exc) from exc
    return ReadResult(_upper_columns(_header_names(frame, src.names)), src.encoding, src.delimiter)


def iter_batches(path: Path, encoding: str = "auto", batch_rows: int = BATCH_ROWS,
                 ragged: list[RaggedRow] | None = None, sas_numeric: set[str] | None = None,
                 dialect: dict[str, str] | None = None, notes: list[str] | None = None) -> Iterator[pl.DataFrame]:
    """The file's records in file order, `batch_rows` at a time (CSV is streamed, never held whole).

    CSV records whose field count differs from the header's are left out and appended to
    `ragged` (with their row numbers in the file; the other rows keep theirs); without a list
    they are bad input. More than half of the records ragged is bad input too: the file is
    broken (e.g. a wrong delimiter in its rows), not a few of its rows. For SAS XPT, the columns
    of `ReadResult.sas_numeric` are added to `sas_numeric` before each batch that has them is yielded.
    For CSV, `dialect["delimiter"]` is the delimiter the file is read with, set before the first batch, and
    what a data manager must know about how the file was read goes to `notes` (a quote inside an unquoted value).
    """
    fmt = FORMATS.get(path.suffix.lower())
    found = sas_numeric if sas_numeric is not None else set()
    if fmt == "parquet":
        yield from _parquet_batches(path, batch_rows)
        return
    if fmt == "xpt" and path.stat().st_size > XPT_WHOLE_MAX_BYTES:
        yield from _xpt_batches(path, encoding, batch_rows, found)
        return
    if fmt != "csv":
        result = read_file(path, encoding)
        found.update(result.sas_numeric)
        frame = result.frame
        if frame.height == 0:
            yield frame
        for offset in range(0, frame.height, batch_rows):
            yield frame.slice(offset, batch_rows)
        return
    with _csv_source(path, encoding) as src:
        if dialect is not None:
            dialect["delimiter"] = src.delimiter
        source, found = _without_ragged_rows(src, path, ragged, notes)
        rows = len(found)
        try:
            header = pl.read_csv(source, n_rows=0, **_csv_options(src.delimiter, src.skip_lines))
            batches = pl.scan_csv(source, **_csv_options(src.delimiter, src.skip_lines)).collect_batches(chunk_size=batch_rows)
            empty = True
            for batch in batches:
                empty = False
                rows += batch.height
                if found:
                    batch = batch.with_columns(original_rows(batch["_ROW"], found))
                yield _upper_columns(_header_names(batch, src.names))
            if empty:
                yield _upper_columns(_header_names(header, src.names))
        except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, UnicodeDecodeError) as exc:
            raise _csv_error(path, exc) from exc
        if len(found) > rows / 2:
            raise BadInputError(
                f"{path.name}: {len(found)} of {rows} rows do not have the header's {src.n_fields} fields "
                f"({next(describe(found, src.n_fields))}): wrong delimiter or a broken export?"
            )


# a date-time as a typed cell prints it ('2026-01-05 00:00:00', '2026-01-05 08:30:00.000000'; a
# time-zone-aware one, as Spark writes, with its offset: '2026-01-05 08:30:00.000000+00:00')
_CELL_DATETIME = r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$"
# an XLSX date cell as the engine prints it, always with seconds ('2026-01-05 00:00:00',
# '2026-01-05 08:30:00.250'): a text cell written otherwise ('2026-01-05 08:30',
# '2026-01-05T08:30:00.000') is kept as typed, as the same text in a CSV file is
_XLSX_DATE_CELL = r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d+))?()$"


def _iso_datetime_text(col: pl.Expr, pattern: str = _CELL_DATETIME) -> pl.Expr:
    """Date-time cells (XLSX date cells, Parquet/XPT datetimes) as ISO 8601 text.

    A date cell carries no time of day: midnight becomes the date alone, other times
    '<date>T<time>' with the fraction of a second (without trailing zeros) and the offset, if any.
    `pattern` has the groups date, time, fraction and offset.
    """
    date_part = col.str.extract(pattern, 1)
    time_part = col.str.extract(pattern, 2)
    fraction = col.str.extract(pattern, 3).str.strip_chars_end("0")
    fraction = pl.when(fraction.is_null() | (fraction == "")).then(pl.lit("")).otherwise("." + fraction)
    zone = col.str.extract(pattern, 4).fill_null("")
    return (
        pl.when(date_part.is_null()).then(col)
        .when(time_part.is_in(["00:00", "00:00:00"]) & (fraction == "")).then(date_part)
        .otherwise(date_part + "T" + time_part + fraction + zone)
    )


def _stringify(frame: pl.DataFrame, cells: bool = False, first_row: int = 1) -> pl.DataFrame:
    """Every column as text; whole floats (pyreadstat gives numbers as floats) without '.0'.

    Date and date-time values become ISO 8601: typed columns always, and with `cells` (XLSX, whose
    date cells arrive as '2026-01-05 00:00:00' text, before any column mapping) every text column.
    """
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype.is_temporal():
            exprs.append(_iso_datetime_text(col.cast(pl.String)).alias(name))
            continue
        if cells and dtype == pl.String:
            exprs.append(_iso_datetime_text(col, _XLSX_DATE_CELL).alias(name))
            continue
        if dtype.is_float():
            # a whole number as an integer ('3', not '3.0'); one beyond Int64 (1e20) or an infinity has no
            # integer and keeps the float's text ('1e+20', 'inf'), never NULL: typing reads or quarantines it
            as_int = col.cast(pl.Int64, strict=False)
            exprs.append(
                pl.when(col.is_nan()).then(None).when((col == col.round(0)) & as_int.is_not_null())
                .then(as_int.cast(pl.String)).otherwise(col.cast(pl.String)).alias(name)
            )
        elif dtype == pl.String:
            exprs.append(col)
        elif dtype == pl.Boolean:
            # SDTM has no boolean type: a flag is Y/N (CDISC codelist NY); an Excel TRUE/FALSE cell or a Parquet
            # boolean AESER loaded as 'true', which no rule reads as serious
            exprs.append(pl.when(col).then(pl.lit("Y")).when(col.not_()).then(pl.lit("N")).alias(name))
        else:
            exprs.append(col.cast(pl.String).alias(name))
    out = frame.select(exprs)
    text_cols = [c for c in out.columns]
    out = out.with_columns(
        pl.when(pl.col(c).str.strip_chars().is_in(MISSING_TEXT)).then(None).otherwise(pl.col(c)).alias(c)
        for c in text_cols
    )
    out = out.rename(_column_names(out.columns))
    return out.with_row_index("_ROW", offset=first_row)


XPT_WHOLE_MAX_BYTES = 64 * 1024**2  # XPT files up to this size are read whole; larger ones in chunks


_XPT_LIBRARY_HEADERS = (b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!",  # v5/v6
                        b"HEADER RECORD*******LIBV8   HEADER RECORD!!!!!!!")  # v8


def _check_xpt_size(path: Path) -> None:
    # a transport file begins with its library header record: a CSV renamed .xpt was called "truncated"
    with path.open("rb") as fh:
        head = fh.read(80)
    if head and not head.startswith(_XPT_LIBRARY_HEADERS):
        raise BadInputError(
            f"{path.name}: is not a SAS transport (XPT) file: it does not begin with the XPT library header record "
            "(another file under an .xpt name? save the dataset with SAS XPORT or give the file its own extension)"
        )
    # SAS XPT v5/v6 is a sequence of 80-byte records: any other size means the file was cut off
    # (pyreadstat would silently return the rows before the cut)
    size = path.stat().st_size
    if size % 80:
        raise BadInputError(
            f"{path.name}: the file is truncated: {size} bytes is not a whole number of 80-byte XPT records"
        )


_XPT_OBS_HEADER = b"HEADER RECORD*******OBS"  # the record before the observations (OBS in v5, OBSV8 in v8)
_XPT_MEMBER_HEADER = b"HEADER RECORD*******MEMB"  # the record opening each dataset (MEMBER in v5, MEMBV8 in v8)


def _check_xpt_single_member(path: Path) -> None:
    """An XPT library may hold several datasets (SAS PROC COPY to an XPORT libname writes AE and SUPPAE into one
    file); pyreadstat reads the first and then the next one's headers and records as its rows (SUPPAE's header
    loaded as AE records with misleading reasons, and rows of the same shape could pass as records). The loader
    takes one dataset per file, so a second member header on an 80-byte record boundary stops the load, naming
    the datasets. The member headers are found with one pass of bytes.find over the mapped file."""
    import mmap

    if path.stat().st_size == 0:
        return
    names: list[str] = []
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        at = mm.find(_XPT_MEMBER_HEADER)
        while at >= 0:
            if at % 80 == 0:
                v8 = mm[at + 20:at + 26] == b"MEMBV8"
                record = mm[at + 160:at + 240]  # after the member and descriptor headers: 'SAS', then the name
                names.append(record[8:40 if v8 else 16].decode("latin-1").strip() or "?")
            at = mm.find(_XPT_MEMBER_HEADER, at + 1)
    if len(names) > 1:
        raise BadInputError(
            f"{path.name}: the SAS transport file holds {len(names)} datasets ({', '.join(names)}); the loader reads "
            "one dataset per file, named after it: export each dataset to its own file (ae.xpt, suppae.xpt)"
        )


def _check_xpt_observations(path: Path, rows: int, widths: dict[str, int] | None) -> None:
    """A file cut off on an 80-byte boundary passes _check_xpt_size, and pyreadstat returns the whole
    observations before the cut without a word (half an AE file loaded as if complete). The observations
    follow the OBS header record, `rows` of sum(widths) bytes each, then blanks to the 80-byte boundary: bytes
    after the whole observations that are not blanks are an observation cut short. (A cut that falls exactly
    between observations and on a record boundary cannot be told from a complete file.)"""
    if not widths:
        return
    width = sum(widths.values())
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(1 << 20)  # headers and NAMESTR records: 140 bytes per variable
        at = head.find(_XPT_OBS_HEADER)
        if at < 0 or at % 80 or head.find(_XPT_OBS_HEADER, at + 80) >= 0:  # not found, or a library of several
            return
        start = at + 80
        rest = size - start - rows * width
        if rest <= 0 or width == 0:
            return
        fh.seek(size - rest)
        tail = fh.read(rest)
    if tail.strip(b" "):
        raise BadInputError(
            f"{path.name}: the file is truncated: it ends {rest} bytes into an observation after {rows} whole ones "
            f"of {width} bytes (export interrupted?)"
        )


def _sas_numeric(frame: pl.DataFrame) -> frozenset[str]:
    """Columns that pyreadstat gives as numbers (a SAS numeric variable without a date format: one with
    DATE9., E8601DA., DATETIME20., ... comes back as a date) holding a value, named as _stringify names them."""
    numeric = [c for c, dtype in frame.schema.items() if dtype.is_numeric()]
    if not numeric:
        return frozenset()
    has_value = frame.select(pl.col(c).fill_nan(None).is_not_null().any() for c in numeric).row(0)
    names = _column_names(frame.columns)
    return frozenset(names[c] for c, has in zip(numeric, has_value, strict=True) if has)


def _xpt_encodings(encoding: str) -> list[str]:
    return ["utf-8", "cp1252", "gb18030"] if encoding == "auto" else [encoding]


def _gb18030_read_as_cp1252(frame: pl.DataFrame) -> bool:
    """Text that decoded as cp1252 but is GB18030 (a Chinese site's SAS session): '恶心' read as '¶ñÐÄ'.

    Chinese text is pairs of high bytes that cp1252 decodes without complaint, so the bytes are taken
    back from the text and judged as detect_encoding judges a CSV file's (_gb2312_share)."""
    sample: list[bytes] = []
    size = 0
    for name, dtype in frame.schema.items():
        if dtype != pl.String or size > 1 << 16:
            continue
        column = frame.get_column(name)
        for value in column.filter(column.str.contains(r"[^\x00-\x7F]")).head(2000):
            sample.append(value.encode("cp1252", errors="ignore"))
            size += len(sample[-1])
    share = _gb2312_share(b" ".join(sample)) if sample else None
    return share is not None and share >= 0.8


def read_xpt(path: Path, encoding: str = "auto") -> ReadResult:
    import pyreadstat

    _check_xpt_size(path)
    _check_xpt_single_member(path)
    last_error: Exception | None = None
    for enc in _xpt_encodings(encoding):
        try:
            frame, meta = pyreadstat.read_xport(str(path), output_format="polars", encoding=enc)
        except Exception as exc:  # pyreadstat raises its own error types per problem
            last_error = exc
            continue
        if encoding == "auto" and enc == "cp1252" and _gb18030_read_as_cp1252(frame):
            continue  # GB18030, the next one
        _check_xpt_observations(path, frame.height, getattr(meta, "variable_storage_width", None))
        check_column_names(frame.columns, path)
        return ReadResult(_stringify(frame), enc, None, _sas_numeric(frame))
    raise BadInputError(f"{path.name}: cannot be read as SAS XPT ({last_error})")


def _xpt_batches(path: Path, encoding: str, batch_rows: int, sas_numeric: set[str]) -> Iterator[pl.DataFrame]:
    """A large XPT file in chunks: read whole, 3 M lab rows took 4.5 GB (chunked: 2.2 GB, though
    pyreadstat reads chunks ~1.8x slower). With --encoding auto the encoding is settled on the
    first chunk (UTF-8, else cp1252, or GB18030 when the text read as cp1252 is Chinese); a later chunk that does not decode stops the load, since
    the batches before it are already loaded: the message asks for --encoding."""
    import pyreadstat

    _check_xpt_size(path)
    _check_xpt_single_member(path)

    widths: dict[str, int] = {}

    def chunks(enc: str) -> Iterator[pl.DataFrame]:
        for frame, meta in pyreadstat.read_file_in_chunks(
            pyreadstat.read_xport, str(path), chunksize=batch_rows, output_format="polars", encoding=enc
        ):
            widths.update(getattr(meta, "variable_storage_width", None) or {})
            yield frame

    stream, first, last_error = None, None, None
    for enc in _xpt_encodings(encoding):
        try:
            stream = chunks(enc)
            first = next(stream, None)
        except Exception as exc:  # pyreadstat raises its own error types per problem
            stream, last_error = None, exc
            continue
        if encoding == "auto" and enc == "cp1252" and first is not None and _gb18030_read_as_cp1252(first):
            stream = None  # GB18030, the next one
            continue
        break
    if stream is None:
        raise BadInputError(f"{path.name}: cannot be read as SAS XPT ({last_error})")
    if first is None:
        return
    check_column_names(first.columns, path)
    sas_numeric.update(_sas_numeric(first))
    yield _stringify(first)
    first_row = first.height + 1
    try:
        for frame in stream:
            sas_numeric.update(_sas_numeric(frame))
            yield _stringify(frame, first_row=first_row)
            first_row += frame.height
    except Exception as exc:  # a later chunk that does not decode, or a broken record
        raise BadInputError(
            f"{path.name}: cannot be read as SAS XPT from row {first_row} on ({exc}); "
            "if it is an encoding problem, pass --encoding NAME"
        ) from exc
    # after the last chunk: the load stops before any of it becomes a cut
    _check_xpt_observations(path, first_row - 1, widths)


def _xlsx_error_cells(raw: pl.DataFrame, errors: object, path: Path) -> pl.DataFrame:
    """Error cells (#DIV/0!, #N/A, #VALUE!, ...) as the text the spreadsheet shows, as a CSV export holds
    them: the engine gives no value for them, and a #DIV/0! LBSTRESN loaded as a missing result."""
    cells = list(getattr(errors, "errors", None) or [])
    if not cells:
        return raw
    by_column: dict[int, tuple[list[int], list[str]]] = {}
    for cell in cells:
        row, column = cell.position
        text = error_text(cell.detail)
        if text is None:  # not an error cell: a value the engine could not give as text
            raise BadInputError(f"{path.name}: a cell of the first sheet (row {row + 1} of its data range, column "
                                f"{column + 1}) cannot be read: {cell.detail}")
        rows, texts = by_column.setdefault(column, ([], []))
        rows.append(row)
        texts.append(text)
    columns = []
    for column, (rows, texts) in by_column.items():
        name = raw.columns[column]
        columns.append(raw[name].scatter(rows, texts))
    return raw.with_columns(columns)


def _xlsx_time_cells(raw: pl.DataFrame, date1904: bool) -> pl.DataFrame:
    """A time-only cell (08:30) is a date-time on the day of serial 0, which Excel shows as no date at all:
    its time alone ('08:30:00'), not '1899-12-31T08:30:00', a date no trial record has."""
    day0 = "1904-01-01" if date1904 else "1899-12-31"
    pattern = rf"^{day0} (\d{{2}}:\d{{2}}:\d{{2}})(?:\.(\d+))?$"
    exprs = []
    for name in raw.columns:
        col = pl.col(name)
        fraction = col.str.extract(pattern, 2).str.strip_chars_end("0")
        fraction = pl.when(fraction.is_null() | (fraction == "")).then(pl.lit("")).otherwise("." + fraction)
        time = col.str.extract(pattern, 1)
        exprs.append(pl.when(time.is_null()).then(col).otherwise(time + fraction).alias(name))
    return raw.with_columns(exprs)


def _xlsx_other_sheets(book: object, first: str, hidden: bool, header: list[str], path: Path) -> None:
    """Only the first sheet is read: a later sheet whose header row names USUBJID or a column of the first
    sheet holds records too (a lab workbook with a sheet per category), which would be lost unsaid."""
    wanted = {h.strip().upper() for h in header if h.strip()} | {"USUBJID"}
    for index, name in enumerate(book.sheet_names[1:], start=1):
        try:
            top = pl.DataFrame(book.load_sheet(index, header_row=None, dtypes="string", n_rows=1).to_arrow())
        except Exception:  # a sheet the engine cannot read is not one of records
            continue
        names = {str(v).strip().upper() for v in (top.row(0) if top.height else ()) if v is not None}
        shared = sorted(names & wanted)
        if shared:
            listed = ", ".join(shared[:4]) + (", ..." if len(shared) > 4 else "")
            raise BadInputError(
                f"{path.name}: sheet {name!r} holds records too (its header names {listed}), but only the first sheet "
                f"({first!r}{', which is hidden' if hidden else ''}) of a workbook is read: save each sheet as a file "
                "of its own (split domains may be named apart, e.g. lbch.xlsx and lbhe.xlsx) or put the records on "
                "the first sheet"
            )


EXCEL_MAX_ROWS = 1_048_576  # rows of an XLSX worksheet (Excel, LibreOffice)


def read_xlsx(path: Path, encoding: str = "auto") -> ReadResult:
    import fastexcel

    try:
        # read without a header, so that the header row is seen as written (the reader would
        # rename a repeated name AETERM, AETERM_1) and the sheet is parsed once
        # and with its empty rows: a row left empty between records is a blank_row (etl/normalise), and
        # the records after it keep their row numbers; every cell as text, with the cells that have no
        # text (error cells) listed
        book = fastexcel.read_excel(str(path))
        sheet = book.load_sheet(0, header_row=None, dtypes="string")
        batch, errors = sheet.to_arrow_with_errors()
        raw = pl.DataFrame(batch)
    except Exception as exc:
        reason = str(exc).strip().split("\n", 1)[0]  # the engine's first line; the rest is its traceback
        raise BadInputError(f"{path.name}: cannot be read as XLSX ({reason})") from exc
    if raw.height == 0:
        raise BadInputError(f"{path.name}: the first sheet is empty (no header row)")
    if raw.height >= EXCEL_MAX_ROWS:
        # a spreadsheet program opening a larger CSV keeps its first 1,048,576 lines and saves only those
        raise BadInputError(
            f"{path.name}: the first sheet fills all {EXCEL_MAX_ROWS:,} rows a worksheet can hold: the rows after them "
            "were most likely cut off when the file was saved in a spreadsheet program; export this domain as CSV, "
            "SAS XPT or Parquet"
        )
    raw = raw.rename(dict(zip(raw.columns, [f"column_{i}" for i in range(raw.width)], strict=True)))
    facts = xlsx.inspect(path)
    if facts.n_uncomputed:
        cells = ", ".join(f"{ref} ={formula}" for ref, formula in facts.uncomputed)
        raise BadInputError(
            f"{path.name}: {facts.n_uncomputed} formula cell(s) of the first sheet hold no computed value ({cells}"
            f"{', ...' if facts.n_uncomputed > len(facts.uncomputed) else ''}): the workbook was written by a program "
            "that does not calculate formulas, and they would load as empty or 0; open and save it in a spreadsheet "
            "program (which computes them), or write values instead of formulas"
        )
    raw = _xlsx_time_cells(_xlsx_error_cells(raw, errors, path), facts.date1904)
    header = ["" if v is None else str(v) for v in raw.row(0)]
    check_column_names(header, path)
    _xlsx_other_sheets(book, sheet.name, sheet.visible != "visible", header, path)
    names = [f"UNNAMED_{i}" if not h.strip() else h for i, h in enumerate(header, start=1)]
    frame = raw.slice(1).rename(dict(zip(raw.columns, names, strict=True)))
    return ReadResult(_stringify(frame, cells=True), None, None)


def _parquet_error(path: Path, exc: Exception) -> BadInputError:
    reason = str(exc).strip().split("\n", 1)[0]  # Polars' first line; the rest is the expression it evaluated
    return BadInputError(f"{path.name}: cannot be read as Parquet ({reason})")


def _check_parquet_columns(schema: pl.Schema, path: Path) -> None:
    """Every column must hold one value per cell: a list, struct, array or map column (nested Parquet) has
    no text of its own, and stopped the load with Polars' cast error naming no file."""
    for name, dtype in schema.items():
        if dtype.is_nested():
            raise BadInputError(
                f"{path.name}: column {name} holds nested values ({dtype}), not one value per cell: export it as "
                "flat columns (text, numbers, dates)"
            )


def _is_utf8_bytes(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _parquet_text(frame: pl.DataFrame, path: Path, first_row: int) -> pl.DataFrame:
    """Binary columns (strings written without their UTF-8 annotation, as older Spark and Impala do) as text,
    and durations as ISO 8601 ('PT1H30M', the form of SDTM's --DUR); bytes that are no UTF-8 stop the load
    naming the column and row (a lenient cast would make them NULL)."""
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Binary:
            try:
                exprs.append(frame[name].cast(pl.String))
            except pl.exceptions.PolarsError:
                bad = next(i for i, v in enumerate(frame[name]) if v is not None and not _is_utf8_bytes(v))
                raise BadInputError(
                    f"{path.name}: column {name} holds bytes that are not UTF-8 text (row {first_row + bad})"
                ) from None
        elif isinstance(dtype, pl.Duration):
            exprs.append(pl.col(name).dt.to_string("iso").alias(name))
    return frame.with_columns(exprs) if exprs else frame


def read_parquet(path: Path, encoding: str = "auto") -> ReadResult:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:
        raise _parquet_error(path, exc) from exc
    check_column_names(frame.columns, path)
    _check_parquet_columns(frame.schema, path)
    return ReadResult(_stringify(_parquet_text(frame, path, 1)), None, None)


def _parquet_batches(path: Path, batch_rows: int) -> Iterator[pl.DataFrame]:
    """A Parquet file streamed in batches (a program-scale export is never held whole)."""
    try:
        scan = pl.scan_parquet(path)
        schema = scan.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _parquet_error(path, exc) from exc
    check_column_names(schema.names(), path)
    _check_parquet_columns(schema, path)
    first_row = 1
    try:
        for batch in scan.collect_batches(chunk_size=batch_rows):
            yield _stringify(_parquet_text(batch, path, first_row), first_row=first_row)
            first_row += batch.height
        if first_row == 1:
            yield _stringify(_parquet_text(scan.head(0).collect(), path, 1))
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _parquet_error(path, exc) from exc


READERS = {"csv": read_csv, "xpt": read_xpt, "xlsx": read_xlsx, "parquet": read_parquet}


def read_file(path: Path, encoding: str = "auto") -> ReadResult:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BadInputError(f"{path.name}: unsupported file type {path.suffix!r}")
    return READERS[fmt](path, encoding)
