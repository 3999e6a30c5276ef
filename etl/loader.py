"""The loader: an export folder -> a new, hashed, audited data cut swapped in atomically.

read (etl/readers) -> map columns (etl/mapping) -> union split domains, pivot SUPP-- onto the
parent -> type and quarantine (etl/normalise) -> raw.* -> derive adam.* (etl/derive) -> meta.*
-> checks (checks/runner) -> atomic swap (etl/cutstore). Rows read = rows loaded + rows
quarantined for every domain; any failure leaves the current cut untouched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

import safetyboard
from etl import cutstore
from etl.csv_rows import RaggedRow, describe
from etl.dates import sas_number_as_date
from etl.domains import (
    NO_SUBJECT_DOMAINS,
    REQUIRED_DOMAINS,
    SPLIT_PARENTS,
    is_dataset_name,
    is_date,
    is_numeric,
    is_seq,
    is_study_level,
    spec_for,
)
from etl.mapping import ColumnMapping, load_mapping
from etl.normalise import BLANK_ROW_DETAIL, QUARANTINE_SCHEMA, derived_names, normalise_domain
from etl.readers import FORMATS, iter_batches
from etl.table_writer import TableWriter
from safetyboard.errors import BadInputError
from safetyboard.protocol import Protocol

Progress = Callable[[str], None]
DUCKDB_MEMORY_LIMIT = "1500MB"  # the load's target is a 4 GB peak (issue 2 benchmark), Polars batches included


@dataclass
class DomainStats:
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "reasons": dict(sorted(self.reasons.items())),
        }


@dataclass
class LoadResult:
    status: str
    cut_id: str
    db: Path
    cut_date: dt.date | None
    domains: dict[str, DomainStats]
    findings: dict[str, Any] | None = None
    # what a data manager must know about the load beyond its counts (also in meta.loads.notes)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status,
            "cut_id": self.cut_id,
            "db": str(self.db),
            "cut_date": self.cut_date.isoformat() if self.cut_date else None,
            "domains": {k: v.to_json() for k, v in sorted(self.domains.items())},
            "warnings": self.warnings,
        }
        if self.findings is not None:
            out["findings"] = self.findings
        return out


@dataclass(frozen=True)
class SourceFile:
    path: Path
    domain: str  # parent domain, lower case
    supp: bool
    sha256: str  # "" until hashed (load_export hashes in the background while the files load)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _domain_of(stem: str, mapping: ColumnMapping) -> tuple[str, bool]:
    """(parent domain, is SUPP--) from a file name stem: ae, AE, lbch -> lb, suppae, supplbch -> lb."""
    mapped = mapping.domain_for_stem(stem)
    name = (mapped or stem).lower()
    supp = name.startswith("supp") and len(name) > 4
    if supp:
        name = name[4:]
    # split datasets (SDTMIG 4.1.7): lbch, lbhe, lbur -> lb; a 2-letter parent plus a suffix
    if len(name) > 2 and name[:2] in SPLIT_PARENTS:
        name = name[:2]
    return name, supp


# data formats the loader does not read: a domain's file in one of them was skipped like a define.xml,
# its records in no count (lbhe.sas7bdat beside lbch.xpt: no haematology in the cut, and no word of it)
UNREAD_FORMATS = {
    ".xls": "an Excel 97-2003 workbook", ".xlsm": "a macro-enabled Excel workbook", ".xlsb": "a binary Excel workbook",
    ".ods": "an OpenDocument spreadsheet", ".sas7bdat": "a SAS dataset", ".sav": "an SPSS file", ".dta": "a Stata file",
    ".rds": "an R data file", ".rda": "an R data file", ".rdata": "an R data file", ".json": "a JSON file",
    ".jsonl": "a JSON lines file", ".ndjson": "a JSON lines file", ".feather": "an Arrow/Feather file",
    ".arrow": "an Arrow file", ".avro": "an Avro file", ".orc": "an ORC file",
}
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip", ".7z")
# archives, documents and programs beside the data (export.zip, ae.pdf, ex.sas): not named in the unknown-format
# warning, whatever their name
NOT_DATA_SUFFIXES = frozenset({*_COMPRESSED, ".tar", ".tgz", ".rar", ".pdf", ".doc", ".docx", ".rtf", ".htm", ".html",
                               ".md", ".log", ".sas", ".r", ".py", ".lst", ".png", ".jpg"})


def _named_like_dataset(path: Path, mapping: ColumnMapping) -> bool:
    """A 2-letter SDTM domain code, a split or SUPP-- dataset of one (lbhe, suppae), or a file the mapping
    names; other files (define.xml, manifest.json, a data dictionary in .xls) are the export's documents."""
    stem = path.name.split(".", 1)[0]
    domain, _ = _domain_of(stem, mapping)
    return bool(mapping.domain_for_stem(stem) or (is_dataset_name(stem) and len(domain) == 2 and domain.isalpha()))


def _refuse_unread_format(path: Path, mapping: ColumnMapping) -> bool:
    """A dataset file in a data format the loader cannot read stops the load (define.xml, a PDF, a whole-export
    .zip are not data, and files not named like a dataset are left alone). True when the file is named like a
    dataset but its format is none the loader knows (ds.xml, lb.dat, ae.csv.bak): the load warns of it."""
    if not _named_like_dataset(path, mapping):
        return False
    suffixes = [s.lower() for s in path.suffixes]
    kind = UNREAD_FORMATS.get(suffixes[-1]) if suffixes else None
    if kind is None and len(suffixes) >= 2 and suffixes[-1] in _COMPRESSED:
        inner = suffixes[-2]
        if inner in FORMATS or inner in UNREAD_FORMATS:
            kind = f"a compressed {inner.lstrip('.').upper()} file"
    if kind is not None:
        raise BadInputError(
            f"{path}: is {kind}, a format the loader does not read, so its records would be left out: save it as "
            "CSV, SAS XPT, XLSX or Parquet, or move it out of the export folder"
        )
    return path.is_file() and not (suffixes and suffixes[-1] in NOT_DATA_SUFFIXES)


def _datasets_in_subfolder(folder: Path, mapping: ColumnMapping) -> list[Path]:
    """Files named like a dataset, in a format the loader reads, one level down (old/ae.csv, lb/lbch.xpt): the
    loader reads the export folder alone, and such a file was ignored without a word."""
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return []
    return [c for c in children if not c.name.startswith((".", "_")) and c.suffix.lower() in FORMATS
            and c.is_file() and (is_dataset_name(c.stem) or mapping.domain_for_stem(c.stem))]


def not_dataset_note(path: Path, source: Path | None = None) -> str:
    """What the load says of a data file left out because its name is no SDTM dataset's, because it is named
    like one but in a format the loader does not know (ds.xml, lb.dat: it was skipped without a word), or
    because it lies in a subfolder of the export (`source`)."""
    if source is not None and path.parent != source:
        return (
            f"{path.parent.name}/{path.name} was not loaded: it is in a subfolder, and the loader reads the export "
            "folder alone (one file per dataset). If its records belong to this cut, move it into the export folder "
            "(a split dataset keeps a name of its own, e.g. lbch.csv)"
        )
    if path.suffix.lower() not in FORMATS:
        return (
            f"{path.name} was not loaded: it is named like a dataset, but {path.suffix or 'no extension'!r} is no "
            "format the loader reads (CSV, TXT, TSV, SAS XPT, XLSX, Parquet), so any records in it are not in the "
            "cut. If it holds records, save it in one of them; if it is a copy or a document, move it out of the "
            "export folder"
        )
    return (
        f"{path.name} was not loaded: {path.stem!r} is not the name of an SDTM dataset (a letter, then letters or "
        "digits, at most 8: ae, lbch, suppae), so which domain it holds is not known. If it holds records, rename "
        "it after its dataset or name it in a column mapping ([files] in --mapping) and load again"
    )


