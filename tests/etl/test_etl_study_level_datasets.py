"""Datasets of other studies that this trial does not use, as the PHUSE pilot and SEND studies ship them:
a study-level table without USUBJID (SEND's TX), RELREC with dataset-level relationships, a sponsor's own
subject dataset without its --SEQ. They stopped the load, or lost records to quarantine as duplicates."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from etl_sample_export import AE, LB, VS
from etl_sample_export import load_checked as load
from etl_sample_export import read_table as table

from safetyboard.errors import BadInputError
from safetyboard.protocol import Protocol

# SEND trial sets: one row per set and parameter, no subject (SENDIG 3.1 section 7.2)
TX = [{"STUDYID": "NCT07479732", "DOMAIN": "TX", "SETCD": "1", "SET": "Control", "TXSEQ": "1",
       "TXPARMCD": "ARMCD", "TXPARM": "Arm Code", "TXVAL": "1"},
      {"STUDYID": "NCT07479732", "DOMAIN": "TX", "SETCD": "2", "SET": "High dose", "TXSEQ": "1",
       "TXPARMCD": "ARMCD", "TXPARM": "Arm Code", "TXVAL": "2"}]
# RELREC: a dataset-level relationship leaves USUBJID empty (SDTMIG 3.3 section 8.2.1); no RELRECSEQ
RELREC = [{"STUDYID": "NCT07479732", "RDOMAIN": "AE", "USUBJID": "", "IDVAR": "AESPID", "IDVARVAL": "",
           "RELTYPE": "ONE", "RELID": "1"},
          {"STUDYID": "NCT07479732", "RDOMAIN": "CM", "USUBJID": "", "IDVAR": "CMSPID", "IDVARVAL": "",
           "RELTYPE": "MANY", "RELID": "1"},
          {"STUDYID": "NCT07479732", "RDOMAIN": "AE", "USUBJID": "S-001", "IDVAR": "AESEQ", "IDVARVAL": "1",
           "RELTYPE": "", "RELID": "7"},
          {"STUDYID": "NCT07479732", "RDOMAIN": "CM", "USUBJID": "S-001", "IDVAR": "CMSEQ", "IDVARVAL": "3",
           "RELTYPE": "", "RELID": "7"}]
# a sponsor's subject-level dataset with no --SEQ: two records of one subject are not duplicates
XP = [{"USUBJID": "S-001", "XPTESTCD": "GENE", "XPORRES": "MDM2 amplified"},
      {"USUBJID": "S-001", "XPTESTCD": "GENE", "XPORRES": "TP53 mutated"},
      {"USUBJID": "S-999", "XPTESTCD": "GENE", "XPORRES": "RB1 lost"}]


def test_a_dataset_without_usubjid_loads_as_study_level_with_a_note(make_export, tmp_path: Path,
                                                                    protocol: Protocol) -> None:
    # 'tx.xpt: required column(s) missing: USUBJID' stopped the load of every SEND study of phuse-scripts
    result, db = load(make_export(tx=TX), tmp_path, protocol)
    assert result.status == "ok"
    assert table(db, "raw.tx").sort("SETCD")["SET"].to_list() == ["Control", "High dose"]
    assert result.domains["tx"].rows_quarantined == 0
    assert any(n.startswith("tx.csv: no USUBJID column") and "study-level" in n for n in result.warnings)


def test_a_known_subject_domain_without_usubjid_still_stops(make_export, tmp_path: Path, protocol: Protocol) -> None:
    rows = [{"SUBJ": "S-001", "DSSEQ": "1", "DSDECOD": "COMPLETED"}]
    with pytest.raises(BadInputError, match=r"^ds\.csv: required column\(s\) missing: USUBJID"):
        load(make_export(ds=rows), tmp_path, protocol)


def test_relrec_dataset_level_rows_are_kept(make_export, tmp_path: Path, protocol: Protocol) -> None:
    # RELREC has no --SEQ: its key was USUBJID alone, so every row after a subject's first was quarantined
    # as a duplicate, and an empty USUBJID (a dataset-level relationship) as missing_required
    result, db = load(make_export(relrec=RELREC), tmp_path, protocol)
    assert result.domains["relrec"].rows_quarantined == 0
    assert table(db, "raw.relrec").height == 4
    assert not any(n.startswith("relrec.csv") for n in result.warnings)


def test_a_dataset_without_its_seq_is_not_read_as_duplicates(make_export, tmp_path: Path, protocol: Protocol) -> None:
    result, db = load(make_export(xp=XP), tmp_path, protocol)
    st = result.domains["xp"]
    assert (st.rows_loaded, st.reasons) == (2, {"unknown_subject": 1})  # the subject check still applies
    assert sorted(table(db, "raw.xp")["XPORRES"].to_list()) == ["MDM2 amplified", "TP53 mutated"]


def test_a_domain_quarantined_whole_is_said_in_the_load_warnings(make_export, tmp_path: Path,
                                                                protocol: Protocol) -> None:
    # SEND's LB gives study days (LBDY) and leaves LBDTC empty: all 5,748 rows of PointCross's study went to
    # quarantine and the load said nothing beyond the counts


    lb = [dict(r, LBDTC="", LBDY="30") for r in LB]
    result, _ = load(make_export(lb=lb), tmp_path, protocol)
    assert result.domains["lb"].rows_loaded == 0
    assert (f"LB: every one of its {len(LB)} record(s) was quarantined (missing_required {len(LB)}, "
            "e.g. 'LBDTC is empty'); the cut has no LB data") in result.warnings
    assert not any(w.startswith(("VS:", "AE:")) for w in result.warnings)


def test_a_domain_mostly_quarantined_is_said_with_its_share(make_export, tmp_path: Path, protocol: Protocol) -> None:
    # pharmaversesdtm's peds DM with the pilot's AE: 1,180 of 1,191 AEs name subjects not in DM


    ae = [*AE, *(dict(AE[0], USUBJID=f"X-{i}", AESEQ="1") for i in range(3))]
    result, _ = load(make_export(ae=ae), tmp_path, protocol)
    assert (f"AE: 3 of its {len(ae)} records (60%) were quarantined (unknown_subject 3, e.g. "
            "\"USUBJID 'X-0' is not in DM\"); the cut holds only 2") in result.warnings
    half = [*AE, *(dict(AE[0], USUBJID=f"X-{i}", AESEQ="1") for i in range(2))]  # half is not most
    result, _ = load(make_export(name="half", ae=half), tmp_path / "half", protocol)
    assert not any(w.startswith("AE:") for w in result.warnings)


def test_an_adam_folder_is_named_as_such(tmp_path: Path, protocol: Protocol) -> None:
    # phuse-scripts' data/adam/cdiscpilot01 (adsl, adae, adtte ...) met 'required domain file(s) missing' alone
    folder = tmp_path / "adam"
    folder.mkdir()
    for name in ("adsl", "adae", "adlbc"):
        (folder / f"{name}.csv").write_text("STUDYID,USUBJID\nX,S-1\n")
    with pytest.raises(BadInputError, match=r"missing: DM, EX, AE, LB, VS .*; the folder holds ADaM datasets "
                                            r"\(ADAE, ADLBC, ADSL\): load the study's SDTM export instead"):
        load(folder, tmp_path, protocol)


def test_an_unknown_subject_names_the_dm_subject_it_likely_means(make_export, tmp_path: Path,
                                                                 protocol: Protocol) -> None:
    # an EDC listing names subjects by SUBJID, or writes them in another case: the record stays in quarantine
    # (nothing is matched by guess), and the detail says which DM subject it most likely means
    from etl_sample_export import DM

    dm = [dict(r, SUBJID=r["USUBJID"].split("-")[1]) for r in DM]
    ae = [*AE, dict(AE[0], USUBJID="s-001", AESEQ="7"), dict(AE[0], USUBJID="002", AESEQ="8"),
          dict(AE[0], USUBJID="X-9", AESEQ="9")]
    result, db = load(make_export(dm=dm, ae=ae), tmp_path, protocol)
    assert result.domains["ae"].reasons == {"unknown_subject": 3}
    with duckdb.connect(str(db), read_only=True) as con:  # a connection kept open (DuckDB < 2 closed it unreferenced)
        details = dict(con.execute(
            "SELECT row_number, detail FROM meta.quarantine WHERE reason = 'unknown_subject'").fetchall())
    assert details == {3: "USUBJID 's-001' is not in DM (DM has 'S-001': case or spaces differ)",
                       4: "USUBJID '002' is not in DM (it is DM's SUBJID of 'S-002': name subjects by USUBJID)",
                       5: "USUBJID 'X-9' is not in DM"}


@pytest.mark.parametrize("how", ["absent", "empty"])
def test_lab_and_vital_results_missing_from_an_export_are_said_in_the_load_warnings(
        make_export, tmp_path: Path, protocol: Protocol, how: str) -> None:
    # LB without LBSTRESN (or with it empty throughout) loaded without a word: every lab value and grade of the cut
    # was null, and no lab-based DLT rule could fire
    def without(rows: list[dict[str, str]], column: str) -> list[dict[str, str]]:
        return [{k: ("" if k == column else v) for k, v in r.items() if how == "empty" or k != column} for r in rows]

    result, db = load(make_export(lb=without(LB, "LBSTRESN"), vs=without(VS, "VSSTRESN")), tmp_path, protocol)
    said = "no column LBSTRESN" if how == "absent" else "LBSTRESN (the standard numeric result) is empty in every one"
    lb = [w for w in result.warnings if w.startswith("LB:")]
    vs = [w for w in result.warnings if w.startswith("VS:")]
    assert len(lb) == 1 and said in lb[0] and f"{len(LB)} record(s)" in lb[0] and "no CTCAE grade" in lb[0]
    assert len(vs) == 1 and "VSSTRESN" in vs[0] and "no blood-pressure category" in vs[0]
    assert table(db, "adam.adlb")["AVAL"].null_count() == len(LB)  # nothing taken from LBORRES


def test_results_present_give_no_result_warning(make_export, tmp_path: Path, protocol: Protocol) -> None:
    result, _ = load(make_export(), tmp_path, protocol)
    assert not [w for w in result.warnings if "standard numeric result" in w]


def test_treated_subjects_in_no_dose_level_are_said_in_the_load_warnings(make_export, tmp_path: Path,
                                                                          protocol: Protocol) -> None:
    # DM without ARMCD/ACTARMCD loaded without a word: the subjects were in no DLT count of the escalation
    from etl_sample_export import DM

    result, _ = load(make_export(dm=[dict(DM[0], ARMCD=""), dict(DM[1], ARMCD="PBO")]), tmp_path, protocol)
    assert ("ADSL: 2 of 2 treated subject(s) are in no protocol dose level (arm 'PBO' is not a protocol dose level: 1; "
            "no ARMCD/ACTARMCD: 1), so no DLT count or escalation decision includes them") in result.warnings
    result, _ = load(make_export(), tmp_path / "second", protocol)
    assert not [w for w in result.warnings if w.startswith("ADSL:")]


def test_a_required_domain_file_with_a_header_only_is_said_in_the_load_warnings(make_export, tmp_path: Path,
                                                                              protocol: Protocol) -> None:
    # ae.csv with its header and no record loaded without a word: a dashboard with no toxicity at all
    folder = make_export()
    header = (folder / "ae.csv").read_text(encoding="utf-8").splitlines()[0]
    (folder / "ae.csv").write_text(header + "\n", encoding="utf-8")
    result, _ = load(folder, tmp_path, protocol)
    assert result.domains["ae"].rows_read == 0
    assert ("AE: ae.csv holds no record (a header only): the cut has no AE data; if the trial has any, the export "
            "is incomplete") in result.warnings
