"""The demo's labs, vitals and dosing agree with its lab-type AEs (DOMAIN.md 2-4).

Every neutropenia / thrombocytopenia / anaemia / ALT AE of grade g has a lab value of CTCAE v5 grade g
while it lasts (febrile neutropenia: ANC grade >= 3, and a temperature > 38.3 C); nal-IRI is never given
on a day whose ANC is < 1.5 x 10^9/L (Onivyde label: withhold); DLT events start on treatment. The
grading below is written from DOMAIN.md section 2, independently of the generator and of etl/derive."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from etl.demo.generate import write_demo_export
from safetyboard.protocol import Protocol

LAB_TERMS = {"Neutrophil count decreased": "NEUT", "Febrile neutropenia": "NEUT", "Platelet count decreased": "PLAT",
             "Anaemia": "HGB", "Alanine aminotransferase increased": "ALT"}


def _read(folder: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(folder / f"{name}.csv", infer_schema=False)


def _date(col: str) -> pl.Expr:
    return pl.col(col).str.to_date("%Y-%m-%d", strict=False)


def _ctcae_grade() -> pl.Expr:
    v, lo, hi, t = pl.col("V"), pl.col("LO"), pl.col("HI"), pl.col("LBTESTCD")
    return (pl.when(t == "NEUT").then(pl.when(v < 0.5).then(4).when(v < 1.0).then(3).when(v < 1.5).then(2).when(v < lo).then(1).otherwise(0))
            .when(t == "PLAT").then(pl.when(v < 25).then(4).when(v < 50).then(3).when(v < 75).then(2).when(v < lo).then(1).otherwise(0))
            .when(t == "HGB").then(pl.when(v < 80).then(3).when(v < 100).then(2).when(v < lo).then(1).otherwise(0))
            .when(t == "ALT").then(pl.when(v > 20 * hi).then(4).when(v > 5 * hi).then(3).when(v > 3 * hi).then(2).when(v > hi).then(1).otherwise(0)))


@pytest.fixture(scope="module", params=["default", "seed4"])
def export(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, protocol: Protocol) -> Path:
    if request.param == "default":
        return request.getfixturevalue("demo_export_dir")
    out = tmp_path_factory.mktemp("demo-seed4")
    write_demo_export(out, subjects=56, seed=4, protocol=protocol)
    return out


def _frames(folder: Path) -> dict[str, pl.DataFrame]:
    truth = json.loads((folder / "_truth.json").read_text())
    cut = dt.date.fromisoformat(truth["cut_date"])
    clean = truth["clean_subjects"]
    supp = _read(folder, "suppae").select("USUBJID", pl.col("IDVARVAL").alias("AESEQ"), pl.col("QVAL").alias("AEDLT"))
    ae = _read(folder, "ae").join(supp, on=["USUBJID", "AESEQ"], how="left").with_columns(
        _date("AESTDTC").alias("ST"), pl.coalesce(_date("AEENDTC"), pl.lit(cut)).alias("EN"), pl.col("AETOXGR").cast(pl.Int64, strict=False).alias("G"))
    gdl = pl.col("LBSTRESU") == "g/dL"
    lb = _read(folder, "lb").with_columns(
        _date("LBDTC").alias("DT"), pl.col("LBSTRESN").cast(pl.Float64, strict=False).alias("V"),
        pl.col("LBSTNRLO").cast(pl.Float64, strict=False).alias("LO"), pl.col("LBSTNRHI").cast(pl.Float64, strict=False).alias("HI"),
    ).with_columns(  # haemoglobin in g/L (site 03 reports g/dL)
        pl.when(gdl).then(pl.col("V") * 10).otherwise(pl.col("V")).alias("V"), pl.when(gdl).then(pl.col("LO") * 10).otherwise(pl.col("LO")).alias("LO"),
    ).filter(pl.col("LBTESTCD").is_in(list(set(LAB_TERMS.values()))) & pl.col("DT").is_not_null() & pl.col("V").is_not_null())
    ex = _read(folder, "ex").with_columns(_date("EXSTDTC").alias("ST"), pl.coalesce(_date("EXENDTC"), _date("EXSTDTC")).alias("EN"))
    vs = _read(folder, "vs").with_columns(_date("VSDTC").alias("DT"), pl.col("VSSTRESN").cast(pl.Float64, strict=False).alias("V"))
    return {"ae": ae, "lb": lb.with_columns(_ctcae_grade().alias("LG")), "ex": ex, "vs": vs,
            "clean": pl.DataFrame({"USUBJID": clean}), "dm": _read(folder, "dm")}


def test_lab_type_aes_have_a_value_of_their_grade_while_they_last(export: Path) -> None:
    f = _frames(export)
    aes = f["ae"].filter(pl.col("AEDECOD").is_in(list(LAB_TERMS)) & pl.col("G").is_not_null()).join(f["clean"], on="USUBJID").with_columns(
        pl.col("AEDECOD").replace_strict(LAB_TERMS).alias("LBTESTCD"))
    assert aes.height > 30
    during = aes.join(f["lb"].select("USUBJID", "LBTESTCD", "DT", "LG"), on=["USUBJID", "LBTESTCD"], how="left").filter(
        (pl.col("DT") >= pl.col("ST")) & (pl.col("DT") <= pl.col("EN")))
    # the value of the AE's grade (anaemia: CTCAE grades Hgb up to 3; febrile neutropenia: ANC grade >= 3)
    wanted = (pl.when(pl.col("AEDECOD") == "Febrile neutropenia").then(pl.col("LG") >= 3)
              .when(pl.col("LBTESTCD") == "HGB").then(pl.col("LG") == pl.min_horizontal("G", pl.lit(3)))
              .otherwise(pl.col("LG") == pl.col("G")))
    ok = during.group_by("USUBJID", "AESEQ").agg(wanted.any().alias("OK"))
    missing = aes.join(ok.filter(pl.col("OK")), on=["USUBJID", "AESEQ"], how="anti")
    assert missing.select("USUBJID", "AESEQ", "AEDECOD", "G", "ST", "EN").to_dicts() == []


def test_febrile_neutropenia_has_a_fever_recorded(export: Path) -> None:
    f = _frames(export)
    fn = f["ae"].filter(pl.col("AEDECOD") == "Febrile neutropenia").select("USUBJID", "AESEQ", "ST", "EN")
    temp = f["vs"].filter(pl.col("VSTESTCD") == "TEMP").select("USUBJID", "DT", "V")
    hot = fn.join(temp, on="USUBJID").filter((pl.col("DT") >= pl.col("ST")) & (pl.col("DT") <= pl.col("EN")) & (pl.col("V") > 38.3))
    assert fn.join(hot, on=["USUBJID", "AESEQ"], how="anti").to_dicts() == []  # CTCAE v5: a single temperature > 38.3 C


def test_nal_iri_is_withheld_when_anc_is_below_1_5(export: Path) -> None:
    f = _frames(export)
    iri = f["ex"].filter(pl.col("EXTRT") == "IRINOTECAN LIPOSOME").select("USUBJID", pl.col("ST").alias("DT"))
    low = f["lb"].filter((pl.col("LBTESTCD") == "NEUT") & (pl.col("V") < 1.5)).select("USUBJID", "DT")
    assert low.height > 0
    assert iri.join(low, on=["USUBJID", "DT"]).to_dicts() == []  # Onivyde label (DOMAIN.md 3): withhold for ANC < 1500/mm3
    # the AE that held it says so
    held = f["ae"].filter(pl.col("AEDECOD").is_in(["Neutrophil count decreased", "Febrile neutropenia"]) & (pl.col("G") >= 2))
    assert "DRUG INTERRUPTED" in held["AEACN"].to_list()


def test_dlt_events_start_on_treatment(export: Path) -> None:
    f = _frames(export)
    last = f["ex"].group_by("USUBJID").agg(pl.col("EN").max().alias("LAST"), pl.col("ST").min().alias("FIRST"))
    dlt = f["ae"].filter(pl.col("AEDLT") == "Y").join(last, on="USUBJID").filter(pl.col("G") >= 3)
    assert dlt.height > 0
    assert dlt.filter((pl.col("ST") > pl.col("LAST")) | (pl.col("ST") < pl.col("FIRST"))).select("USUBJID", "AESEQ", "ST", "LAST").to_dicts() == []


def test_no_lab_ae_grade_mismatch_on_clean_subjects_of_the_default_demo(demo_export_dir: Path, demo_cut_db: Path) -> None:
    clean = set(json.loads((demo_export_dir / "_truth.json").read_text())["clean_subjects"])
    with contextlib.closing(duckdb.connect(str(demo_cut_db), read_only=True)) as con:
        cut = con.execute("SELECT cut_id FROM meta.loads ORDER BY loaded_at DESC LIMIT 1").fetchall()[0][0]
        rows = con.execute("SELECT usubjid, record_key FROM meta.findings WHERE cut_id = ? AND check_id = 'lab_ae_grade_mismatch' "
                           "AND status <> 'resolved'", [cut]).fetchall()
    assert [r for r in rows if r[0] in clean] == []