def discover(
    source: Path, mapping: ColumnMapping, hash_files: bool = True, not_datasets: list[Path] | None = None
) -> list[SourceFile]:
    """The export's dataset files. A file in a readable format whose name is no dataset's (export_info.csv,
    "dm (1).csv") is not loaded; it is put in `not_datasets` for the load to report."""
    if not source.is_dir():
        raise BadInputError(f"{source}: not a folder (an export is a folder with one file per domain)")
    files = []
    skipped = not_datasets if not_datasets is not None else []
    by_stem: dict[str, Path] = {}
    for path in sorted(source.iterdir()):
        if path.name.startswith((".", "_")):
            continue
        if path.is_dir() and path.suffix.lower() not in FORMATS:  # (a folder named ae.csv stops the load below)
            # a subfolder is not read (an export is one folder); data files in it are named in a warning
            skipped.extend(_datasets_in_subfolder(path, mapping))
            continue
        if path.suffix.lower() not in FORMATS:
            if _refuse_unread_format(path, mapping):
                skipped.append(path)
            continue
        if not path.is_file():  # named like a data file but none: say so rather than skip it
            what = "a broken link" if path.is_symlink() and not path.exists() else "not a regular file"
            raise BadInputError(f"{path}: is {what}; an export's data files must be readable files")
        if not (is_dataset_name(path.stem) or mapping.domain_for_stem(path.stem)):
            skipped.append(path)
            continue
        # one file per dataset: ae.csv beside AE.xpt (or AE.CSV) is the same data twice, not a split
        # domain (lbch/lbhe are named apart); loading both would turn every row into a duplicate_key
        stem = (mapping.domain_for_stem(path.stem) or path.stem).lower()
        if stem in by_stem:
            raise BadInputError(
                f"{source}: {by_stem[stem].name} and {path.name} are both dataset {stem.upper()}: an export has one "
                "file per dataset (remove one; split domains are named apart, e.g. lbch.xpt and lbhe.xpt)"
            )
        by_stem[stem] = path
        domain, supp = _domain_of(path.stem, mapping)
        files.append(SourceFile(path, domain, supp, _sha256(path) if hash_files else ""))
    present = {f.domain for f in files if not f.supp}
    missing = [d.upper() for d in REQUIRED_DOMAINS if d not in present]
    if missing:
        raise BadInputError(
            f"{source}: required domain file(s) missing: {', '.join(missing)} "
            "(expected e.g. dm.csv, ex.xpt, ae.csv, lb.xlsx, vs.parquet)"
            + (f"; not loaded, as not named like an SDTM dataset, in a format the loader does not read or in a "
               f"subfolder: {', '.join(p.relative_to(source).as_posix() for p in skipped)}" if skipped else "")
            + _adam_hint(present)
        )
    return files


def _adam_hint(datasets: set[str]) -> str:
    """ADaM datasets are named AD-- (ADSL, ADAE, ADLB; ADaMIG 1.3 section 3); no SDTM domain is: a folder of them
    is an analysis export, not the tabulation export the loader reads."""
    adam = sorted(d.upper() for d in datasets if len(d) > 2 and d.startswith("ad"))
    if not adam:
        return ""
    return (f"; the folder holds ADaM datasets ({', '.join(adam[:5])}{', ...' if len(adam) > 5 else ''}): load the "
            "study's SDTM export instead (SafetyBoard derives its own analysis tables from DM, EX, AE, LB and VS)")


def _mapping_tables(sf: SourceFile, mapping: ColumnMapping) -> tuple[str, str]:
    """The mapping tables that apply to a file besides "*": its domain's (ae, suppae) and its dataset's (lbch)."""
    dataset = (mapping.domain_for_stem(sf.path.stem) or sf.path.stem).lower()  # lbch: [columns.lbch] applies too
    return "supp" + sf.domain if sf.supp else sf.domain, dataset


def _renames(frame: pl.DataFrame, sf: SourceFile, mapping: ColumnMapping) -> dict[str, str]:
    domain, dataset = _mapping_tables(sf, mapping)
    return mapping.renames(domain, frame.columns, dataset)


def _renamed(frame: pl.DataFrame, sf: SourceFile, mapping: ColumnMapping) -> pl.DataFrame:
    renames = _renames(frame, sf, mapping)
    if renames:
        targets = [renames.get(c, c) for c in frame.columns]
        clash = sorted({t for t in targets if targets.count(t) > 1})
        if clash:
            sources = [c for c in frame.columns if renames.get(c, c) in clash]
            raise BadInputError(
                f"{sf.path.name}: the column mapping gives several columns the same name "
                f"{', '.join(clash)} (from {', '.join(sources)})"
            )
        kept = sorted({t for t in renames.values() if t in ("_FILE", "_ROW")})
        if kept:
            raise BadInputError(
                f"{sf.path.name}: the column mapping names a column {', '.join(kept)}, a name the loader keeps for "
                "the file and row of each record"
            )
        frame = frame.rename(renames)
    return frame.with_columns(pl.lit(sf.path.name).alias("_FILE"))


REPEATED_HEADER_DETAIL = ("the record repeats the header line (files joined with their headers?): "
                          "its values are the column names")


def repeated_header_rows(batch: pl.DataFrame) -> pl.Series:
    """Rows whose every value is its column's name (trimmed, any case) and that have at least two values: the
    header line again, as in site exports joined one after another. Such a row would load as a subject named
    'USUBJID' in DM. Cheap for big files: only rows whose first value has the first name's length and reads as it
    are compared column by column (a length test alone left every lab row a candidate, 0.86 s per 661,000 rows)."""
    cols = [c for c in batch.columns if c != "_ROW"]
    out = pl.repeat(False, batch.height, dtype=pl.Boolean, eager=True).alias("_HDR")
    if not cols or batch.height == 0:
        return out
    first = cols[0]
    same_length = pl.col(first).str.len_bytes().is_between(len(first.encode()), len(first.encode()) + 2)  # blanks around
    candidate = batch.select(same_length.fill_null(False)).to_series()
    if not candidate.any():
        return out
    rows = batch.select(cols).with_row_index("_I").filter(candidate)
    if rows.height:
        rows = rows.filter((pl.col(first).str.strip_chars().str.to_uppercase() == first).fill_null(False))
    if rows.height:
        same = [(pl.col(c).str.strip_chars().str.to_uppercase() == c) for c in cols]
        is_header = (
            pl.all_horizontal(s | pl.col(c).is_null() for s, c in zip(same, cols, strict=True))
            & (pl.sum_horizontal(s.fill_null(False).cast(pl.Int32) for s in same) >= min(2, len(cols)))
        )
        found = rows.filter(is_header.fill_null(False))["_I"]
        if found.len():
            out = out.scatter(found, True)
    return out


def _batches(sf: SourceFile, mapping: ColumnMapping, encoding: str, ragged: list[RaggedRow],
             dialect: dict[str, str] | None = None, notes: list[str] | None = None,
             headers: list[tuple[str, str, str, list[str]]] | None = None,
             header_rows: list[pl.DataFrame] | None = None) -> Iterator[pl.DataFrame]:
    """The file's records (mapped, with _FILE and _ROW) in batches; the first is checked for columns.

    CSV rows with the wrong number of fields are left out of the batches and put in `ragged`; a CSV file's
    delimiter is put in `dialect`, what the reader says of the file in `notes` (readers.iter_batches).
    Rows that repeat the header line (repeated_header_rows) are left out and put in `header_rows`, mapped as the
    other rows; without a list they stay in the batch.
    """
    sas_numeric: set[str] = set()
    for i, batch in enumerate(iter_batches(sf.path, encoding, ragged=ragged, sas_numeric=sas_numeric, dialect=dialect,
                                           notes=notes)):
        if sas_numeric:
            _refuse_sas_numeric_dates(batch, sf, mapping, sas_numeric)
        if i == 0 and headers is not None:
            headers.append((sf.path.name, *_mapping_tables(sf, mapping), [c for c in batch.columns if c != "_ROW"]))
        frame = _renamed(batch, sf, mapping)
        if i == 0:
            _require_columns(frame, sf)
            if not sf.supp:
                _refuse_derived_names(frame, sf)
        if header_rows is not None:
            repeated = repeated_header_rows(batch)
            if repeated.any():
                header_rows.append(frame.filter(repeated))
                frame = frame.filter(~repeated)
        yield frame


def _refuse_derived_names(frame: pl.DataFrame, sf: SourceFile) -> None:
    """A column named like one the typing derives (AESTDTC_DT beside AESTDTC, LBSTNRLO_TEXT beside LBSTNRLO,
    as in a cut's own raw table exported again) would meet it in raw.<domain>: which is which cannot be
    told, so the load stops (it failed with an internal error)."""
    derived = derived_names(frame.columns, spec_for(sf.domain, frame.columns))
    clash = [c for c in frame.columns if c in derived]
    if clash:
        listed = ", ".join(f"{c} (from {derived[c]})" for c in clash)
        raise BadInputError(
            f"{sf.path.name}: column(s) {listed} have the name of a column the loader derives (<VAR>_DT and <VAR>_DTF "
            "from a date, <VAR>_TEXT from a number): rename them with a column mapping (--mapping) or leave them out"
        )


