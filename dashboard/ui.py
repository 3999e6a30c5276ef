"""Streamlit glue shared by the pages: the cut connection, cached queries, filters, header, tables.

No business logic here: queries live in `dashboard.queries`, figures in `dashboard.figures`.
Query results are cached (st.cache_resource, see _cached) keyed by the cut's identity (path, inode, mtime), so a
new cut swapped in by the loader is picked up on the next rerun.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from dashboard import queries
from dashboard.connection import CutConnection, CutIdentity, MissingCutError, default_db_path
from dashboard.filters import FILTER_COLUMNS, Filters, from_query_params, split_known, to_query_params
from safetyboard.protocol import Protocol, load_protocol

ENV_PROTOCOL = "SAFETYBOARD_PROTOCOL"


@st.cache_resource
def _cut_connection(path: str) -> CutConnection:
    return CutConnection(path)


@st.cache_resource
def get_protocol() -> Protocol:
    path = os.environ.get(ENV_PROTOCOL)
    return load_protocol(Path(path)) if path else load_protocol()


def db_path() -> Path:
    return default_db_path()


def cut_connection() -> CutConnection:
    return _cut_connection(str(db_path()))


def require_cut() -> CutIdentity:
    """The current cut's identity, or a clear message (and stop) when there is no cut yet."""
    try:
        return cut_connection().identity
    except MissingCutError as exc:
        st.error(str(exc))
        st.info("Create a cut with `safetyboard load EXPORT_DIR --db PATH`, then start the dashboard with "
                "`safetyboard serve --db PATH`. For a demo: `safetyboard demo --out demo-export`.")
        st.stop()
        raise  # unreachable: st.stop raises


# st.cache_resource, not st.cache_data: results are Polars frames (immutable; every operation returns a
# new frame), so sharing them is safe and avoids pickling millions of rows on every hit at program scale.
@st.cache_resource(max_entries=128, show_spinner=False)
def _cached(name: str, identity: CutIdentity, args: tuple) -> Any:
    con = _cut_connection(identity.path).cursor()
    try:
        return getattr(queries, name)(con, *args)
    finally:
        con.close()


def query(name: str, *args: Any) -> Any:
    """Run `queries.<name>(con, *args)` on the current cut, cached per cut identity and arguments."""
    return _cached(name, require_cut(), args)


@st.cache_resource(max_entries=64, show_spinner=False)
def _cached_call(key: str, identity: CutIdentity, args: tuple, _fn: Callable[..., Any]) -> Any:
    con = _cut_connection(identity.path).cursor()
    try:
        return _fn(con, *args)
    finally:
        con.close()


def call(key: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Run `fn(con, *args)` on the current cut, cached per cut identity under `key` and `args`."""
    return _cached_call(key, require_cut(), args, fn)


def cut_info() -> dict:
    return query("current_cut")


def filters_sidebar() -> Filters:
    """The global filters in the sidebar, read from and written back to the URL (a shareable link).

    Rendered once per run by streamlit_app.py (before the page), so the choice survives page
    changes; Streamlit clears the query string on navigation, so it is written back every run.
    A value the cut does not have (from the link, or from an earlier cut) cannot be selected: the
    page says it was left out rather than silently showing more subjects than the link asked for;
    a choice that matches no subject says so too.
    """
    options = query("filter_options")
    first_run = not any(f"filter_{f.name}" in st.session_state for f in fields(Filters))
    if first_run:  # the link's choice
        asked = from_query_params({k: st.query_params.get_all(k) for k in st.query_params})
    else:  # the widgets' choice, kept only where the values still exist in this cut (a new cut may lack some)
        asked = Filters(**{f.name: tuple(st.session_state.get(f"filter_{f.name}", ())) for f in fields(Filters)})
    known, dropped = split_known(asked, options)
    for f in fields(Filters):
        st.session_state[f"filter_{f.name}"] = list(getattr(known, f.name))
    if first_run or dropped:
        st.session_state["_filters_dropped"] = dropped
        st.session_state["_filters_asked"] = known
    chosen: dict[str, tuple[str, ...]] = {}
    st.sidebar.markdown("**Filters** (kept in the link)")
    for f in fields(Filters):
        _key, _column, label = FILTER_COLUMNS[f.name]
        chosen[f.name] = tuple(st.sidebar.multiselect(label, options.get(f.name, []), key=f"filter_{f.name}"))
    filters = Filters(**chosen)
    wanted = to_query_params(filters)
    for key, _col, _label in FILTER_COLUMNS.values():
        if key in wanted:
            if st.query_params.get_all(key) != wanted[key]:
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]
    if filters != st.session_state.get("_filters_asked"):  # the user has chosen since: the note is stale
        st.session_state["_filters_dropped"] = {}
    dropped = st.session_state.get("_filters_dropped") or {}
    if dropped:
        asked = "; ".join(f"{label} {', '.join(values)}" for label, values in dropped.items())
        one = sum(map(len, dropped.values())) == 1
        st.warning(f"No subject of this cut has {asked}: {'that value is' if one else 'those values are'} not "
                   f"applied, so the pages show **{filters.describe()}**. Check the link or pick from the sidebar.",
                   icon=":material/filter_alt_off:")
    if filters.active and query("subject_count", filters) == 0:
        st.warning(f"No subject matches the filters ({filters.describe()}): every table and figure is empty. "
                   "Remove a filter in the sidebar.", icon=":material/filter_alt_off:")
    st.session_state["_filters"] = filters
    return filters


def current_filters() -> Filters:
    """The filters chosen in the sidebar for this run (set by streamlit_app.py)."""
    return st.session_state.get("_filters", Filters())


def header(title: str, filters: Filters | None = None) -> dict:
    """Page title with the cut id and cut date (on every page); returns the cut's meta.loads row."""
    cut = cut_info()
    st.title(title)
    cut_id = cut.get("cut_id", "?")
    cut_date = cut.get("cut_date")
    line = f"Cut **{cut_id}** · cut date **{cut_date}** · loaded {str(cut.get('loaded_at'))[:19]}"
    if filters is not None:
        line += f" · {filters.describe()}"
    st.caption(line)
    return cut


def table(df: pl.DataFrame, name: str, caption: str | None = None, height: int | None = None) -> None:
    """A table with a CSV download button."""
    if caption:
        st.markdown(f"**{caption}**")
    st.dataframe(df, hide_index=True, width="stretch", height=height or "auto", column_config=_date_columns(df))
    st.download_button(
        f"Download {name}.csv", df.write_csv().encode("utf-8"), file_name=f"{name}.csv", mime="text/csv",
        key=f"dl_csv_{name}",
    )


def _date_columns(df: pl.DataFrame) -> dict[str, Any]:
    """Dates shown as dates: Streamlit draws a Polars Date as '2026-10-12 00:00:00', a time nobody recorded."""
    return {c: st.column_config.DateColumn(c, format="YYYY-MM-DD") for c, t in df.schema.items() if t == pl.Date}


def xlsx_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.write_excel(buf)
    return buf.getvalue()
