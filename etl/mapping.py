"""Column mapping for non-SDTM exports: a TOML file, not code changes.

```toml
[files]            # file name stem (case-insensitive) -> SDTM domain
adverse_events = "ae"

[columns.ae]       # source column -> SDTM variable, per domain ("*" applies to every domain, a split
                   # dataset's table, e.g. [columns.lbch], to its files on top of [columns.lb])
"Subject ID" = "USUBJID"
"Grade" = "AETOXGR"
```
"""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from etl.domains import ANALYSIS_VARIABLES, is_dataset_name
from safetyboard.errors import BadInputError


@dataclass(frozen=True)
class ColumnMapping:
    files: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    sha256: str | None = None

    def domain_for_stem(self, stem: str) -> str | None:
        return self.files.get(stem.lower())

    def renames(self, domain: str, columns: list[str], dataset: str | None = None) -> dict[str, str]:
        """Source column -> SDTM name for a file of `domain` (ae, suppae), from "*", the domain's table and the
        table of the file's own dataset (a split one: lbch), the later winning."""
        table: dict[str, str] = {}
        for key in dict.fromkeys(["*", domain, dataset or domain]):
            table.update({k.upper(): v.upper() for k, v in self.columns.get(key, {}).items()})
        return {c: table[c.upper()] for c in columns if c.upper() in table}

    def unused_notes(self, headers: list[tuple[str, str, str, list[str]]], file_names: list[str]) -> list[str]:
        """What the mapping named that the export does not have, one note per table: a misspelt source column
        ("Grde" = "AETOXGR") renames nothing, and the variable is then missing from the cut without a word.

        `headers`: (file name, table key as in :meth:`renames` (ae, suppae), dataset (lbch), its columns as read),
        one per file the load read; the stems of [files] are matched against `file_names`, every file found.
        """
        notes = []
        stems = {Path(name).stem.lower() for name in file_names}
        for stem, domain in sorted(self.files.items()):
            if stem not in stems:
                notes.append(f"column mapping: [files] {stem} = {domain!r} names no file of the export (no {stem}.*)")
        for key, table in sorted(self.columns.items()):
            applies = [(name, cols) for name, domain, dataset, cols in headers if key in ("*", domain, dataset)]
            table_name = '"*"' if key == "*" else key  # as the file spells it: [columns."*"]
            if not applies:
                notes.append(f"column mapping: [columns.{table_name}] applies to no file of the export: its {len(table)} "
                             "rename(s) were not made")
                continue
            present = {c.upper() for _, cols in applies for c in cols}
            notes.extend(_near_miss_notes(key, table_name, table, applies, present))
            missing = [s for s in table if s.upper() not in present]
            if missing:
                files = ", ".join(sorted({name for name, _ in applies}))
                notes.append(f"column mapping: [columns.{table_name}] renamed nothing for {', '.join(map(repr, missing))}: "
                             f"no such column in {files} (a misspelt name leaves its variable out of the cut)")
        return notes


def _near_miss_notes(key: str, table_name: str, table: dict[str, str], applies: list[tuple[str, list[str]]],
                     present: set[str]) -> list[str]:
    """A target close to a variable the analysis reads that the files lack ("Grade" = "AETOXGRR": every AE left
    ungraded without a word): named, with the variable it likely means (difflib ratio >= 0.85, one letter off)."""
    domains = {key} if key != "*" else set(ANALYSIS_VARIABLES)
    wanted = set().union(*(ANALYSIS_VARIABLES.get(d[:2] if len(d) > 2 else d, frozenset()) for d in domains))
    targets = {t.upper() for t in table.values()}
    notes = []
    for source, target in table.items():
        t = target.upper()
        if t in wanted:
            continue
        close = [v for v in difflib.get_close_matches(t, sorted(wanted), n=3, cutoff=0.85)
                 if v not in present and v not in targets]
        if close:
            files = ", ".join(sorted({name for name, _ in applies}))
            notes.append(f"column mapping: [columns.{table_name}] maps {source!r} to {target!r}, which SafetyBoard does "
                         f"not read; did you mean {close[0]} (not in {files})?")
    return notes


TARGET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a variable name (SDTMIG 2.5.3: letters, digits, underscore)


def load_mapping(path: Path | None) -> ColumnMapping:
    if path is None:
        return ColumnMapping()
    try:
        data = path.read_bytes()
        raw = tomllib.loads(data.decode("utf-8-sig"))  # a BOM (Windows Notepad) is no TOML error
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read the mapping file ({exc.strerror})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{path}: the mapping file is not valid TOML ({exc})") from exc
    unknown = sorted(set(raw) - {"files", "columns"})
    if unknown:  # a misspelt table ([column.ae]) would be ignored, its renames silently not made
        raise BadInputError(f"{path}: unknown key(s) {', '.join(map(repr, unknown))} in the mapping file "
                            "(it has [files] and [columns.<domain>] tables)")
    files = raw.get("files", {})
    columns = raw.get("columns", {})
    if not isinstance(files, dict) or not all(isinstance(v, str) and v.strip() for v in files.values()):
        raise BadInputError(f"{path}: key 'files' must map file name stems to domain names")
    for stem, domain in files.items():  # "ae.csv" or "aee" loaded as AE only because any ae... is a split AE
        if not is_dataset_name(domain.strip()):
            raise BadInputError(f"{path}: [files] maps {stem!r} to {domain!r}, which is not a dataset name (a letter, "
                                "then letters or digits, at most 8: ae, lbch, suppae)")
    if not isinstance(columns, dict) or not all(isinstance(v, dict) for v in columns.values()):
        raise BadInputError(f"{path}: key 'columns' must hold one table per domain")
    for domain, table in columns.items():
        for source, target in table.items():
            # a number, a list or a nested table stopped the load with an internal error; an empty name
            # gave the column no name at all
            if not isinstance(target, str) or not target.strip():
                raise BadInputError(f"{path}: [columns.{domain}] maps {source!r} to {target!r}: a target must be a "
                                    "column name (text)")
            # 'AE TOXGR', '1AETOX' or 'AETÖXGR' became a column of that name and left every AE ungraded
            if not TARGET_NAME.fullmatch(target.strip()):
                raise BadInputError(f"{path}: [columns.{domain}] maps {source!r} to {target!r}, which is not a variable "
                                    "name (SDTM: ASCII letters, digits and _, not starting with a digit, e.g. AETOXGR)")
    return ColumnMapping(
        files={k.lower(): v.strip().lower() for k, v in files.items()},
        # source names trimmed as the readers trim header names ("Verbatim " renamed nothing)
        columns={k.lower() if k != "*" else k: {s.strip(): t.strip() for s, t in v.items()} for k, v in columns.items()},
        sha256=hashlib.sha256(data).hexdigest(),
    )