def _refuse_sas_numeric_dates(batch: pl.DataFrame, sf: SourceFile, mapping: ColumnMapping, numeric: set[str]) -> None:
    """A --DTC variable that is a SAS numeric one without a date format holds SAS dates (days or seconds
    since 1960-01-01), not ISO 8601 text. Which of the two, or whether a date at all, the number does
    not say, so nothing is converted: the load stops, naming the file, the column and its first value
    (as a SAS date would read it). Every value of such a column is a number, so quarantining its rows
    would take the whole file out of the cut; a SAS date format on the variable makes it readable."""
    renames = _renames(batch, sf, mapping)
    for source in sorted(numeric & set(batch.columns)):
        target = renames.get(source, source)
        values = batch.select("_ROW", source).filter(pl.col(source).is_not_null())
        if not is_date(target) or values.height == 0:
            continue
        row, value = values.row(0)
        name = source if target == source else f"{source} ({target} by the column mapping)"
        decoded = sas_number_as_date(value)
        raise BadInputError(
            f"{sf.path.name}: column {name} holds SAS numeric dates, not ISO 8601 text (row {row}: {value}"
            + (f"; as a SAS date, {decoded}" if decoded else "")
            + "): export it as ISO 8601 text (PUT with the format E8601DA. or E8601DT.) or give the variable "
            "a SAS date format (DATE9., E8601DA., DATETIME20.), which is read exactly"
        )


def _read(sf: SourceFile, mapping: ColumnMapping, encoding: str, ragged: list[RaggedRow],
          notes: list[str] | None = None, headers: list[tuple[str, str, str, list[str]]] | None = None,
          header_rows: list[pl.DataFrame] | None = None) -> pl.DataFrame:
    return pl.concat(list(_batches(sf, mapping, encoding, ragged, notes=notes, headers=headers, header_rows=header_rows)),
                     how="diagonal_relaxed")


def _header_quarantine(header_rows: list[pl.DataFrame], domain: str) -> pl.DataFrame | None:
    if not header_rows:
        return None
    rows = pl.concat(header_rows, how="diagonal_relaxed")
    return _quarantine_rows(rows, domain, "repeated_header", pl.lit(REPEATED_HEADER_DETAIL))


def study_level_note(file: str) -> str:
    return (f"{file}: no USUBJID column, so its records name no subject; loaded as a study-level dataset "
            "(as TS), not checked against DM")


def _ragged_quarantine(sf: SourceFile, ragged: list[RaggedRow], domain: str, header: list[str]) -> pl.DataFrame:
    """Quarantine rows for CSV records with the wrong number of fields (reason malformed_row).

    The record keeps every field: named by the header where there is one, the rest under
    _EXTRA_FIELDS.
    """
    names = [c for c in header if c not in ("_FILE", "_ROW")]
    records = []
    for r in ragged:
        record: dict[str, Any] = dict(zip(names, r.fields, strict=False))
        if len(r.fields) > len(names):
            record["_EXTRA_FIELDS"] = list(r.fields[len(names):])
        records.append(json.dumps(record, ensure_ascii=False))
    return pl.DataFrame(
        {
            "domain": [domain.upper()] * len(ragged),
            "file": [sf.path.name] * len(ragged),
            "row_number": [r.row for r in ragged],
            "reason": ["malformed_row"] * len(ragged),
            "detail": list(describe(ragged, len(names), limit=len(ragged))),
            "record": records,
        },
        schema=QUARANTINE_SCHEMA,
    )


def _require_columns(frame: pl.DataFrame, sf: SourceFile) -> None:
    needed = ("USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QVAL") if sf.supp else spec_for(sf.domain, frame.columns).required_columns
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        hint = ""
        data_cols = [c for c in frame.columns if c not in ("_ROW", "_FILE")]
        named = [c for c in data_cols if not c.startswith("UNNAMED_")]
        if FORMATS.get(sf.path.suffix.lower()) == "csv":
            if len(data_cols) == 1:
                hint = f" (the header was read as one column {data_cols[0][:60]!r}: wrong delimiter?)"
        elif len(named) == 1 and FORMATS.get(sf.path.suffix.lower()) == "xlsx":
            # a workbook's header is the first row with a value: a title above it is taken for the header
            hint = f" (the header row holds only {named[0][:60]!r}: is a title above the header row?)"
        raise BadInputError(f"{sf.path.name}: required column(s) missing: {', '.join(missing)}{hint}")


def _quarantine_rows(rows: pl.DataFrame, domain: str, reason: str, detail: pl.Expr) -> pl.DataFrame:
    # the record's data columns: not _FILE/_ROW, nor a helper (lower case: data columns are upper case)
    data_cols = [c for c in rows.columns if c not in ("_FILE", "_ROW") and not (c.startswith("_") and c != c.upper())]
    return rows.select(
        pl.lit(domain).alias("domain"),
        pl.col("_FILE").alias("file"),
        pl.col("_ROW").cast(pl.Int64).alias("row_number"),
        pl.lit(reason).alias("reason"),
        detail.alias("detail"),
        pl.struct(data_cols).struct.json_encode().alias("record"),
    ).cast(QUARANTINE_SCHEMA)


QNAM_PATTERN = r"^[A-Z_][A-Z0-9_]*$"  # a SUPP-- QNAM (upper-cased) is a variable name (SDTMIG 8.4)


SUPPQUAL = "qual"  # suppqual: SDTM 3.1.1's one supplemental dataset for every domain (RDOMAIN names the parent)


