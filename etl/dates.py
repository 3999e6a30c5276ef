"""ISO 8601 dates as SDTM exports them: complete, partial ('2026-03', '2026') or with a time.

The original text is always kept; these expressions derive a DATE with an imputation flag
(ADaM --DTF convention: 'D' = day imputed, 'M' = month and day imputed, null = none) and a
validity flag. Start dates impute to the first day of the period, end dates to the last.
Nothing else is imputed: an impossible date (2026-02-30) or unknown format is invalid.

A date-time written with a space for ISO 8601's 'T' ('2026-01-05 08:30', as SQL, Excel and pandas
print one) names its day as exactly, and is read as a date-time in every format (an XLSX date cell
arrives in that form too, and a text cell cannot be told from it); the text is kept as written.
A plain number ('24111') is invalid: a SAS date (days since 1960-01-01) or an Excel serial date
is not ISO 8601, and which of them it is cannot be known from the number (NUMBER_DATE_HINT).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

# date, optionally followed by a time of day and a time-zone designator (ISO 8601 extended format;
# a space instead of the 'T' is accepted, see above)
_FULL = (
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"([T ]([01]\d|2[0-3])(:[0-5]\d(:[0-5]\d(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
)
_MONTH = r"^(\d{4})-(\d{2})$"
COMPLETE_DATE = r"^\d{4}-\d{2}-\d{2}$"  # YYYY-MM-DD alone: the common case, parsed without the general path
# the year alone, or SDTMIG's year and day with the month unknown ('2026---15'): year precision
_YEAR = r"^(\d{4})(---(0[1-9]|[12]\d|3[01]))?$"
# a plain number where a date belongs (ASCII digits, as etl/normalise reads numbers)
NUMBER_TEXT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$"
# why such a number is no date, for the invalid-date detail of a value matching NUMBER_TEXT
NUMBER_DATE_HINT = ("it is a number (a SAS date counts days since 1960-01-01, an Excel date days since "
                    "1899-12-30), and dates must be ISO 8601 text")
# other forms a date is often exported in, each with why it is no ISO 8601 date, in the order they are tried
# (the invalid-date details of the loader and of the checks date_invalid / ae_date_invalid): YYYYMMDD before the
# plain number, which it also is
DATE_FORM_HINTS: tuple[tuple[str, str], ...] = (
    (r"^0000", "year 0000 is no calendar year (a placeholder for an unknown date?); write the date, or leave it empty"),
    (r"^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$",
     "it is written YYYYMMDD (20260105), and SDTM dates are written 2026-01-05"),
    (NUMBER_TEXT, NUMBER_DATE_HINT),
    (r"^\d{4}[/.]\d{1,2}[/.]\d{1,2}", "it separates year, month and day with '/' or '.', and SDTM dates are written 2026-01-05"),
    (r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}",
     "it puts the year last, so day and month cannot be told apart (05/01/2026: 5 January or 1 May); export ISO 8601 dates"),
    (r"^\d{1,2}[A-Za-z]{3}\d{2,4}", "it is SAS DATE9. text (05JAN2026); export ISO 8601 dates (SAS format E8601DA.)"),
    ("年", "it is written in Chinese (2026年1月5日); export ISO 8601 dates"),
)


def date_form_hint(text: pl.Expr) -> pl.Expr:
    """Why `text` (an invalid date) is no ISO 8601 date, for the forms of DATE_FORM_HINTS; null otherwise."""
    expr = pl.when(pl.lit(False)).then(pl.lit(None, pl.String))
    for pattern, hint in DATE_FORM_HINTS:
        expr = expr.when(text.str.contains(pattern)).then(pl.lit(hint))
    return expr.otherwise(pl.lit(None, pl.String))


# the query parameters date_form_hint_sql refers to ($dfp0 the first pattern, $dfh0 its hint, ...)
DATE_FORM_HINT_PARAMS: dict[str, str] = {
    **{f"dfp{i}": pattern for i, (pattern, _) in enumerate(DATE_FORM_HINTS)},
    **{f"dfh{i}": hint for i, (_, hint) in enumerate(DATE_FORM_HINTS)},
}


def date_form_hint_sql(value: str) -> str:
    """The same in DuckDB SQL: a CASE over `value` (an SQL expression), with DATE_FORM_HINT_PARAMS bound."""
    return "CASE " + " ".join(f"WHEN regexp_matches({value}, $dfp{i}) THEN $dfh{i}" for i in range(len(DATE_FORM_HINTS))) + " END"


SAS_EPOCH = dt.datetime(1960, 1, 1)
_SAS_DAYS_MAX = 1e6  # below: days (year 4697); above: seconds (1960-01-12 on), as SAS dates and date-times


def sas_number_as_date(text: str) -> str:
    """'24111 days after 1960-01-01 is 2026-01-05' (or seconds, for a SAS date-time): what a SAS numeric
    date would be, for a message; '' when `text` is no number or out of range."""
    try:
        value = float(text)
    except ValueError:
        return ""
    try:
        if abs(value) < _SAS_DAYS_MAX:
            return f"{text} days after 1960-01-01 is {(SAS_EPOCH + dt.timedelta(days=value)).date().isoformat()}"
        return f"{text} seconds after 1960-01-01T00:00:00 is {(SAS_EPOCH + dt.timedelta(seconds=value)).isoformat()}"
    except (OverflowError, ValueError):  # beyond the years a date can hold; nan
        return ""


def _calendar_year(date: pl.Expr) -> pl.Expr:
    """Null for year 0000: ISO 8601 reads it as 1 BC, no trial date is, and EDC systems write it as a
    placeholder for an unknown date (and Python's datetime.date cannot hold it)."""
    return pl.when(date.dt.year() >= 1).then(date)


def parse_iso_date(column: str, *, end: bool = False, complete_only: bool = False) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Return (date, imputation flag, is_invalid) expressions for a text ISO 8601 column.

    is_invalid is True when the text is non-empty but not a valid (possibly partial) date.
    `complete_only`: the caller has checked that every non-null value matches COMPLETE_DATE; the
    result is then the same as the general path's, at a fraction of its cost (no partial-date
    branches to evaluate: 0.19 s -> 0.02 s per million lab rows).
    """
    if complete_only:
        date = _calendar_year(pl.col(column).str.to_date("%Y-%m-%d", strict=False))
        return date, pl.lit(None, pl.String), pl.col(column).is_not_null() & date.is_null()
    text = pl.col(column).str.strip_chars()
    full = text.str.contains(_FULL)
    month = text.str.contains(_MONTH)
    year = text.str.contains(_YEAR)
    full_date = _calendar_year(text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
    month_first = _calendar_year((text + "-01").str.to_date("%Y-%m-%d", strict=False))
    year_text = text.str.slice(0, 4)
    year_first = _calendar_year((year_text + "-01-01").str.to_date("%Y-%m-%d", strict=False))
    if end:
        month_date = month_first.dt.month_end()
        year_date = _calendar_year((year_text + "-12-31").str.to_date("%Y-%m-%d", strict=False))
    else:
        month_date = month_first
        year_date = year_first
    date = (
        pl.when(full)
        .then(full_date)
        .when(month)
        .then(month_date)
        .when(year)
        .then(year_date)
        .otherwise(None)
    )
    flag = pl.when(full & full_date.is_not_null()).then(None).when(month & month_first.is_not_null()).then(
        pl.lit("D")
    ).when(year & year_first.is_not_null()).then(pl.lit("M")).otherwise(None)
    invalid = text.is_not_null() & (text != "") & date.is_null()
    return date, flag.cast(pl.String), invalid


def parse_iso_date_columns(frame: pl.DataFrame, column: str, *, end: bool = False,
                           complete: pl.Series | None = None) -> tuple[pl.Series, pl.Series, pl.Series]:
    """:func:`parse_iso_date` of `frame[column]` as Series (date, flag, is_invalid): the rows whose text is a complete
    YYYY-MM-DD date (`complete`, a boolean Series, computed when not given) take the fast path, only the others the
    general one (partial dates, times, invalid text: a few hundred of a million lab rows). Row for row the same as
    the general path (0.27 s -> 0.06 s for 661,000 demo lab dates)."""
    if complete is None:
        complete = frame.select(pl.col(column).is_null() | pl.col(column).str.contains(COMPLETE_DATE)).to_series()
    fast = frame.select(*(e.alias(n) for e, n in zip(parse_iso_date(column, end=end, complete_only=True),
                                                        ("date", "flag", "invalid"), strict=True)))
    date, flag, invalid = fast["date"], fast["flag"], fast["invalid"]
    others = (~complete).arg_true()
    if others.len():
        slow = frame.select(pl.col(column).gather(others)).select(
            *(e.alias(n) for e, n in zip(parse_iso_date(column, end=end), ("date", "flag", "invalid"), strict=True)))
        date = date.scatter(others, slow["date"])
        flag = flag.scatter(others, slow["flag"])
        invalid = invalid.scatter(others, slow["invalid"])
    return date, flag, invalid


# an ISO 8601 date with a time of day to the minute at least ('2026-01-15T10:30', ':15' seconds
# optional, fractions dropped; a space for the 'T' as _FULL accepts it). A time-zone designator
# is not applied: the site's clock time as recorded. A time to the hour only ('T10') is not a time
# of day here (ADaM ASTDTM would impute the minutes; nothing is imputed).
_DATETIME_TO_MINUTE = r"^\s*(\d{4}-\d{2}-\d{2})[T ]((?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?)"


def parse_iso_datetime(text: pl.Expr, date: pl.Expr) -> pl.Expr:
    """ADaM --DTM from an --DTC text: null unless it holds a complete date and a time of day that
    agree with the analysis date `date` (an invalid or imputed date gets no date-time)."""
    text = text.cast(pl.String)
    clock = text.str.extract(_DATETIME_TO_MINUTE, 2)
    stamp = text.str.extract(_DATETIME_TO_MINUTE, 1) + "T" + pl.when(clock.str.len_chars() == 5).then(clock + ":00").otherwise(clock)
    dtm = stamp.str.to_datetime("%Y-%m-%dT%H:%M:%S", time_unit="us", strict=False)
    return pl.when(dtm.dt.date() == date).then(dtm).otherwise(None)
