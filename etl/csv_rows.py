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
from collections.abc import Iterator
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


def _lines(source: Path) -> pl.LazyFrame:
    return pl.scan_lines(source, name="text", row_index_name="line", row_index_offset=1)


def _is_blank(fields: list[str] | tuple[str, ...]) -> bool:
    return all(not f.strip() for f in fields)


def _scan_all(source: Path, delimiter: str, n_fields: int, skip_lines: int,
              spans: list[tuple[int, int]] | None) -> list[RaggedRow]:
    """Every record of the file through the csv module (fields may span lines); the lines of each
    record over more than one line go to `spans`."""
    ragged = []
    # lines end at LF only, as for Polars and copy_without (a lone CR inside a quoted field is data)
    with source.open("r", encoding="utf-8-sig", newline="\n") as fh:
        for _ in range(skip_lines):
            fh.readline()
        reader = csv.reader(fh, delimiter=delimiter, quotechar=QUOTE)
        try:
            next(reader, None)  # the header
            last = reader.line_num
            for row, fields in enumerate(reader, start=1):
                if len(fields) != n_fields and not _is_blank(fields):
                    ragged.append(RaggedRow(row, skip_lines + last + 1, skip_lines + reader.line_num, tuple(fields)))
                if spans is not None and reader.line_num > last + 1:
                    spans.append((skip_lines + last + 1, skip_lines + reader.line_num))
                last = reader.line_num
        except csv.Error as exc:  # e.g. a lone CR in an unquoted field
            raise csv.Error(f"line {skip_lines + reader.line_num}: {str(exc).split(' - ')[0]}") from exc
    return ragged


def find_ragged_rows(source: Path, delimiter: str, n_fields: int, skip_lines: int = 0,
                     spans: list[tuple[int, int]] | None = None) -> list[RaggedRow]:
    """The records of a UTF-8 CSV file that do not have `n_fields` fields (the header follows
    `skip_lines` lines, e.g. Excel's 'sep=;'). `spans`, when given, receives (first line, last
    line) of every record over more than one line, ragged or not (see :func:`broken_quoting`)."""
    header_line = skip_lines + 1
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
        return _scan_all(source, delimiter, n_fields, skip_lines, spans)
    # every line is one record (record number = line - header line). A line in an export that quotes every
    # field is cleared by counting: with n fields, 2n quotes, n-1 delimiters, n-1 '","' and a quote
    # at each end, every quote opens or closes a field and no delimiter sits inside one
    separator = f'"{delimiter}"'
    all_quoted = (
        (pl.col("quotes") == 2 * n_fields) & (pl.col("delimiters") == n_fields - 1)
        & (pl.col("text").str.count_matches(separator, literal=True) == n_fields - 1)
        & pl.col("text").str.starts_with(QUOTE) & pl.col("text").str.ends_with(QUOTE)
    )
    suspects = suspects.filter(~all_quoted)
    ragged = []
    for line, value in suspects.select("line", "text").iter_rows():
        fields = next(csv.reader(io.StringIO(value), delimiter=delimiter, quotechar=QUOTE), [])
        if len(fields) != n_fields and not _is_blank(fields):
            ragged.append(RaggedRow(line - header_line, line, line, tuple(fields)))
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


def copy_without(source: Path, target: Path, ragged: list[RaggedRow]) -> Path:
    """`source` without the lines of the ragged records (byte for byte otherwise)."""
    skip = {n for r in ragged for n in range(r.first_line, r.last_line + 1)}
    with source.open("rb") as src, target.open("wb") as dst:
        for number, line in enumerate(src, start=1):
            if number not in skip:
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
        yield f"row {r.row} ({where}) has {len(r.fields)} fields, the header has {n_fields}"