def _split_suppqual(frame: pl.DataFrame, sf: SourceFile, stats: dict[str, DomainStats],
                    quarantined: list[pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """SUPPQUAL's records by parent domain, each then merged as that domain's SUPP-- (SDTMIG 3.1.1 section 8.4;
    later versions split it into SUPPAE, SUPPLB, ...). Its records were quarantined whole (no domain QUAL).
    The records move from the suppqual counts to their parent's (`supp<domain>`: rows read there); one
    without RDOMAIN stays in suppqual's, quarantined as missing_required."""
    parent = pl.col("RDOMAIN").str.strip_chars().str.to_lowercase()
    frame = frame.with_columns(parent.alias("_parent"))
    own = stats["supp" + SUPPQUAL]
    missing = frame.filter(pl.col("_parent").is_null() | (pl.col("_parent") == "")).drop("_parent")
    if missing.height:
        q = _quarantine_rows(missing, "SUPPQUAL", "missing_required",
                             pl.lit("RDOMAIN is empty: SUPPQUAL names each record's parent domain there"))
        _count(own, q)
        quarantined.append(q)
    parts = {}
    for (name,), part in frame.filter(pl.col("_parent").is_not_null() & (pl.col("_parent") != "")).group_by(
            "_parent", maintain_order=True):
        st = stats.setdefault("supp" + name, DomainStats())
        if sf.path.name not in st.files:
            st.files.append(sf.path.name)
        st.rows_read += part.height
        own.rows_read -= part.height
        parts[name] = part.drop("_parent")
    return parts


@dataclass
class _Supp:
    """SUPP-- records of one parent domain, attached to the parent batch by batch."""

    domain: str
    rows: pl.DataFrame  # clean rows, with _SID (row id) and the join value
    quarantine: list[pl.DataFrame]
    qnams: dict[str, list[str]]  # IDVAR -> QNAM columns it adds
    matched: set[int] = field(default_factory=set)
    shadowed: set[int] = field(default_factory=set)  # rows whose every record has the QNAM from a more specific level

    @classmethod
    def prepare(cls, supp: pl.DataFrame, domain: str) -> _Supp:
        name = f"SUPP{domain.upper()}"
        data_cols = [c for c in supp.columns if c not in ("_FILE", "_ROW")]
        # a line without values (before IDVAR's null becomes ''), as etl/normalise finds one
        blank = pl.all_horizontal(pl.col(c).str.strip_chars().replace("", None).is_null() for c in data_cols)
        supp = supp.with_columns(blank.alias("_blank")).with_columns(
            pl.col(c).str.strip_chars() for c in ("USUBJID", "IDVAR", "IDVARVAL", "QNAM")
        ).with_columns(pl.col("QNAM").str.to_uppercase(), pl.col("IDVAR").str.to_uppercase().fill_null(""))
        quarantine = [_quarantine_rows(supp.filter(pl.col("_blank")), name, "blank_row", pl.lit(BLANK_ROW_DETAIL))]
        supp = supp.filter(~pl.col("_blank")).drop("_blank")
        incomplete = pl.col("USUBJID").is_null() | pl.col("QNAM").is_null()
        quarantine.append(_quarantine_rows(supp.filter(incomplete), name, "missing_required", pl.lit("USUBJID or QNAM is empty")))
        supp = supp.filter(~incomplete).sort(["_FILE", "_ROW"])
        # a QNAM is a variable name (SDTMIG 8.4: letters, digits, underscore, not starting with a digit): 'AE DLT'
        # became a column of its own, and the investigator's flag never reached AEDLT
        bad_name = ~pl.col("QNAM").str.contains(QNAM_PATTERN)
        quarantine.append(_quarantine_rows(
            supp.filter(bad_name), name, "invalid_qnam",
            pl.format("QNAM '{}' is not a variable name (letters, digits and _, not starting with a digit)",
                      pl.col("QNAM"))))
        supp = supp.filter(~bad_name)
        # RDOMAIN names the parent domain (SDTMIG 8.4): a SUPPAE row with RDOMAIN 'LB' qualifies a lab record, and
        # attached to AE by its IDVARVAL it would give some AE another record's value
        if "RDOMAIN" in supp.columns:
            rdomain = pl.col("RDOMAIN").str.strip_chars().str.to_uppercase()
            foreign = rdomain.is_not_null() & (rdomain != "") & (rdomain != domain.upper())
            quarantine.append(_quarantine_rows(
                supp.filter(foreign), name, "wrong_rdomain",
                pl.format("RDOMAIN '{}' is not {}, the parent domain of {}: a qualifier of another domain's record",
                          pl.col("RDOMAIN"), pl.lit(domain.upper()), pl.lit(name))))
            supp = supp.filter(~foreign)
        # one value per record and QNAM, the record identified as the join will find it: IDVARVAL '1' and
        # '1.0' are the same AESEQ, and a subject-level value (IDVAR empty) ignores IDVARVAL; a second value
        # was counted as loaded, but the pivot kept the first one only
        numeric = [v for v in supp["IDVAR"].unique().to_list() if v and (is_seq(v) or is_numeric(v))]
        as_number = pl.col("IDVARVAL").cast(pl.Float64, strict=False).cast(pl.String)
        record = (pl.when(pl.col("IDVAR") == "").then(pl.lit(None, pl.String))
                  .when(pl.col("IDVAR").is_in(numeric)).then(pl.coalesce(as_number, pl.col("IDVARVAL")))
                  .otherwise(pl.col("IDVARVAL")))
        key = ["USUBJID", "IDVAR", "_record", "QNAM"]
        supp = supp.with_columns(record.alias("_record")).with_row_index("_n")
        # the first row of each key is kept; a second value that differs from it (AEDLT N, then Y) says so: the
        # investigator's flag is in doubt
        kept = supp.group_by(key, maintain_order=True).agg(pl.col("_n").first().alias("_first"),
                                                            pl.col("QVAL").first().alias("_kept"))
        supp = supp.join(kept, on=key, how="left", nulls_equal=True, maintain_order="left")
        first = pl.col("_n") == pl.col("_first")
        dups = supp.filter(~first)
        differs = pl.col("QVAL").ne_missing(pl.col("_kept"))
        quarantine.append(_quarantine_rows(
            dups, name, "duplicate_key",
            pl.when(pl.col("IDVAR") == "").then(pl.format("duplicate QNAM {} for the same subject", pl.col("QNAM")))
            .otherwise(pl.format("duplicate QNAM {} for the same record ({}={})", pl.col("QNAM"), pl.col("IDVAR"),
                                 pl.col("IDVARVAL")))
            + pl.when(differs).then(pl.format(" with another value: QVAL '{}' here, '{}' kept (the first)",
                                               pl.col("QVAL").fill_null(""), pl.col("_kept").fill_null("")))
            .otherwise(pl.lit(" (first kept)"))))
        supp = supp.filter(first).drop("_record", "_n", "_first", "_kept").with_row_index("_sid")
        qnams = {idvar: sorted(part["QNAM"].unique().to_list()) for (idvar,), part in supp.group_by("IDVAR")}
        return cls(domain, supp, quarantine, qnams)

    def attach(self, parent: pl.DataFrame) -> pl.DataFrame:
        """QNAM columns joined onto the parent batch (raw text: keys compared as normalise will type them).

        Record-level values (IDVAR set) come first, those keyed by the domain's --SEQ (one record each) before
        those of a group (--GRPID, --SPID, ...); a value of a wider level only fills records without one (a
        group's AEDLT N does not replace a record's own AEDLT Y). A subject-level value (IDVAR empty) fills the
        rest. A QNAM that is already a column of the parent file is not attached (the parent's own value
        stays; the SUPP row goes to quarantine as supp_clash).
        """
        original = set(parent.columns)
        # a QNAM named like a column of the parent, or like one typing derives (AESTDTC_DT), is not attached
        taken = original | set(self._derived(original))
        # --SEQ, then other record-level IDVARs, then subject-level (IDVAR "")
        for idvar, qnams in sorted(self.qnams.items(), key=lambda kv: (kv[0] == "", not is_seq(kv[0]), kv[0])):
            if idvar and idvar not in original:
                continue
            keys = ["USUBJID", idvar] if idvar else ["USUBJID"]
            part = self.rows.filter((pl.col("IDVAR") == idvar) & ~pl.col("QNAM").is_in(list(taken)))
            if part.height == 0:
                continue
            part = part.with_columns(_join_key("USUBJID", "USUBJID"), _join_key("IDVARVAL", idvar, "_k1"))
            names = ["_k0", "_k1"][: len(keys)]
            added = [q for q in qnams if q not in taken]
            filled = [q for q in added if q in parent.columns]  # by a more specific level (an earlier IDVAR)
            keyed = parent.select(*(_join_key(k, k, n) for k, n in zip(keys, names, strict=True)), *filled)
            matched = part.join(keyed.select(names).unique(), on=names, how="semi")
            if filled:
                # a value is used only where a record still lacks the QNAM; one that fills no record is
                # not loaded (supp_clash, see orphans)
                lacking = keyed.unpivot(index=names, on=filled, variable_name="QNAM", value_name="_v").filter(
                    pl.col("_v").is_null()).select(*names, "QNAM").unique()
                fills = pl.concat([matched.filter(~pl.col("QNAM").is_in(filled)),
                                   matched.filter(pl.col("QNAM").is_in(filled)).join(lacking, on=[*names, "QNAM"], how="semi")])
                self.shadowed.update(set(matched["_sid"].to_list()) - set(fills["_sid"].to_list()))
                matched = fills
            self.matched.update(matched["_sid"].to_list())
            wide = matched.pivot(on="QNAM", index=names, values="QVAL", aggregate_function="first")
            for q in added:
                if q not in wide.columns:
                    wide = wide.with_columns(pl.lit(None, pl.String).alias(q))
            wide = wide.select(*names, *[pl.col(q).alias(f"_s_{q}") for q in added])
            parent = parent.with_columns(_join_key(k, k, n) for k, n in zip(keys, names, strict=True))
            parent = parent.join(wide, on=names, how="left", maintain_order="left").drop(names)
            parent = parent.with_columns(
                (pl.coalesce(q, f"_s_{q}") if q in parent.columns else pl.col(f"_s_{q}")).alias(q) for q in added
            ).drop([f"_s_{q}" for q in added])
        return parent

    def _derived(self, parent_columns: set[str]) -> dict[str, str]:
        """The names typing derives from the parent's columns and the QNAMs (AESTDTC_DT from AESTDTC)."""
        return derived_names(parent_columns | set(self.rows["QNAM"].unique().to_list()), spec_for(self.domain))

    def orphans(self, parent_columns: set[str]) -> pl.DataFrame:
        rest = self.rows.filter(~pl.col("_sid").is_in(list(self.matched)))
        name = f"SUPP{self.domain.upper()}"
        derived = self._derived(parent_columns) if parent_columns else {}
        clash = pl.col("QNAM").is_in(list(parent_columns)) | pl.col("QNAM").is_in(list(derived))
        upper = self.domain.upper()
        clashes = _quarantine_rows(
            rest.filter(clash).drop("_sid"), name, "supp_clash",
            pl.when(pl.col("QNAM").is_in(list(parent_columns))).then(
                pl.format(f"QNAM {{}} is already a column of {upper}: the {upper} value is kept", pl.col("QNAM"))
            ).otherwise(pl.format(f"QNAM {{}} is the name of a column the loader derives from {upper}.{{}}",
                                  pl.col("QNAM"), pl.col("QNAM").replace_strict(derived, default=None))),
        )
        rest = rest.filter(~clash)
        shadowed = pl.col("_sid").is_in(list(self.shadowed))
        level = pl.when(pl.col("IDVAR") == "").then(pl.lit("the subject-level value")).otherwise(
            pl.format("the value for {}={}", pl.col("IDVAR"), pl.col("IDVARVAL")))
        clashes = pl.concat([clashes, _quarantine_rows(
            rest.filter(shadowed).drop("_sid"), name, "supp_clash",
            pl.format(f"{{}} of {{}} fills no {upper} record of subject {{}}: each has a value of its own from a SUPP "
                      "record of fewer records", level, pl.col("QNAM"), pl.col("USUBJID")),
        )])
        rest = rest.filter(~shadowed)
        detail = pl.when(pl.lit(not parent_columns)).then(pl.lit(f"no {self.domain.upper()} file in the export")).when(
            (pl.col("IDVAR") != "") & ~pl.col("IDVAR").is_in(list(parent_columns))
        ).then(pl.format("IDVAR {} is not a column of the parent domain", pl.col("IDVAR"))).when(
            pl.col("IDVAR") == ""
        ).then(pl.format(f"no {upper} record of subject {{}} (a subject-level qualifier)", pl.col("USUBJID"))).when(
            pl.col("IDVARVAL").is_null()
        ).then(pl.format("IDVARVAL is empty, so IDVAR {} names no record of subject {}", pl.col("IDVAR"),
                         pl.col("USUBJID"))).otherwise(
            pl.format("no parent record {}={} for subject {}", pl.col("IDVAR"), pl.col("IDVARVAL"), pl.col("USUBJID"))
        )
        return pl.concat([clashes, _quarantine_rows(rest.drop("_sid"), name, "orphan_supp", detail)])


    def with_parent_quarantined(self, con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
        """Attached rows none of whose parent records reached raw.<domain> (each went to quarantine, the SUPP
        value inside its record): quarantined as parent_quarantined and no longer counted as loaded."""
        attached = self.rows.filter(pl.col("_sid").is_in(list(self.matched)))
        gone: list[pl.DataFrame] = []
        for (idvar,), part in attached.group_by("IDVAR"):
            keys = ["USUBJID", idvar] if idvar else ["USUBJID"]
            names = ["_k0", "_k1"][: len(keys)]
            columns = ", ".join(f'"{k}"' for k in keys)
            loaded = con.sql(f'SELECT DISTINCT {columns} FROM raw."{self.domain}"').pl().select(
                _join_key(k, k, n) for k, n in zip(keys, names, strict=True))
            part = part.with_columns(_join_key("USUBJID", "USUBJID"), _join_key("IDVARVAL", idvar or "USUBJID", "_k1"))
            gone.append(part.join(loaded, on=names, how="anti").drop("_k0", "_k1"))
        rows = pl.concat(gone) if gone else attached.clear()
        self.matched.difference_update(rows["_sid"].to_list())
        upper = self.domain.upper()
        level = pl.when(pl.col("IDVAR") == "").then(pl.format(f"every {upper} record of subject {{}} is", pl.col("USUBJID")))
        level = level.otherwise(pl.format(f"its {upper} record {{}}={{}} is", pl.col("IDVAR"), pl.col("IDVARVAL")))
        return _quarantine_rows(rows.drop("_sid"), f"SUPP{upper}", "parent_quarantined", pl.format(
            "{} in quarantine (see its reason there), this QNAM {} = {} inside its record", level, pl.col("QNAM"),
            pl.col("QVAL")))


def _join_key(column: str, parent_column: str, name: str = "_k0") -> pl.Expr:
    """A SUPP join value as the parent's column will be typed: trimmed text, or for a --SEQ or numeric
    column the number ('1', '1.0' and ' 1 ' are the same AESEQ), so no SUPP row is orphaned by spelling."""
    text = pl.col(column).cast(pl.String).str.strip_chars()
    if is_seq(parent_column) or is_numeric(parent_column):
        return text.cast(pl.Float64, strict=False).alias(name)
    return text.alias(name)


def _remove_duplicates(con: duckdb.DuckDBPyConnection, domain: str) -> pl.DataFrame:
    """Quarantine rows whose domain key repeats an earlier row (file order); the first is kept."""
    cols = _raw_columns(con, domain)
    keys = list(spec_for(domain, cols).key_columns)
    # a key the file lacks (a dataset of its own without its --SEQ) is no key: USUBJID alone would take
    # every record of a subject after the first for a duplicate
    if not keys or any(k not in cols for k in keys):
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    part = ", ".join(f'"{k}"' for k in keys)
    # the keys that repeat, by a hash aggregate (cheap); the ranking window then runs on their rows
    # only, not over every row of a 10-million-row table
    same = " AND ".join(f'r."{k}" IS NOT DISTINCT FROM k."{k}"' for k in keys)
    where = con.sql(
        f'WITH repeated AS (SELECT {part} FROM raw."{domain}" GROUP BY ALL HAVING count(*) > 1) '
        f'SELECT "_FILE", "_ROW" FROM (SELECT r."_FILE", r."_ROW", row_number() OVER (PARTITION BY '
        + ", ".join(f'r."{k}"' for k in keys)
        + f' ORDER BY r."_FILE", r."_ROW") AS _rn FROM raw."{domain}" r SEMI JOIN repeated k ON {same}) WHERE _rn > 1'
    ).pl()
    if where.height == 0:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    con.register("_sb_where", where)
    dups = con.sql(
        f'SELECT r.* FROM raw."{domain}" r JOIN _sb_where w ON r."_FILE" = w."_FILE" AND r."_ROW" = w."_ROW" '
        'ORDER BY r."_FILE", r."_ROW"'
    ).pl()
    con.unregister("_sb_where")
    con.register("_sb_dups", dups.select("_FILE", "_ROW"))
    con.execute(f'DELETE FROM raw."{domain}" AS r USING _sb_dups AS d WHERE r."_FILE" = d."_FILE" AND r."_ROW" = d."_ROW"')
    con.unregister("_sb_dups")
    original = dups.select([c for c in dups.columns if not c.endswith(("_DT", "_DTF"))])
    detail = pl.format("duplicate key " + ", ".join(f"{k}={{}}" for k in keys) + " (first kept)", *[pl.col(k) for k in keys])
    return _quarantine_rows(original, domain.upper(), "duplicate_key", detail)


def _code_version() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return f"{safetyboard.__version__}+{rev}" if rev else safetyboard.__version__


CUT_DATE_DOMAINS = ("ae", "lb", "vs", "ex", "sv", "ds")  # the clinical domains whose dates make the data cut date


def cut_date_in(con: duckdb.DuckDBPyConnection, today: dt.date | None = None, notes: list[str] | None = None) -> dt.date | None:
    """The latest complete date in the clinical domains (raw.* tables of `con`), never later than today, and not
    taken from a record dated after its subject's death (DM DTHDTC, a complete date; check record_after_death): one
    such record, a date typed wrong, would move the cut date and with it every patient's days left in the DLT
    window. What was set aside is appended to `notes`. In DuckDB: the dates are not copied out (13 M lab rows)."""
    today = today or dt.date.today()
    tables = set(_raw_tables(con))
    dm = set(_raw_columns(con, "dm")) if "dm" in tables else set()
    deaths = ("SELECT USUBJID, min(DTHDTC_DT) AS death FROM raw.dm WHERE DTHDTC_DTF IS NULL AND DTHDTC_DT IS NOT NULL "
              "GROUP BY USUBJID" if {"USUBJID", "DTHDTC_DT", "DTHDTC_DTF"} <= dm
              else "SELECT NULL::VARCHAR AS USUBJID, NULL::DATE AS death WHERE false")
    latest: dt.date | None = None
    ignored: dt.date | None = None
    for domain in CUT_DATE_DOMAINS:
        if domain not in tables:
            continue
        cols = _raw_columns(con, domain)
        for col in (c for c in cols if c.endswith("DTC_DT") and f"{c}F" in cols):
            death = "x.death" if "USUBJID" in cols else "NULL::DATE"
            join = "LEFT JOIN deaths x USING (USUBJID)" if "USUBJID" in cols else ""
            kept, late = con.execute(
                f'WITH deaths AS ({deaths}) SELECT max(d) FILTER (WHERE NOT after), max(d) FILTER (WHERE after) FROM '
                f'(SELECT t."{col}" AS d, coalesce(t."{col}" > {death}, false) AS after FROM raw."{domain}" t {join} '
                f'WHERE t."{col}F" IS NULL AND t."{col}" <= ?)', [today]).fetchall()[0]
            if kept is not None and (latest is None or kept > latest):
                latest = kept
            if late is not None and (ignored is None or late > ignored):
                ignored = late
    if ignored is not None and (latest is None or ignored > latest) and notes is not None:
        notes.append(f"data cut date {latest}: a later date ({ignored}) is on a record dated after its subject's "
                     "death and was not used (check record_after_death lists it); give the cut date with --cut-date "
                     "if it is right")
    return latest


def data_cut_date(raw: dict[str, pl.DataFrame], today: dt.date | None = None, notes: list[str] | None = None) -> dt.date | None:
    """:func:`cut_date_in` on raw frames held in memory (read_export)."""
    with contextlib.closing(duckdb.connect(":memory:")) as con:
        con.execute("CREATE SCHEMA raw")
        for name, frame in raw.items():
            if name == "dm" or name in CUT_DATE_DOMAINS:
                con.register(f"_sb_{name}", frame)
                con.execute(f'CREATE VIEW raw."{name}" AS SELECT * FROM _sb_{name}')
        return cut_date_in(con, today, notes)


def _write_table(con: duckdb.DuckDBPyConnection, schema: str, name: str, frame: pl.DataFrame) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.register("_sb_frame", frame)
    con.execute(f'CREATE OR REPLACE TABLE {schema}."{name}" AS SELECT * FROM _sb_frame')
    con.unregister("_sb_frame")


def _previous_meta(db: Path) -> dict[str, pl.DataFrame]:
    if not db.exists():
        return {}
    out: dict[str, pl.DataFrame] = {}
    try:
        with contextlib.closing(duckdb.connect(str(db), read_only=True)) as con:
            tables = {
                r[0]
                for r in con.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'meta'"
                ).fetchall()
            }
            for name in ("loads", "findings", "check_runs"):
                if name in tables:
                    out[name] = con.sql(f"SELECT * FROM meta.{name}").pl()
    except duckdb.Error:
        return {}
    return out


def _history_notes(db: Path, current: cutstore.CurrentFile) -> list[str]:
    """A current file that is no readable cut breaks the history: the new cut starts it again, and says so."""
    if current.problem is None:
        return []
    kept = f"{cutstore.archive_dir(db).name}/{current.keep_as}.duckdb"
    return [
        f"the previous current file {db.name} is not a readable cut ({current.problem}); it is kept as {kept}. "
        "Its load history (meta.loads) and findings could not be read, so they are not carried into this cut: "
        "the history starts again here (earlier cuts, if any, stay in the same folder)"
    ]


def _count(st: DomainStats, q: pl.DataFrame) -> None:
    st.rows_quarantined += q.height
    for reason, n in q.group_by("reason").len().iter_rows():
        st.reasons[reason] = st.reasons.get(reason, 0) + n


def decimal_comma_note(name: str, delimiter: str, commas: dict[str, int], groups: dict[str, int] | None = None) -> str:
    shown = {"\t": "tab", ";": "semicolon", "|": "pipe"}.get(delimiter, repr(delimiter))
    per = ", ".join(f"{c} {n}" for c, n in sorted(commas.items()))
    note = (f"{name} is {shown}-delimited and writes {sum(commas.values())} numbers with a decimal comma "
            f"('9,5' read as 9.5): {per}")
    if groups:  # a locale that writes decimal commas groups thousands with points: 1.234 may be 1234
        per_group = ", ".join(f"{c} {n}" for c, n in sorted(groups.items()))
        note += (f"; it also writes {sum(groups.values())} numbers like '1.234' (a point before three digits), read "
                 f"as decimals (1.234), though beside decimal commas the point may group thousands (1234): check "
                 f"them in the file ({per_group})")
    return note


# a domain with more than this share of its records quarantined is named in a load warning (a convention of
# this loader, as the "more than half ragged" of readers.iter_batches: a few bad rows are the quarantine's job)
MOSTLY_QUARANTINED = 0.5


def emptied_domain_notes(stats: dict[str, DomainStats], quarantine: pl.DataFrame) -> list[str]:
    """A domain whose every record, or most, went to quarantine (a SEND study's LB with study days but no
    LBDTC; an AE file of another study, its subjects not in DM) loads without error, and the figures built
    on it are empty or thin: the load says so, with the commonest reason, instead of leaving it to the
    quarantine counts."""
    notes = []
    for name, st in sorted(stats.items()):
        if st.rows_read == 0 and name in REQUIRED_DOMAINS:  # a header-only ae.csv loaded without a word
            verb = "holds" if len(st.files) == 1 else "hold"
            notes.append(f"{name.upper()}: {', '.join(st.files)} {verb} no record (a header only): the cut has no "
                         f"{name.upper()} data; if the trial has any, the export is incomplete")
            continue
        if st.rows_read == 0 or st.rows_quarantined <= MOSTLY_QUARANTINED * st.rows_read:
            continue
        top = (quarantine.filter(pl.col("domain") == name.upper()).group_by("reason", "detail").len()
               .sort("len", "reason", "detail", descending=[True, False, False]).head(1))
        reason = top["reason"][0] if top.height else None
        why = (f"{reason} {st.reasons.get(reason, 0)}, e.g. {top['detail'][0]!r}" if reason is not None
               else "see meta.quarantine")
        if name.startswith("supp"):  # merged into its parent: what is lost is the parent's qualifiers (AEDLT)
            lost = "none of its qualifiers are" if st.rows_loaded == 0 else f"only {st.rows_loaded} of its qualifiers are"
            where = "on their parent records" if name == "supp" + SUPPQUAL else f"on {name[4:].upper()}"
            notes.append(f"{name.upper()}: {st.rows_quarantined} of its {st.rows_read} record(s) were quarantined ({why}); "
                         f"{lost} {where}")
        elif st.rows_loaded == 0:
            notes.append(f"{name.upper()}: every one of its {st.rows_read} record(s) was quarantined ({why}); "
                         f"the cut has no {name.upper()} data")
        else:
            share = 100 * st.rows_quarantined / st.rows_read
            notes.append(f"{name.upper()}: {st.rows_quarantined} of its {st.rows_read} records ({share:.0f}%) were "
                         f"quarantined ({why}); the cut holds only {st.rows_loaded}")
    return notes


# the standard numeric result each analysis reads (SDTMIG: "Expected", so an export may lack it), and what is lost
RESULT_COLUMNS = {
    "lb": ("LBSTRESN", "no lab value in adam.adlb, so no CTCAE grade and no lab-based DLT rule"),
    "vs": ("VSSTRESN", "no vital sign in adam.advs, so no blood-pressure category and no BP trend"),
}


def missing_result_notes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """LB without LBSTRESN (or with it empty in every record) loaded without a word, and every lab value and
    grade of the cut was null: the load names the column and what it costs. The values are not taken from
    LBORRES (the result as collected, in the site's units): nothing is invented."""
    notes = []
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' AND NOT temporary").fetchall()}
    for domain, (column, lost) in RESULT_COLUMNS.items():
        if domain not in tables:
            continue
        columns = {r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = ?", [domain]).fetchall()}
        if column not in columns:
            rows = con.execute(f'SELECT count(*) FROM raw."{domain}"').fetchone()[0]
            if rows:
                notes.append(f"{domain.upper()}: no column {column} (the standard numeric result) in its {rows} "
                             f"record(s): {lost}")
            continue
        rows, values = con.execute(f'SELECT count(*), count("{column}") FROM raw."{domain}"').fetchone()
        if rows and not values:
            notes.append(f"{domain.upper()}: {column} (the standard numeric result) is empty in every one of its "
                         f"{rows} record(s): {lost}")
    return notes


def dose_level_notes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Treated subjects in no protocol dose level (ARMCD/ACTARMCD empty or absent, or an arm that is no dose level)
    are in no DLT count of the escalation; the load said nothing of it (only `safetyboard escalation` did)."""
    rows = con.execute(
        "SELECT DOSELVLRSN, count(*) AS n FROM adam.adsl WHERE SAFFL = 'Y' AND DOSELVL IS NULL "
        "GROUP BY ALL ORDER BY n DESC, DOSELVLRSN").fetchall()
    if not rows:
        return []
    treated = con.execute("SELECT count(*) FROM adam.adsl WHERE SAFFL = 'Y'").fetchone()[0]
    unassigned = sum(n for _, n in rows)
    why = "; ".join(f"{reason or 'unknown'}: {n}" for reason, n in rows[:3]) + ("; ..." if len(rows) > 3 else "")
    return [f"ADSL: {unassigned} of {treated} treated subject(s) are in no protocol dose level ({why}), so no DLT "
            "count or escalation decision includes them"]


def with_subject_hints(quarantine: pl.DataFrame, con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The unknown_subject details, with the DM subject the record most likely means: the same USUBJID but for
    case or spaces ('s-001 ' for 'S-001'), or DM's SUBJID of one subject (a file naming subjects by SUBJID, as
    an EDC listing does). Nothing is matched or loaded by it: the data manager is told what to fix. The value is
    the quarantined record's own USUBJID; raw.dm is read only when there is such a record."""
    unknown = pl.col("reason") == "unknown_subject"
    if quarantine.filter(unknown).height == 0:
        return quarantine
    subjid = "SUBJID" if "SUBJID" in _raw_columns(con, "dm") else "NULL::VARCHAR AS SUBJID"
    dm = con.sql(f'SELECT USUBJID, {subjid} FROM raw."dm"').pl()
    folded = lambda c: pl.col(c).str.to_uppercase().str.replace_all(r"\s", "")  # noqa: E731
    by_form = (dm.select(folded("USUBJID").alias("_k"), "USUBJID").unique("_k", keep="none")
               .select("_k", pl.format("DM has '{}': case or spaces differ", "USUBJID").alias("_hint")))
    by_subjid = (dm.filter(pl.col("SUBJID").is_not_null()).select(pl.col("SUBJID").str.strip_chars().alias("_s"), "USUBJID")
                 .unique("_s", keep="none")
                 .select("_s", pl.format("it is DM's SUBJID of '{}': name subjects by USUBJID", "USUBJID").alias("_hint2")))
    value = pl.when(unknown).then(pl.col("record").str.json_path_match("$.USUBJID"))
    hinted = (quarantine.with_row_index("_i")
              .with_columns(value.alias("_v"))
              .with_columns(folded("_v").alias("_k"), pl.col("_v").str.strip_chars().alias("_s"))
              .join(by_form, on="_k", how="left").join(by_subjid, on="_s", how="left")
              .sort("_i"))
    hint = pl.coalesce("_hint", "_hint2")
    return hinted.select(
        *[pl.when(unknown & hint.is_not_null()).then(pl.format("{} ({})", "detail", hint)).otherwise("detail").alias(c)
          if c == "detail" else pl.col(c) for c in quarantine.columns]
    )


def stream_export(
    source: Path,
    mapping: ColumnMapping,
    con: duckdb.DuckDBPyConnection,
    encoding: str = "auto",
    progress: Progress | None = None,
    files: list[SourceFile] | None = None,
    notes: list[str] | None = None,
) -> tuple[list[SourceFile], pl.DataFrame, dict[str, DomainStats], dict[str, int]]:
    """Read, type and quarantine an export into raw.* tables of `con`, batch by batch.

    Returns (files, quarantine, stats per domain, rows per file). Every file is streamed (CSV in
    batches), so a program-scale export is never held whole in memory. What a data manager must know
    about how a file was read (decimal commas) is appended to `notes`.
    """
    files = files if files is not None else discover(source, mapping)
    stats: dict[str, DomainStats] = {}
    rows_per_file: dict[str, int] = {}
    quarantined: list[pl.DataFrame] = []
    headers: list[tuple[str, str, str, list[str]]] = []  # each file's columns as read, for the mapping's notes
    writer = TableWriter(con)
    by_domain: dict[str, list[SourceFile]] = {}
    supp_files: dict[str, list[SourceFile]] = {}
    for sf in files:
        (supp_files if sf.supp else by_domain).setdefault(sf.domain, []).append(sf)
        st = stats.setdefault(("supp" + sf.domain) if sf.supp else sf.domain, DomainStats())
        st.files.append(sf.path.name)

    supp_frames: dict[str, list[pl.DataFrame]] = {}
    for domain, sfs in supp_files.items():
        for sf in sfs:
            if progress:
                progress(f"reading {sf.path.name}")
            ragged: list[RaggedRow] = []
            repeated: list[pl.DataFrame] = []
            frame = _read(sf, mapping, encoding, ragged, notes, headers, repeated)
            rows_per_file[sf.path.name] = frame.height + len(ragged)
            stats["supp" + domain].rows_read += frame.height + len(ragged)
            if (hq := _header_quarantine(repeated, f"supp{domain}")) is not None:
                rows_per_file[sf.path.name] += hq.height
                stats["supp" + domain].rows_read += hq.height
                _count(stats["supp" + domain], hq)
                quarantined.append(hq)
            if ragged:
                q = _ragged_quarantine(sf, ragged, f"supp{domain}", frame.columns)
                _count(stats["supp" + domain], q)
                quarantined.append(q)
            if domain == SUPPQUAL and "RDOMAIN" in frame.columns:
                for parent, part in _split_suppqual(frame, sf, stats, quarantined).items():
                    supp_frames.setdefault(parent, []).append(part)
            else:
                supp_frames.setdefault(domain, []).append(frame)
    supps = {domain: _Supp.prepare(pl.concat(frames, how="diagonal_relaxed"), domain)
             for domain, frames in supp_frames.items()}

    known: pl.Series | None = None
    for domain in ["dm", *sorted(d for d in by_domain if d != "dm")]:
        st = stats[domain]
        parent_columns: set[str] = set()
        for sf in by_domain[domain]:
            if progress:
                progress(f"reading {sf.path.name}")
            rows_per_file[sf.path.name] = 0
            ragged = []
            header: list[str] = []
            # a CSV delimited by other than a comma (';' from European-locale Excel) may write 9.5 as '9,5':
            # the reader's own delimiter, known before the first batch
            dialect: dict[str, str] = {}
            commas: dict[str, int] | None = None
            groups: dict[str, int] | None = None  # '1.234' beside decimal commas: a thousands point?
            repeated = []
            for batch in _batches(sf, mapping, encoding, ragged, dialect, notes, headers, repeated):
                if commas is None and dialect.get("delimiter", ",") != ",":
                    commas, groups = {}, {}
                rows_per_file[sf.path.name] += batch.height
                st.rows_read += batch.height
                header = header or batch.columns
                parent_columns.update(batch.columns)
                if domain in supps:
                    batch = supps[domain].attach(batch)
                subjects = None if domain == "dm" or is_study_level(domain, batch.columns) else known
                loaded, q = normalise_domain(batch, spec_for(domain, batch.columns), subjects, commas, groups)
                writer.append("raw", domain, loaded)
                _count(st, q)
                quarantined.append(q)
            if (hq := _header_quarantine(repeated, domain)) is not None:
                rows_per_file[sf.path.name] += hq.height
                st.rows_read += hq.height
                _count(st, hq)
                quarantined.append(hq)
            if commas and notes is not None:
                notes.append(decimal_comma_note(sf.path.name, dialect["delimiter"], commas, groups))
            if header and domain not in NO_SUBJECT_DOMAINS and is_study_level(domain, header) and notes is not None:
                notes.append(study_level_note(sf.path.name))
            if ragged:
                rows_per_file[sf.path.name] += len(ragged)
                st.rows_read += len(ragged)
                q = _ragged_quarantine(sf, ragged, domain, header)
                _count(st, q)
                quarantined.append(q)
        writer.flush("raw", domain)
        dups = _remove_duplicates(con, domain)
        _count(st, dups)
        quarantined.append(dups)
        st.rows_loaded = con.execute(f'SELECT count(*) FROM raw."{domain}"').fetchall()[0][0]
        if domain == "dm":
            known = con.sql('SELECT DISTINCT USUBJID FROM raw."dm"').pl()["USUBJID"]
        if domain in supps:
            orphans = supps[domain].orphans(parent_columns)
            if st.rows_quarantined:  # no parent record in quarantine: every attached value reached raw.<domain>
                supps[domain].quarantine.append(supps[domain].with_parent_quarantined(con))
            sst = stats["supp" + domain]
            sst.rows_loaded = len(supps[domain].matched)
            for q in [*supps.pop(domain).quarantine, orphans]:
                _count(sst, q)
                quarantined.append(q)
    for domain, supp in supps.items():  # SUPP-- without its parent file
        sst = stats["supp" + domain]
        for q in [*supp.quarantine, supp.orphans(set())]:
            _count(sst, q)
            quarantined.append(q)
    quarantine = pl.concat(quarantined) if quarantined else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    if "dm" in by_domain:
        quarantine = with_subject_hints(quarantine, con)
    for name, st in stats.items():
        if st.rows_read != st.rows_loaded + st.rows_quarantined:
            raise RuntimeError(f"row accounting broken for {name}: {st}")
    if notes is not None:
        notes.extend(mapping.unused_notes(headers, [sf.path.name for sf in files]))
    return files, quarantine, stats, rows_per_file


def read_export(
    source: Path,
    mapping: ColumnMapping,
    encoding: str = "auto",
    progress: Progress | None = None,
) -> tuple[list[SourceFile], dict[str, pl.DataFrame], pl.DataFrame, dict[str, DomainStats], dict[str, int]]:
    """:func:`stream_export` into memory: (files, raw frames, quarantine, stats, rows per file)."""
    with contextlib.closing(duckdb.connect(":memory:")) as con:
        files, quarantine, stats, rows_per_file = stream_export(source, mapping, con, encoding, progress)
        raw = {name: con.sql(f'SELECT * FROM raw."{name}" ORDER BY "_FILE", "_ROW"').pl() for name in _raw_tables(con)}
    return files, raw, quarantine, stats, rows_per_file


def _raw_columns(con: duckdb.DuckDBPyConnection, domain: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = ? "
        "ORDER BY ordinal_position", [domain]
    ).fetchall()]


def _raw_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1"
    ).fetchall()]


