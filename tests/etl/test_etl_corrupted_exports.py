"""The demo export with one file corrupted the ways real exports break (cut short, bytes flipped, a stray quote,
a field or column lost, a header shuffled or repeated, junk cells, CRLF, cp1252 bytes, a line twice): every
load either succeeds with rows read = rows loaded + rows quarantined for every domain and every quarantined row
in meta.quarantine, or stops with BadInputError naming the file. Never an internal error. Seeded, so a failure
names its case; a fuzzer of this kind found the stray-quote crash (tests/etl/test_etl_stray_quotes.py)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import duckdb
import pytest

from etl.loader import load_export
from safetyboard.errors import BadInputError
from safetyboard.protocol import Protocol

JUNK = [b"NA", b".", b"-", b"?", b"1e999", b"nan", b"inf", b" ", b"2026-02-30", b"2026-13", b"<0.1", b"NULL",
        b"9999-99-99", b"1,5", b'"', b"\xef\xbb\xbf"]


def _mutate(data: bytes, kind: str, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    body = range(1, max(2, len(lines) - 1))
    if kind == "truncate":
        return data[: rng.randrange(1, len(data))]
    if kind == "flip":
        b = bytearray(data)
        for _ in range(rng.randrange(1, 20)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if kind == "quote":
        i = rng.choice(body)
        p = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:p] + b'"' + lines[i][p:]
    elif kind == "drop_field":
        i = rng.choice(body)
        f = lines[i].split(b",")
        f.pop(rng.randrange(len(f)))
        lines[i] = b",".join(f)
    elif kind == "drop_column":
        j = rng.randrange(len(lines[0].split(b",")))
        lines = [b",".join(x for k, x in enumerate(ln.split(b",")) if k != j) for ln in lines]
    elif kind == "shuffle_header":
        h = lines[0].split(b",")
        rng.shuffle(h)
        lines[0] = b",".join(h)
    elif kind == "junk":
        for i in body:
            f = lines[i].split(b",")
            if rng.random() < 0.05:
                f[rng.randrange(len(f))] = rng.choice(JUNK)
            lines[i] = b",".join(f)
    elif kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    elif kind == "cp1252":
        return data.replace(b"a", "\u00e9".encode("cp1252"), 3)
    elif kind == "line_twice":
        i = rng.choice(body)
        lines.insert(i, lines[i])
    return b"\n".join(lines)


KINDS = ["truncate", "flip", "quote", "drop_field", "drop_column", "shuffle_header", "junk", "crlf", "cp1252",
         "line_twice"]
FILES = ["ae.csv", "dm.csv", "ex.csv", "lb.csv", "suppae.csv", "sv.csv", "vs.csv"]
CASES = [(kind, FILES[(i * 3 + seed) % len(FILES)], seed) for i, kind in enumerate(KINDS) for seed in (1, 2)]


@pytest.mark.parametrize(("kind", "name", "seed"), CASES, ids=[f"{k}-{n}-{s}" for k, n, s in CASES])
def test_a_corrupted_file_loads_accounted_for_or_is_refused_by_name(demo_export_dir: Path, tmp_path: Path,
                                                                     protocol: Protocol, kind: str, name: str,
                                                                     seed: int) -> None:
    export = tmp_path / "export"
    shutil.copytree(demo_export_dir, export)
    path = export / name
    path.write_bytes(_mutate(path.read_bytes(), kind, random.Random(seed)))
    db = tmp_path / "cuts" / "current.duckdb"
    try:
        result = load_export(export, db, protocol, run_checks=False)
    except BadInputError as exc:
        assert str(exc).startswith((name, str(export))), str(exc)  # names the file (or the folder, for a domain)
        # ... and says what is wrong in the loader's words: a parser's own message names no row ('CSV malformed:
        # expected 0 rows, actual 818 rows, in chunk starting at row_offset 121' for one stray quote)
        assert "CSV malformed" not in str(exc) and "row_offset" not in str(exc), str(exc)
        assert not db.exists()  # nothing was made current
        return
    for domain, st in result.domains.items():
        assert st.rows_read == st.rows_loaded + st.rows_quarantined, domain
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.sql("SELECT count(*) FROM meta.quarantine").fetchall()[0][0]
    assert stored == sum(st.rows_quarantined for st in result.domains.values())
