"""Ragged CSV records: rows whose number of fields differs from the header's.

Polars pads a short row with nulls without a word (a line cut short would load with its grade
and dates missing) and stops at a long row (an unquoted comma in a free-text field) without
naming it. So every CSV file is screened first, cheaply: one Polars pass over its lines counts
delimiters and quotes. A line without quotes is one record, and it is ragged exactly when its
delimiter count is wrong. A line of an export that quotes every field is cleared by counting its
quotes and separators; other lines with quotes are parsed one by one with the csv module. A line
with an odd number of quotes opens a field that continues on the next line, and then the whole
file is parsed with the csv module (the only way to know where such records end). Lines end at
LF, as for Polars. An Excel 'sep=;' line before the header is skipped.

Ragged records are quarantined (reason `malformed_row`) by the loader; the rest of the file is
read from a copy without them, and its row numbers are mapped back to the original file's.
Blank lines are not ragged: they stay rows of nulls, quarantined as blank_row (etl/normalise).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

QUOTE = '"'


@dataclass(frozen=True)
class RaggedRow:
    row: int  # 1-based record number, the header being row 0 (as _ROW)
    first_line: int  # 1-based lines of the file the record spans (the header is line 1, or 2 after 'sep=;')
    last_line: int
    fields: tuple[str, ...]
    problem: str = ""  # what is wrong when it is not the number of fields (a quote)


@dataclass(frozen=True)
class StrayQuote:
    """A record with a quote inside a value that is not quoted (`Laceration 2" long`): the csv module reads
    the quote as a plain character, as spreadsheet programs do, but Polars stops at it ('CSV malformed')
    without naming the line. The copy the loader parses gets the record quoted (`"Laceration 2"" long"`),
    so the values are the ones the file shows."""

    row: int
    first_line: int
    last_line: int
    text: str  # the record as RFC 4180 writes it, without its line end
    value: str  # the first value holding the quote


def _lines(source: Path) -> pl.LazyFrame:
    return pl.scan_lines(source, name="text", row_index_name="line", row_index_offset=1)


def _is_blank(fields: list[str] | tuple[str, ...]) -> bool:
    return all(not f.strip() for f in fields)


def quote_suspect_pattern(delimiter: str) -> str:
    """A regular expression a record's text matches when its quotes may be in trouble (_quote_trouble): a quote
    between two characters that are neither a quote nor the delimiter (`2" long`, `"Pain"x`), or a quote in a
    value that does not open with one (`Tube 5"`). A quoted value with the delimiter inside matches too (the
    check then clears it); a record quoted as RFC 4180 asks, each quote inside a value doubled, does not."""
    d = re.escape(delimiter)
    return rf'[^{d}"]"[^{d}"]|(^|{d})[^"{d}][^{d}]*"'


def _quote_trouble(raw: str, fields: list[str], delimiter: str) -> tuple[str, str] | None:
    """What is wrong with the quotes of one record (its text `raw` and its fields as the csv module read them),
    or None: ("rewrite", the record quoted as RFC 4180 asks) for a quote inside an unquoted value, read as a
    plain character; ("malformed", why) for text after a quoted value's closing quote (`"ab"c`), which the csv
    module reads as 'abc' and Polars refuses: what the value is, the file does not say."""
    try:
        next(csv.reader(io.StringIO(raw), delimiter=delimiter, quotechar=QUOTE, strict=True), None)
    except csv.Error:
        return "malformed", ("text follows the closing quote of a quoted value (a quote inside it not doubled?): "
                             f"{raw[:120]!r}")
    for value in fields:
        if QUOTE in value and QUOTE + value.replace(QUOTE, QUOTE * 2) + QUOTE not in raw:
            out = io.StringIO()
            csv.writer(out, delimiter=delimiter, quotechar=QUOTE, quoting=csv.QUOTE_MINIMAL,
                       lineterminator="").writerow(fields)
            return "rewrite", out.getvalue()
    return None


def _scan_all(source: Path, delimiter: str, n_fields: int, skip_lines: int,
              spans: list[tuple[int, int]] | None, stray: list[StrayQuote] | None) -> list[RaggedRow]:
    """Every record of the file through the csv module (fields may span lines); the lines of each
    record over more than one line go to `spans`, records with a quote inside an unquoted value to `stray`."""
    ragged = []
    suspect = re.compile(quote_suspect_pattern(delimiter))
    text: list[str] = []  # the lines of the record being read (the reader reads no further than its end)

    def lines(fh: io.TextIOBase) -> Iterator[str]:
        for line in fh:
            text.append(line)
            yield line

    # lines end at LF only, as for Polars and copy_without (a lone CR inside a quoted field is data)
    with source.open("r", encoding="utf-8-sig", newline="\n") as fh:
        for _ in range(skip_lines):
            fh.readline()
        reader = csv.reader(lines(fh), delimiter=delimiter, quotechar=QUOTE)
        try:
            next(reader, None)  # the header
            text.clear()
            last = reader.line_num
            for row, fields in enumerate(reader, start=1):
                raw = "".join(text).removesuffix("\n").removesuffix("\r")
                text.clear()
                first = skip_lines + last + 1
                if len(fields) != n_fields and not _is_blank(fields):
                    ragged.append(RaggedRow(row, first, skip_lines + reader.line_num, tuple(fields)))
                elif suspect.search(raw) and (trouble := _quote_trouble(raw, fields, delimiter)) is not None:
                    _note_trouble(trouble, row, first, skip_lines + reader.line_num, fields, ragged, stray)
                if spans is not None and reader.line_num > last + 1:
                    spans.append((skip_lines + last + 1, skip_lines + reader.line_num))
                last = reader.line_num
        except csv.Error as exc:  # e.g. a lone CR in an unquoted field
            raise csv.Error(f"line {skip_lines + reader.line_num}: {str(exc).split(' - ')[0]}") from exc
    return ragged


def _note_trouble(trouble: tuple[str, str], row: int, first: int, last: int, fields: list[str],
                  ragged: list[RaggedRow], stray: list[StrayQuote] | None) -> None:
    kind, what = trouble
    if kind == "malformed":
        ragged.append(RaggedRow(row, first, last, tuple(fields), what))
    elif stray is not None:
        value = next(v for v in fields if QUOTE in v)
        stray.append(StrayQuote(row, first, last, what, value))


def find_ragged_rows(source: Path, delimiter: str, n_fields: int, skip_lines: int = 0,
                     spans: list[tuple[int, int]] | None = None,
                     stray: list[StrayQuote] | None = None, header_lines: int = 1) -> list[RaggedRow]:
    """The records of a UTF-8 CSV file that do not have `n_fields` fields (the header follows
    `skip_lines` lines, e.g. Excel's 'sep=;'), or whose text goes on after a quoted value's closing quote.
    `spans`, when given, receives (first line, last line) of every record over more than one line, ragged
    or not (see :func:`broken_quoting`); `stray` the records with a quote inside an unquoted value
    (:class:`StrayQuote`), which copy_without writes quoted. `header_lines`: the lines the header spans (a quoted
    name with a line break in it)."""
    header_line = skip_lines + header_lines
    # counts on the raw lines (a CR before the LF changes neither); text work only on the suspects
    suspects = (
        _lines(source)
        .filter(pl.col("line") > header_line)
        .with_columns(
            pl.col("text").str.count_matches(QUOTE, literal=True).alias("quotes"),
            pl.col("text").str.count_matches(delimiter, literal=True).alias("delimiters"),
        )
        .filter((pl.col("quotes") > 0) | (pl.col("delimiters") != n_fields - 1))
        .with_columns(pl.col("text").str.strip_chars_end("\r"))
        .filter((pl.col("quotes") > 0) | (pl.col("text").str.strip_chars() != ""))
        .collect()
    )
    if suspects.height == 0:
        return []
    if (suspects["quotes"] % 2 == 1).any():
        return _scan_all(source, delimiter, n_fields, skip_lines, spans, stray)
    # every line is one record (record number = line - header line). A line in an export that quotes every
    # field is cleared by counting: with n fields, 2n quotes, n-1 delimiters, n-1 '","' and a quote
    # at each end, every quote opens or closes a field and no delimiter sits inside one
    separator = f'"{delimiter}"'
    all_quoted = (
        (pl.col("quotes") == 2 * n_fields) & (pl.col("delimiters") == n_fields - 1)
        & (pl.col("text").str.count_matches(separator, literal=True) == n_fields - 1)
        & pl.col("text").str.starts_with(QUOTE) & pl.col("text").str.ends_with(QUOTE)
    )
    suspects = suspects.filter(~all_quoted).with_columns(
        pl.col("text").str.contains(quote_suspect_pattern(delimiter)).alias("quote_suspect")
    )
    ragged = []
    for line, value, quote_suspect in suspects.select("line", "text", "quote_suspect").iter_rows():
        try:
            fields = next(csv.reader(io.StringIO(value), delimiter=delimiter, quotechar=QUOTE), [])
        except csv.Error as exc:  # a CR alone (mixed line ends): name the line, as _scan_all does
            raise csv.Error(f"line {line}: {str(exc).split(' - ')[0]}") from exc
        if len(fields) != n_fields and not _is_blank(fields):
            ragged.append(RaggedRow(line - header_line, line, line, tuple(fields)))
        elif quote_suspect and (trouble := _quote_trouble(value, fields, delimiter)) is not None:
            _note_trouble(trouble, line - header_line, line, line, fields, ragged, stray)
    return ragged


@dataclass(frozen=True)
class BrokenQuote:
    """A record whose quoted value runs over lines that look like records of their own."""

    first_line: int
    last_line: int
    swallowed: int  # lines inside it with no quote, the header's number of fields and a value
    at_end: bool  # the value runs to the end of the file (the quote is never closed)


def broken_quoting(source: Path, spans: list[tuple[int, int]], delimiter: str, n_fields: int) -> BrokenQuote | None:
    """The first record over several lines (`spans`, from find_ragged_rows) whose later lines each
    look like a complete record (no quote, the header's number of fields, not blank), or None.

    A quote that opens a value and is not closed where it should be (a stray `"` at the start of a
    field, a quote inside a value that was not doubled) takes the following lines into that value,
    up to the next quote or the end of the file. The records on those lines are gone: inside one
    malformed row, or silently when the merged record happens to have the header's number of fields
    (a second stray quote closes the value). An EX file would lose doses, and DLT evaluability with
    them, so the caller refuses the file. A value that truly spans lines (a comment with a line
    break) holds no such lines.
    """
    if not spans:
        return None
    inner = pl.concat([pl.int_range(a + 1, b + 1, eager=True) for a, b in spans]).alias("line")
    found = (
        _lines(source).filter(pl.col("line").is_in(inner.implode()))
        .with_columns(pl.col("text").str.strip_chars_end("\r"))
        .filter(
            (pl.col("text").str.count_matches(QUOTE, literal=True) == 0)
            & (pl.col("text").str.count_matches(delimiter, literal=True) == n_fields - 1)
            & (pl.col("text").str.replace_all(delimiter, "", literal=True).str.strip_chars() != "")
        )
        .select("line").collect()["line"]
    )
    if found.len() == 0:
        return None
    first = int(found.min())  # the first swallowed line names the record that holds it
    a, b = next((a, b) for a, b in spans if a < first <= b)
    swallowed = int(((found > a) & (found <= b)).sum())
    total = _lines(source).select(pl.len()).collect().item()
    return BrokenQuote(a, b, swallowed, b >= total)


def copy_without(source: Path, target: Path, ragged: list[RaggedRow], stray: Sequence[StrayQuote] = ()) -> Path:
    """`source` without the lines of the ragged records, the `stray` ones written quoted (byte for byte
    otherwise). Both keep the record count of the others, so original_rows maps the rows back."""
    skip = {n for r in [*ragged, *stray] for n in range(r.first_line, r.last_line + 1)}
    quoted = {s.first_line: s.text for s in stray}
    with source.open("rb") as src, target.open("wb") as dst:
        for number, line in enumerate(src, start=1):
            if number in quoted:
                dst.write(quoted[number].encode("utf-8") + b"\n")
            elif number not in skip:
                dst.write(line)
    return target


def original_rows(rows: pl.Series, ragged: list[RaggedRow]) -> pl.Series:
    """Row numbers of the copy without `ragged` -> row numbers of the original file.

    The k-th removed record (0-based, by row) has `row - 1 - k` kept records before it; a kept row
    r of the copy moves up by the number of removed records with fewer than r kept before them.
    """
    if not ragged:
        return rows
    removed = np.array(sorted(r.row for r in ragged), dtype=np.int64)
    kept_before = removed - 1 - np.arange(len(removed))
    shift = np.searchsorted(kept_before, rows.to_numpy(), side="left")
    return pl.Series(rows.name, rows.to_numpy() + shift, dtype=rows.dtype)


def describe(ragged: list[RaggedRow], n_fields: int, limit: int = 3) -> Iterator[str]:
    for r in ragged[:limit]:
        where = f"line {r.first_line}" if r.first_line == r.last_line else f"lines {r.first_line}-{r.last_line}"
        yield (f"row {r.row} ({where}): {r.problem}" if r.problem
               else f"row {r.row} ({where}) has {len(r.fields)} fields, the header has {n_fields}")


def stray_quote_note(name: str, stray: list[StrayQuote]) -> str:
    """What the load says of records read with a quote inside an unquoted value."""
    s = stray[0]
    where = f"line {s.first_line}" if s.first_line == s.last_line else f"lines {s.first_line}-{s.last_line}"
    return (f"{name}: {len(stray)} record(s) have a quote inside a value that is not quoted (row {s.row}, {where}: "
            f"{s.value[:60]!r}); read with the quote as a character, as a spreadsheet shows it (RFC 4180 asks for "
            "such a value to be quoted and its quote doubled)")