def _derive_into(con: duckdb.DuckDBPyConnection, protocol: Protocol, cut_date: dt.date | None,
                 progress: Progress | None, subjects_per_batch: int = 2000) -> None:
    """adam.* from raw.*: core tables in memory; adlb/advs per batch of whole subjects."""
    from etl.derive import MEASUREMENT_INPUTS, MEASUREMENT_TABLES, build_core, derive_measurements

    tables = set(_raw_tables(con))
    raw = {name: con.sql(f'SELECT * FROM raw."{name}" ORDER BY "_FILE", "_ROW"').pl()
           for name in ("dm", "ex", "ae", "sv", "ds") if name in tables}
    core, base = build_core(raw, protocol, cut_date)
    del raw  # the raw frames are not needed past this point; free them before the lab batches
    writer = TableWriter(con)
    for name, frame in core.items():
        writer.append("adam", name, frame)
        writer.flush("adam", name)
    adcyc = core["adcyc"]
    del core
    # subjects in DuckDB's own order, so that each batch is one contiguous USUBJID range: raw tables
    # are written in file order (usually by subject) and DuckDB's zone maps skip the rest of the table
    subjects = [r[0] for r in con.execute('SELECT DISTINCT USUBJID FROM raw."dm" ORDER BY USUBJID').fetchall()]
    for domain, name in MEASUREMENT_TABLES.items():
        if progress:
            progress(f"deriving {name}")
        have = set(_raw_columns(con, domain))
        # only the columns the derivation reads: less to convert and to carry through its joins
        columns = ", ".join(f'"{c}"' for c in MEASUREMENT_INPUTS[domain] if c in have)
        starts = range(0, max(len(subjects), 1), subjects_per_batch)
        for i in starts:
            chunk = subjects[i:i + subjects_per_batch]
            lo, hi = (chunk[0], chunk[-1]) if chunk else ("", "")
            part = con.sql(
                f'SELECT {columns} FROM raw."{domain}" WHERE USUBJID BETWEEN ? AND ? ORDER BY "_FILE", "_ROW"', params=[lo, hi]
            ).pl()
            writer.append("adam", name, derive_measurements(domain, part, base, adcyc, protocol))
        writer.flush("adam", name)


