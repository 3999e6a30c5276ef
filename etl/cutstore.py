"""Cuts on disk: write a new cut beside the current one and swap it in atomically.

DuckDB allows no reader while a writer holds a file, so a cut is never written in place
(DESIGN.md storage contract): the new cut is built in `<db>.tmp-<pid>` in the same folder,
CHECKPOINTed and closed, fsynced, and `os.replace`d over the current file. The previous current
file is first hard-linked into `<stem>.cuts/<cut_id>.duckdb`, so earlier cuts are kept and a
reader that still has the old file open keeps reading it. A current file that is no readable cut
(damaged, or a DuckDB file no load made) is kept the same way, as `unreadable-<mtime>.duckdb`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from safetyboard.errors import BadInputError

_DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def archive_dir(db: Path) -> Path:
    return db.parent / f"{db.stem}.cuts"


def temp_path(db: Path) -> Path:
    return db.parent / f"{db.name}.tmp-{os.getpid()}"


@dataclass(frozen=True)
class CurrentFile:
    """What is at `db` before a new cut replaces it."""

    cut_id: str | None  # the current cut's id; None when there is no readable cut
    keep_as: str | None  # the name it is kept under in <stem>.cuts/ (None: nothing to keep)
    problem: str | None  # why a file that is there is no readable cut


def _unreadable_name(db: Path) -> str:
    """unreadable-<mtime>, with -2, -3, ... when another file was kept under that name already."""
    base = f"unreadable-{int(db.stat().st_mtime)}"
    name, n = base, 1
    while (kept := archive_dir(db) / f"{name}.duckdb").exists() and not os.path.samefile(kept, db):
        n += 1
        name = f"{base}-{n}"
    return name


def inspect_current(db: Path) -> CurrentFile:
    """The current cut at `db`, or why the file there is none (then it is kept as unreadable-<mtime>)."""
    if not db.is_file() or db.stat().st_size == 0:
        return CurrentFile(None, None, None)
    try:
        with contextlib.closing(duckdb.connect(str(db), read_only=True)) as con:
            row = con.execute(
                "SELECT cut_id FROM meta.loads WHERE status = 'ok' ORDER BY loaded_at DESC LIMIT 1"
            ).fetchone()
    except duckdb.Error as exc:
        problem = str(exc).strip().split("\n", 1)[0]
    else:
        if row:
            return CurrentFile(row[0], row[0], None)
        problem = "meta.loads has no successful load"
    return CurrentFile(None, _unreadable_name(db), problem)


def current_cut_id(db: Path) -> str | None:
    """The cut id of the current file, or None when there is no readable current cut."""
    return inspect_current(db).cut_id


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tmp: Path, db: Path, keep_as: str | None) -> None:
    """Make `tmp` (a closed, checkpointed DuckDB file) the current cut at `db`.

    The current file is first kept as `<stem>.cuts/<keep_as>.duckdb` (a load passes
    `inspect_current(db).keep_as`); with None, only a file that is no readable cut is kept.
    """
    _fsync(tmp)
    name = keep_as
    if name is None:
        # a current file without a readable cut (damaged, or no load's) is kept, never lost
        current = inspect_current(db)
        name = current.keep_as if current.cut_id is None else None
    if db.exists() and name:
        archive = archive_dir(db)
        archive.mkdir(parents=True, exist_ok=True)
        kept = archive / f"{name}.duckdb"
        if not kept.exists():
            try:
                os.link(db, kept)
            except OSError:  # file systems without hard links: copy instead
                shutil.copy2(db, kept)
    os.replace(tmp, db)
    _fsync(db.parent)


FileState = tuple[int, int] | None  # (inode, mtime in ns) of the current file; None when there is none


def file_state(db: Path) -> FileState:
    """What identifies the current file at `db`: a swap-in (os.replace) gives it a new inode."""
    try:
        st = db.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns)


@contextlib.contextmanager
def publish_lock(db: Path) -> Iterator[None]:
    """One swap at a time at `db` (an advisory lock on `<db>.lock`), so that checking the current file is
    unchanged and replacing it happen together."""
    import fcntl

    db.parent.mkdir(parents=True, exist_ok=True)
    with (db.parent / f"{db.name}.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def publish_unless_changed(tmp: Path, db: Path, keep_as: str | None, before: FileState, doing: str) -> None:
    """:func:`publish`, unless another load or check made a new cut current at `db` since `before` was read.

    Two loads at once both kept the cut they started from and replaced each other: the first one's cut, reported
    'ok', was then neither current nor kept. The later one now stops (BadInputError; `tmp` is left to the caller
    to remove) and nothing it did is published."""
    with publish_lock(db):
        if file_state(db) != before:
            now = current_cut_id(db)
            raise BadInputError(
                f"{db}: another load or check made a new cut current{f' ({now})' if now else ''} while this {doing} "
                f"ran; nothing was changed by this {doing}: run it again"
            )
        publish(tmp, db, keep_as)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temps(db: Path) -> list[Path]:
    """Delete temporary cut files left by loads that were killed (their process no longer exists)."""
    removed = []
    prefix = f"{db.name}.tmp-"
    for path in db.parent.glob(f"{prefix}*"):
        pid_text = path.name[len(prefix):].removesuffix(".wal")
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _pid_alive(int(pid_text)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _check_is_cut_file(db: Path) -> None:
    """--db must name a DuckDB file (or nothing yet): a load never replaces another kind of file."""
    if db.is_dir():
        raise BadInputError(f"--db {db}: is a folder, not a DuckDB file")
    if not db.exists() or db.stat().st_size == 0:
        return
    with db.open("rb") as fh:
        head = fh.read(12)
    if head[8:12] != _DUCKDB_MAGIC:
        raise BadInputError(f"--db {db}: the file exists and is not a DuckDB database; not replaced")


@contextlib.contextmanager
def new_cut_file(db: Path) -> Iterator[tuple[Path, duckdb.DuckDBPyConnection]]:
    """Yield (temp path, read-write connection). On error the temp file is removed.

    The caller publishes with :func:`publish` after the block; the connection is checkpointed and
    closed on a clean exit.
    """
    _check_is_cut_file(db)
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(db)
    remove_stale_temps(db)
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        yield tmp, con
        con.execute("CHECKPOINT")
        con.close()
    except BaseException:
        con.close()
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise


def copy_current_to_temp(db: Path) -> Path:
    """A private read-write copy of the current cut (for re-running checks without writing in place)."""
    tmp = temp_path(db)
    shutil.copy2(db, tmp)
    return tmp
