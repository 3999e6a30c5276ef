"""Read-only access to the current cut, reopened when the loader swaps the file.

The loader replaces `current.duckdb` atomically with `os.replace` (docs/architecture.md, "Cuts on
disk"), so a new cut is a new inode and/or mtime. `CutIdentity` captures both; `CutConnection`
reopens its read-only connection whenever the identity of the file on disk changes.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb

ENV_DB = "SAFETYBOARD_DB"
DEFAULT_DB = Path("var/cuts/current.duckdb")


class MissingCutError(FileNotFoundError):
    """The cut file does not exist (yet): run `safetyboard load` first."""


@dataclass(frozen=True)
class CutIdentity:
    path: str
    inode: int
    mtime_ns: int
    size: int


def default_db_path() -> Path:
    """The db given to `safetyboard serve --db` (via the environment), else var/cuts/current.duckdb."""
    value = os.environ.get(ENV_DB)
    return Path(value) if value else DEFAULT_DB


def cut_identity(path: str | Path) -> CutIdentity:
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError as exc:
        raise MissingCutError(
            f"No data cut at {p}. Load an export first: safetyboard load EXPORT_DIR --db {p}"
        ) from exc
    return CutIdentity(str(p.resolve()), st.st_ino, st.st_mtime_ns, st.st_size)


class CutConnection:
    """A read-only DuckDB connection to one cut file that follows atomic swaps."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._identity: CutIdentity | None = None

    @property
    def identity(self) -> CutIdentity:
        """The identity of the file on disk now (raises MissingCutError)."""
        return cut_identity(self.path)

    def connection(self) -> duckdb.DuckDBPyConnection:
        """The connection, reopened if the file was swapped since it was opened."""
        with self._lock:
            ident = cut_identity(self.path)
            if self._con is None or ident != self._identity:
                if self._con is not None:
                    self._con.close()
                self._con = duckdb.connect(str(self.path), read_only=True)
                self._identity = ident
            return self._con

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for one thread (DuckDB connections are not shared across threads)."""
        return self.connection().cursor()

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
            self._con = None
            self._identity = None