def _cut_date_from(con: duckdb.DuckDBPyConnection, notes: list[str] | None = None) -> dt.date | None:
    return cut_date_in(con, notes=notes)


def _records_after(con: duckdb.DuckDBPyConnection, cut: dt.date) -> int:
    """Records of the clinical domains with a complete date after `cut` (a cut date given with --cut-date)."""
    tables = set(_raw_tables(con))
    total = 0
    for domain in ("ae", "lb", "vs", "ex", "sv", "ds"):
        if domain not in tables:
            continue
        cols = _raw_columns(con, domain)
        dates = [c for c in cols if c.endswith("DTC_DT") and f"{c}F" in cols]
        if dates:
            cond = " OR ".join(f'("{c}F" IS NULL AND "{c}" > ?)' for c in dates)
            total += con.execute(f'SELECT count(*) FROM raw."{domain}" WHERE {cond}', [cut] * len(dates)).fetchall()[0][0]
    return total


def load_export(
    source: Path,
    db: Path,
    protocol: Protocol,
    mapping: Path | None = None,
    encoding: str = "auto",
    run_checks: bool = True,
    progress: Progress | None = None,
    cut_date: dt.date | None = None,
) -> LoadResult:
    """Load `source` into a new cut and make it current at `db`. Raises BadInputError on bad input.

    `cut_date`: the data cut date as the data manager gives it (--cut-date); else derived (:func:`data_cut_date`)."""
    source, db = Path(source), Path(db)
    if cut_date is not None and cut_date > dt.date.today():
        raise BadInputError(f"--cut-date {cut_date} is after today ({dt.date.today()}): a data cut date is a day "
                            "whose data the export holds")
    colmap = load_mapping(Path(mapping) if mapping else None)
    not_datasets: list[Path] = []
    # fails fast on a missing folder or required domain
    files = discover(source, colmap, hash_files=False, not_datasets=not_datasets)
    before = cutstore.file_state(db)  # a cut another load makes current meanwhile is not replaced unseen
    current = cutstore.inspect_current(db)
    notes = [*_history_notes(db, current), *(not_dataset_note(p, source) for p in not_datasets)]
    previous = _previous_meta(db) if current.problem is None else {}
    # loaded_at keeps microseconds so that "the latest cut" is well defined when two loads fall in
    # one second
    loaded_at = dt.datetime.now(dt.UTC)
    findings_summary: dict[str, Any] | None = None
    # the files' sha256 (2.6 GB at program scale: ~2.3 s of one core) are computed beside the load;
    # hashlib releases the GIL while it hashes
    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sb-sha256")
    hashes = [hasher.submit(_sha256, sf.path) for sf in files]
    try:
        with cutstore.new_cut_file(db) as (tmp, con):
            # raw rows carry _FILE/_ROW; every read that needs file order sorts on them
            con.execute("SET preserve_insertion_order = false")
            # keep DuckDB inside the loader's memory budget; larger sorts and windows spill to disk
            con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
            _, quarantine, stats, rows_per_file = stream_export(source, colmap, con, encoding, progress, files, notes)
            notes += emptied_domain_notes(stats, quarantine)
            notes += missing_result_notes(con)
            given = cut_date is not None
            if given:
                after = _records_after(con, cut_date)
                if after:
                    notes.append(f"data cut date {cut_date} as given: {after} record(s) are dated after it (kept; the "
                                 "derivations count days up to the cut date)")
            else:
                cut_date = _cut_date_from(con, notes)
            if progress:
                progress("deriving analysis tables")
            _derive_into(con, protocol, cut_date, progress)
            notes += dose_level_notes(con)
            files = [replace(sf, sha256=h.result()) for sf, h in zip(files, hashes, strict=True)]
            cut_id = _new_cut_id(loaded_at, files, previous)
            # meta.quarantine, meta.loads (history + this load), earlier findings; then the checks
            _write_table(con, "meta", "quarantine", quarantine.with_columns(pl.lit(cut_id).alias("cut_id")))
            file_rows = []
            for sf in files:
                key = ("supp" + sf.domain) if sf.supp else sf.domain
                file_rows.append(
                    {"file": sf.path.name, "domain": key.upper(), "sha256": sf.sha256, "rows_read": rows_per_file[sf.path.name]}
                )
            load_row = pl.DataFrame(
                {
                    "cut_id": [cut_id],
                    "loaded_at": [loaded_at.replace(tzinfo=None)],
                    "cut_date": [cut_date],
                    "cut_date_source": ["given" if given else "derived"],
                    "source": [str(source.resolve())],
                    "files": [json.dumps(file_rows)],
                    "domains": [json.dumps({k: v.to_json() for k, v in sorted(stats.items())})],
                    "code_version": [_code_version()],
                    "protocol_file": [str(protocol.path)],
                    "protocol_sha256": [protocol.sha256],
                    "mapping_sha256": [colmap.sha256],
                    "status": ["ok"],
                    "notes": [json.dumps(notes)],
                },
                schema_overrides={"cut_date": pl.Date, "mapping_sha256": pl.String},
            )
            history = previous.get("loads")
            loads = pl.concat([history, load_row], how="diagonal_relaxed") if history is not None else load_row
            _write_table(con, "meta", "loads", loads)
            for name in ("findings", "check_runs"):
                if name in previous:
                    _write_table(con, "meta", name, previous[name])
            if run_checks:
                if progress:
                    progress("running data-quality checks")
                from checks.runner import run_checks as run_all_checks

                run = run_all_checks(con, protocol, cut_id, data_docs_dir=None, db_path=db)
                findings_summary = run.summary() if hasattr(run, "summary") else None
    finally:
        hasher.shutdown(wait=False, cancel_futures=True)
    try:
        cutstore.publish_unless_changed(tmp, db, current.keep_as, before, "load")
    except BaseException:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    return LoadResult("ok", cut_id, db, cut_date, stats, findings_summary, notes)


def _new_cut_id(loaded_at: dt.datetime, files: list[SourceFile], previous: dict[str, pl.DataFrame]) -> str:
    """<UTC time>-<8 hex of the files' hashes>; an id already used (same second, same files) gets
    a -2, -3, ... suffix."""
    digest = hashlib.sha256("".join(sorted(f.sha256 for f in files)).encode()).hexdigest()[:8]
    cut_id = f"{loaded_at:%Y%m%dT%H%M%SZ}-{digest}"
    used = set(previous["loads"]["cut_id"].to_list()) if "loads" in previous else set()
    n = 1
    while (cut_id if n == 1 else f"{cut_id}-{n}") in used:
        n += 1
    return cut_id if n == 1 else f"{cut_id}-{n}"
