"""Typing and quarantine: text records of one domain -> typed raw.<domain> rows + quarantined rows.

Rules (DESIGN.md input contract, docs/architecture.md raw conventions):
- text trimmed, empty -> NULL; --SEQ -> Int64; other numeric SDTM variables -> Float64 (text that is
  not a number -> NULL, kept as <VAR>_TEXT unless the variable is strict);
- every --DTC keeps its text and gains <NAME>_DT (imputed date) and <NAME>_DTF (imputation flag);
- a row is quarantined (never dropped) with the FIRST reason that applies, in this order:
  blank_row (no value in any column: a blank CSV line, one of only delimiters or missing-value
  markers, an empty workbook row; not a record, but counted, so rows read = rows loaded + rows
  quarantined and the data manager sees where it was), missing_required (a key column or a
  required date is empty), invalid_date (a required date's
  text is not a valid ISO 8601 date; an invalid optional date keeps its row with the date
  unknown and <VAR>_DTF = 'X'), non_numeric (text in a number column the analysis
  needs, e.g. LBSTRESN), unknown_subject (USUBJID not in DM); duplicate_key (second and later
  rows with the same key) is decided over the whole domain by the loader.

Speed: every typed column and every reason's condition is computed once, in one parallel pass;
the details of a reason (the message naming the value) only for the rows it quarantines.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from etl.dates import COMPLETE_DATE, date_form_hint, parse_iso_date, parse_iso_date_columns
from etl.domains import DomainSpec, is_date, is_end_date, is_numeric, is_seq
from etl.readers import MISSING_TEXT

QUARANTINE_SCHEMA = {
    "domain": pl.String,
    "file": pl.String,
    "row_number": pl.Int64,
    "reason": pl.String,
    "detail": pl.String,
    "record": pl.String,
}

TEXT_SUFFIX = "_TEXT"  # <VAR>_TEXT: the text of an optional numeric value that is not a number
DATE_SUFFIX = "_DT"  # <VAR>_DT: the date derived from a --DTC
DATE_FLAG_SUFFIX = "_DTF"  # <VAR>_DTF: its imputation flag
BLANK_ROW_DETAIL = "the row has no values (a blank line, or only delimiters or missing-value markers)"
INVALID_DATE_FLAG = "X"  # <VAR>_DTF when the text is not a valid ISO 8601 date (date unknown)
# ASCII digits only: the regex engine's \d also matches other scripts' digits ('١٢'), which the cast
# to a number does not read
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"


# Helper columns are named in lower case (_q0, _t0, _bad, ...): every data column is upper case (the
# readers upper-case the header, the column mapping its targets, the loader each QNAM), so an export's
# column can never be taken for one, whatever its name. _FILE and _ROW are the only names kept for the
# loader itself (etl/readers refuses them in a header).


def derived_names(columns: list[str] | set[str], spec: DomainSpec) -> dict[str, str]:
    """The columns typing adds to raw.<domain>, each with the column it comes from: <VAR>_DT and <VAR>_DTF
    for every --DTC, <VAR>_TEXT for a numeric variable whose text is kept (not a --SEQ, key or strict one)."""
    out: dict[str, str] = {}
    for col in columns:
        if is_date(col):
            out[f"{col}{DATE_SUFFIX}"] = col
            out[f"{col}{DATE_FLAG_SUFFIX}"] = col
        elif is_numeric(col) and not _strict_number(col, spec):
            out[f"{col}{TEXT_SUFFIX}"] = col
    return out


def _strict_number(col: str, spec: DomainSpec) -> bool:
    """A number the row cannot do without (--SEQ, a key, a strict variable such as LBSTRESN): text there
    quarantines the row; in any other numeric variable the text is kept as <VAR>_TEXT."""
    return is_seq(col) or col in spec.strict_numeric or col in spec.key_columns


@dataclass(frozen=True)
class _Reason:
    name: str  # the quarantine reason
    flag: str  # the helper column holding the condition
    detail: Callable[[], pl.Expr]  # the message, evaluated on the quarantined rows only


def _record_json(frame: pl.DataFrame, columns: list[str]) -> pl.Series:
    rows = frame.select(columns).to_dicts()
    return pl.Series("record", [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows])


def _trimmed(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Text trimmed, and empty or a missing marker -> null, touching only the columns that have something to trim.

    Most exports are clean, and a column that needs no trimming is then not rewritten (a length
    comparison is cheaper than a whitespace regex, measured on 2 M lab rows).
    """
    if not columns:
        return frame
    padded = frame.select(
        ((pl.col(c).str.strip_chars().str.len_bytes() != pl.col(c).str.len_bytes()) | (pl.col(c) == "")).any().alias(c)
        for c in columns
    ).row(0)
    dirty = [c for c, has in zip(columns, padded, strict=True) if has]
    # a missing marker with blanks around it (' NA', 'N/A ') is missing too, as the XLSX, XPT and Parquet readers
    # read it (the CSV reader's null_values match the exact text only)
    return frame.with_columns(
        pl.col(c).str.strip_chars().replace(MISSING_TEXT, None).alias(c) for c in dirty
    )


