"""Global subject filters (dose level, cohort, site, sex, age group), kept in the URL.

Pure helpers: conversion to and from the query-string mapping, and the parameterised SQL
predicate on adam.adsl that every query uses to restrict subjects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

# filter field -> (query-string key, adam.adsl column, sidebar label)
FILTER_COLUMNS: dict[str, tuple[str, str, str]] = {
    "dose": ("dose", "DOSELVLC", "Dose level"),
    "cohort": ("cohort", "COHORT", "Cohort"),
    "site": ("site", "SITEID", "Site"),
    "sex": ("sex", "SEX", "Sex"),
    "age": ("age", "AGEGR", "Age group"),
}


@dataclass(frozen=True)
class Filters:
    """Selected values per filter; an empty tuple means 'all'. Hashable (a cache key)."""

    dose: tuple[str, ...] = ()
    cohort: tuple[str, ...] = ()
    site: tuple[str, ...] = ()
    sex: tuple[str, ...] = ()
    age: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def describe(self) -> str:
        parts = [
            f"{FILTER_COLUMNS[f.name][2]}: {', '.join(getattr(self, f.name))}"
            for f in fields(self)
            if getattr(self, f.name)
        ]
        return "; ".join(parts) if parts else "all subjects"


def from_query_params(params: Mapping[str, Sequence[str] | str]) -> Filters:
    """Filters from a query-string mapping (repeated keys or comma-separated values)."""
    values: dict[str, tuple[str, ...]] = {}
    for name, (key, _col, _label) in FILTER_COLUMNS.items():
        raw = params.get(key, ())
        items = [raw] if isinstance(raw, str) else list(raw)
        flat = [v.strip() for item in items for v in str(item).split(",") if v.strip()]
        values[name] = tuple(dict.fromkeys(flat))
    return Filters(**values)


def to_query_params(filters: Filters) -> dict[str, list[str]]:
    """The query-string mapping for these filters (only the active ones)."""
    return {
        FILTER_COLUMNS[f.name][0]: list(getattr(filters, f.name))
        for f in fields(filters)
        if getattr(filters, f.name)
    }


def subject_predicate(filters: Filters, alias: str = "") -> tuple[str, list[str]]:
    """SQL predicate on adam.adsl columns and its parameters; 'TRUE' when no filter is active."""
    prefix = f"{alias}." if alias else ""
    clauses: list[str] = []
    params: list[str] = []
    for f in fields(filters):
        selected = getattr(filters, f.name)
        if not selected:
            continue
        column = FILTER_COLUMNS[f.name][1]
        clauses.append(f'{prefix}"{column}" IN ({", ".join("?" for _ in selected)})')
        params.extend(selected)
    return (" AND ".join(clauses) if clauses else "TRUE"), params


def split_known(filters: Filters, options: Mapping[str, Sequence[str]]) -> tuple[Filters, dict[str, tuple[str, ...]]]:
    """The filters restricted to values that exist in the cut, and the values left out per sidebar label.

    A shared link can name a value no subject of this cut has (a dose level not yet opened, site '3' for
    '03', a cohort of an older cut); the sidebar cannot hold it, so the caller must say it was left out.
    """
    kept: dict[str, tuple[str, ...]] = {}
    dropped: dict[str, tuple[str, ...]] = {}
    for f in fields(filters):
        allowed = set(options.get(f.name, ()))
        values = getattr(filters, f.name)
        kept[f.name] = tuple(v for v in values if v in allowed)
        missing = tuple(v for v in values if v not in allowed)
        if missing:
            dropped[FILTER_COLUMNS[f.name][2]] = missing
    return Filters(**kept), dropped
