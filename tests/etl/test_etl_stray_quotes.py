"""A quote inside a CSV value that is not quoted (`Laceration 2" long`): Polars stopped the whole load with
'CSV malformed: expected 0 rows' naming neither the row nor the problem. Such a record is read as a spreadsheet
shows it, and the load says so; text after a quoted value's closing quote (`"Pain"x`), which has no one reading,
quarantines its record. Real files in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from etl_sample_export import AE, csv_text

from etl.csv_rows import find_ragged_rows
from etl.loader import load_export
from etl.readers import iter_batches
from safetyboard.protocol import Protocol

HEADER = "USUBJID,AESEQ,AETERM,AETOXGR,AESTDTC\n"


def _frame(tmp_path: Path, body: str, delimiter: str) -> tuple[pl.DataFrame, list, list[str]]:
    path = tmp_path / "ae.csv"
    path.write_text((HEADER + body).replace(",", delimiter), encoding="utf-8")
    ragged: list = []
    notes: list[str] = []
    frame = pl.concat(list(iter_batches(path, ragged=ragged, notes=notes)))
    return frame, ragged, notes


@pytest.mark.parametrize("delimiter", [",", ";"])
@pytest.mark.parametrize(
    ("body", "terms"),
    [
        ('S-1,1,Laceration 2" long,1,2026-01-05\nS-1,2,Nausea,1,2026-01-06\n', ['Laceration 2" long', "Nausea"]),
        ('S-1,1,Tube 5",1,2026-01-05\nS-1,2,Nausea,1,2026-01-06\n', ['Tube 5"', "Nausea"]),
        # with a genuine value over two lines elsewhere in the file (the whole file read by the csv module)
        ('S-1,1,"Pain\nback",1,2026-01-05\nS-1,2,cut 3" wide,1,2026-01-06\nS-1,3,Rash,1,2026-01-07\n',
         ["Pain\nback", 'cut 3" wide', "Rash"]),
        # an even number of quotes: Polars read it too, but it is the same departure from RFC 4180
        ('S-1,1,Pain 2"x3",1,2026-01-05\nS-1,2,Nausea,1,2026-01-06\n', ['Pain 2"x3"', "Nausea"]),
    ],
    ids=["inside", "at-end", "with-multiline", "even"],
)
def test_a_quote_inside_an_unquoted_value_is_read_as_a_character(tmp_path: Path, body: str, terms: list[str],
                                                                 delimiter: str) -> None:
    frame, ragged, notes = _frame(tmp_path, body, delimiter)
    assert frame["AETERM"].to_list() == terms
    assert frame["_ROW"].to_list() == list(range(1, len(terms) + 1))
    assert ragged == []
    quoted = [t for t in terms if '"' in t]
    assert len(notes) == 1 and notes[0].startswith(f"ae.csv: {len(quoted)} record(s) have a quote inside a value")
    assert repr(quoted[0]) in notes[0]


def test_quoted_values_with_doubled_quotes_are_no_stray_quotes(tmp_path: Path) -> None:
    frame, ragged, notes = _frame(tmp_path, 'S-1,1,"Pain ""sharp"", back",1,2026-01-05\nS-1,2,"Nausea",1,\n', ",")
    assert frame["AETERM"].to_list() == ['Pain "sharp", back', "Nausea"]
    assert (ragged, notes) == ([], [])


def test_text_after_a_closing_quote_is_a_malformed_row(tmp_path: Path) -> None:
    path = tmp_path / "ae.csv"
    path.write_text(HEADER + 'S-1,1,"Pain"x,1,2026-01-05\nS-1,2,Nausea,1,2026-01-06\n', encoding="utf-8")
    found = find_ragged_rows(path, ",", 5)
    assert [(r.row, r.first_line) for r in found] == [(1, 2)]
    assert found[0].problem.startswith("text follows the closing quote of a quoted value")
    assert "'S-1,1,\"Pain\"x,1,2026-01-05'" in found[0].problem


def test_loader_reads_stray_quotes_and_quarantines_the_unreadable(tmp_path: Path, protocol: Protocol,
                                                                  make_export) -> None:
    folder = make_export()
    text = csv_text([dict(r) for r in AE]).splitlines(keepends=True)
    stray = "S-001,2,Laceration 2\" long,LACERATION,1,2026-01-11,2026-01-12,N\n"
    after = "S-001,3,\"Pain\"x,PAIN,1,2026-01-11,2026-01-12,N\n"
    (folder / "ae.csv").write_text(text[0] + text[1] + stray + after + text[2])
    db = tmp_path / "cuts" / "current.duckdb"
    result = load_export(folder, db, protocol, run_checks=False)
    ae = result.domains["ae"]
    assert (ae.rows_read, ae.rows_loaded, ae.rows_quarantined, ae.reasons) == (4, 3, 1, {"malformed_row": 1})
    assert any(w.startswith("ae.csv: 1 record(s) have a quote inside a value that is not quoted (row 2, line 3: "
                            "'Laceration 2\" long')") for w in result.warnings)
    with duckdb.connect(str(db), read_only=True) as con:
        raw = con.sql('SELECT "_ROW", AETERM FROM raw.ae ORDER BY "_ROW"').fetchall()
        q = con.sql("SELECT row_number, detail, record FROM meta.quarantine").fetchall()
        notes = json.loads(con.sql("SELECT notes FROM meta.loads").fetchall()[0][0])
    assert raw == [(1, AE[0]["AETERM"]), (2, 'Laceration 2" long'), (4, AE[1]["AETERM"])]
    assert [(r, d.split(":")[0]) for r, d, _ in q] == [(3, "row 3 (line 4)")]
    assert json.loads(q[0][2])["AESEQ"] == "3"
    assert any("quote inside a value" in n for n in notes)