def _invalid_date_detail(col: str) -> pl.Expr:
    """'LBDTC '2026-02-30' is not a valid ISO 8601 date', saying why when the text is in a form dates are often
    exported in (a number, 20260105, 2026/01/05, 05/01/2026, 05JAN2026: etl/dates.DATE_FORM_HINTS)."""
    plain = pl.format(f"{col} '{{}}' is not a valid ISO 8601 date", pl.col(col))
    hint = date_form_hint(pl.col(col))
    return pl.when(hint.is_not_null()).then(pl.format("{}: {}", plain, hint)).otherwise(plain)


# a number written with a decimal comma ('9,5', '-0,25'): one comma, digits on both sides, no point
DECIMAL_COMMA = r"^[+-]?\d+,\d+$"
# a number written with a point before three digits (1.234): a decimal, or, in a file that
# writes decimal commas, perhaps thousands grouped with points (German, Spanish, Italian Excel locales)
POINT_GROUPED = r"^[+-]?[1-9][0-9]{0,2}\.[0-9]{3}$"


def normalise_domain(
    frame: pl.DataFrame,
    spec: DomainSpec,
    known_subjects: pl.Series | None,
    decimal_comma: dict[str, int] | None = None,
    point_groups: dict[str, int] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (typed rows, quarantined rows) for one domain. `frame` holds text columns, _FILE, _ROW.

    With `decimal_comma` (a dict; the loader passes one for a CSV file delimited by other than a comma, as
    European-locale Excel writes them), a numeric variable's value written with a decimal comma ('9,5') is
    read as 9.5, and the dict counts such values per variable; the text columns keep what the file says.
    `point_groups` then counts the values written like '1.234' (a point before groups of three digits): read as
    1.234, though in a file that writes decimal commas the point may group thousands (1234), for the warning."""
    data_cols = [c for c in frame.columns if c not in ("_FILE", "_ROW")]
    text = _trimmed(frame, data_cols)

    reasons: list[_Reason] = []  # in priority order
    flags: list[pl.Expr] = []

    def add(name: str, cond: pl.Expr, detail: Callable[[], pl.Expr]) -> None:
        flag = f"_q{len(reasons)}"
        reasons.append(_Reason(name, flag, detail))
        flags.append(cond.alias(flag))

    if data_cols:
        add("blank_row", pl.all_horizontal(pl.col(c).is_null() for c in data_cols), lambda: pl.lit(BLANK_ROW_DETAIL))
    for col in spec.key_columns + spec.required_dates + spec.required_values:
        if col in data_cols:
            add("missing_required", pl.col(col).is_null(), lambda col=col: pl.lit(f"{col} is empty"))

    # date columns whose values are all complete YYYY-MM-DD dates (one cheap pass) take the fast path
    date_cols = [c for c in data_cols if is_date(c)]
    complete = set()
    masks = pl.DataFrame()
    if date_cols and text.height:
        masks = text.select((pl.col(c).is_null() | pl.col(c).str.contains(COMPLETE_DATE)).alias(c) for c in date_cols)
        complete = {c for c in date_cols if masks[c].all()}

    typed: list[pl.Expr] = []
    outputs: list[tuple[str, str]] = []  # (column of the computed frame, name in raw.<domain>)
    kept_text: list[str] = []  # optional numeric columns whose non-numeric text is kept as <VAR>_TEXT
    for col in data_cols:
        if is_date(col):
            if col in complete or not text.height:
                date, flag, invalid = parse_iso_date(col, end=is_end_date(col), complete_only=col in complete)
            else:  # the general path for the rows that need it only (partial dates, times: usually a few)
                date, flag, invalid = (pl.lit(x) for x in parse_iso_date_columns(
                    text, col, end=is_end_date(col), complete=masks[col]))
            if col in spec.required_dates:
                add("invalid_date", invalid, lambda col=col: _invalid_date_detail(col))
            else:
                # an invalid optional date (AESTDTC, AEENDTC, DTHDTC...) must not take its record out of
                # the analysis (a grade 4 AE would leave DLT review): the row stays, the date is
                # unknown, the flag says why, and the check date_invalid lists it for the data manager
                flag = pl.when(invalid).then(pl.lit(INVALID_DATE_FLAG)).otherwise(flag)
            dt_col, dtf_col = f"{col}{DATE_SUFFIX}", f"{col}{DATE_FLAG_SUFFIX}"
            typed += [date.alias(dt_col), flag.alias(dtf_col)]
            outputs += [(col, col), (dt_col, dt_col), (dtf_col, dtf_col)]
        elif is_seq(col) or is_numeric(col):
            number = pl.col(col)
            if decimal_comma is not None and not is_seq(col) and text.height:
                comma = text.select(pl.col(col).str.contains(DECIMAL_COMMA).sum()).item()
                if comma:
                    decimal_comma[col] = decimal_comma.get(col, 0) + comma
                    number = (pl.when(pl.col(col).str.contains(DECIMAL_COMMA))
                              .then(pl.col(col).str.replace(",", ".", literal=True)).otherwise(pl.col(col)))
                if point_groups is not None:
                    grouped = text.select(pl.col(col).str.contains(POINT_GROUPED).sum()).item()
                    if grouped:
                        point_groups[col] = point_groups.get(col, 0) + grouped
            as_float = number.cast(pl.Float64, strict=False)
            # a number too large for a double ('1e999') reads as infinity: not a usable value either
            bad = pl.col(col).is_not_null() & (
                ~number.str.contains(_NUMBER) | ~as_float.is_finite().fill_null(False)
            )
            if _strict_number(col, spec):
                add("non_numeric", bad, lambda col=col: pl.format(f"{col} '{{}}' is not a number", pl.col(col)))
            else:
                # the value is unusable but the row is not: NULL as the number, and the text is kept
                # beside it (<VAR>_TEXT, only when the batch has such a value) so nothing is lost and
                # the check value_not_numeric can list it ('<5' as LBSTNRLO, '>89' as AGE)
                as_float = pl.when(bad).then(None).otherwise(as_float)
                typed.append(bad.alias(f"_nn{len(kept_text)}"))
                kept_text.append(col)
            if is_seq(col):
                not_whole = as_float.is_not_null() & (as_float != as_float.round(0))
                add("non_numeric", not_whole,
                    lambda col=col: pl.format(f"{col} '{{}}' is not a whole number", pl.col(col)))
                # integer text directly (a double would round '12345678901234567'), else a whole '1.0'
                as_int = pl.coalesce(pl.col(col).cast(pl.Int64, strict=False), as_float.cast(pl.Int64, strict=False))
                add("non_numeric", as_float.is_not_null() & (as_float == as_float.round(0)) & as_int.is_null(),
                    lambda col=col: pl.format(f"{col} '{{}}' is out of range for a sequence number", pl.col(col)))
                as_float = as_int
            # typed under a helper name: the text stays for the quarantine record and the details
            typed.append(as_float.alias(f"_t{len(outputs)}"))
            outputs.append((f"_t{len(outputs)}", col))
        else:
            outputs.append((col, col))

    if known_subjects is not None and "USUBJID" in data_cols:
        add(
            "unknown_subject",
            pl.col("USUBJID").is_not_null() & ~pl.col("USUBJID").is_in(known_subjects.implode()),
            lambda: pl.format("USUBJID '{}' is not in DM", pl.col("USUBJID")),
        )

    # one pass: typed values and every condition, side by side (Polars evaluates them in parallel)
    computed = text.with_columns(*typed, *flags)
    any_bad = pl.any_horizontal(pl.col(r.flag).fill_null(False) for r in reasons) if reasons else pl.lit(False)
    computed = computed.with_columns(any_bad.alias("_bad"))

    # duplicate keys are found across all batches of a domain by the loader (etl/loader.py
    # _remove_duplicates: the first row in file order is kept)
    good_rows = computed.filter(~pl.col("_bad"))
    texts = []
    if kept_text and good_rows.height:
        found = good_rows.select(pl.col(f"_nn{i}").fill_null(False).any() for i in range(len(kept_text))).row(0)
        texts = [pl.when(pl.col(f"_nn{i}")).then(pl.col(c)).alias(f"{c}{TEXT_SUFFIX}")
                 for i, (c, has) in enumerate(zip(kept_text, found, strict=True)) if has]
    loaded = good_rows.select(
        *[pl.col(source).alias(name) for source, name in outputs], *texts, pl.col("_FILE"), pl.col("_ROW").cast(pl.Int64)
    )

    quarantine = pl.DataFrame(schema=QUARANTINE_SCHEMA)
    bad_rows = computed.filter(pl.col("_bad"))
    if bad_rows.height:
        # the first reason that applies wins; each reason's detail is built on its own rows
        first = pl.coalesce(
            *[pl.when(pl.col(r.flag).fill_null(False)).then(pl.lit(i, pl.Int32)) for i, r in enumerate(reasons)]
        )
        bad_rows = bad_rows.with_columns(first.alias("_first"))
        parts = []
        for i, r in enumerate(reasons):
            # rechunk: Polars 2.1 panics ("binview ... i < self.len()") formatting filtered string views
            rows = bad_rows.filter(pl.col("_first") == i).rechunk()
            if rows.height:
                parts.append(rows.with_columns(pl.lit(r.name).alias("_reason"), r.detail().alias("_detail")))
        bad_rows = pl.concat(parts).sort("_ROW")
        quarantine = pl.DataFrame(
            {
                "domain": [spec.name.upper()] * bad_rows.height,
                "file": bad_rows["_FILE"],
                "row_number": bad_rows["_ROW"].cast(pl.Int64),
                "reason": bad_rows["_reason"],
                "detail": bad_rows["_detail"],
                "record": _record_json(bad_rows, data_cols),
            },
            schema=QUARANTINE_SCHEMA,
        )
    return loaded, quarantine
