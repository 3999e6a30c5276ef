"""Column mapping for non-SDTM exports: a TOML file, not code changes.

```toml
[files]            # file name stem (case-insensitive) -> SDTM domain
adverse_events = "ae"

[columns.ae]       # source column -> SDTM variable, per domain ("*" applies to every domain)
"Subject ID" = "USUBJID"
"Grade" = "AETOXGR"
```
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from safetyboard.errors import BadInputError


@dataclass(frozen=True)
class ColumnMapping:
    files: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    sha256: str | None = None

    def domain_for_stem(self, stem: str) -> str | None:
        return self.files.get(stem.lower())

    def renames(self, domain: str, columns: list[str]) -> dict[str, str]:
        table = {k.upper(): v.upper() for k, v in self.columns.get("*", {}).items()}
        table.update({k.upper(): v.upper() for k, v in self.columns.get(domain, {}).items()})
        return {c: table[c.upper()] for c in columns if c.upper() in table}


def load_mapping(path: Path | None) -> ColumnMapping:
    if path is None:
        return ColumnMapping()
    try:
        data = path.read_bytes()
        raw = tomllib.loads(data.decode("utf-8"))
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read the mapping file ({exc.strerror})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{path}: the mapping file is not valid TOML ({exc})") from exc
    files = raw.get("files", {})
    columns = raw.get("columns", {})
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise BadInputError(f"{path}: key 'files' must map file name stems to domain names")
    if not isinstance(columns, dict) or not all(isinstance(v, dict) for v in columns.values()):
        raise BadInputError(f"{path}: key 'columns' must hold one table per domain")
    return ColumnMapping(
        files={k.lower(): v.lower() for k, v in files.items()},
        columns={k.lower() if k != "*" else k: v for k, v in columns.items()},
        sha256=hashlib.sha256(data).hexdigest(),
    )
