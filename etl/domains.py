"""What each SDTM domain needs to be usable: required columns, keys, required dates, numeric columns.

Source: SDTMIG variable conventions as listed in DOMAIN.md section 7 (pharmaversesdtm). The
input contract (DESIGN.md) makes DM, EX, AE, LB and VS required; the others are optional and any
other SDTM-shaped file is loaded as raw.<domain> with the generic rules.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

REQUIRED_DOMAINS: tuple[str, ...] = ("dm", "ex", "ae", "lb", "vs")

# Split domains unioned into their parent: lbch/lbhe/lbur -> lb (SDTMIG 3.3 section 4.1.7, "Splitting
# a Domain": the parent's 2-letter code plus a suffix; their SUPP-- datasets are SUPP + that name).
SPLIT_PARENTS: tuple[str, ...] = (*REQUIRED_DOMAINS, "sv", "ds", "rs", "tr", "tu", "qs", "fa", "mh", "cm")

# An SDTM dataset name: a letter, then letters or digits, at most 8 in all (SDTMIG 3.3 section 4.1.7;
# SAS XPT v5 member names). An export's other files (export_info.csv, "dm (1).csv", a data dictionary)
# are not datasets.
_DATASET_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{1,7}")


def is_dataset_name(stem: str) -> bool:
    return _DATASET_NAME.fullmatch(stem) is not None


@dataclass(frozen=True)
class DomainSpec:
    name: str
    required_columns: tuple[str, ...]
    key_columns: tuple[str, ...]
    required_dates: tuple[str, ...] = ()
    # numeric columns whose non-numeric value makes the row unusable (quarantined as non_numeric);
    # other numeric columns with text become NULL and are reported by the checks.
    strict_numeric: tuple[str, ...] = field(default=())
    # text a row cannot be used without, beyond its keys and required dates (quarantined as missing_required when
    # empty): a result without its test code grades nothing, a dose without its treatment counts for no drug.
    # Not AETERM: an adverse event must never leave DLT review (AEDECOD or the grade may still say what it was).
    required_values: tuple[str, ...] = field(default=())


SPECS: dict[str, DomainSpec] = {
    "dm": DomainSpec("dm", ("USUBJID",), ("USUBJID",)),
    "ae": DomainSpec("ae", ("USUBJID", "AESEQ", "AETERM"), ("USUBJID", "AESEQ")),
    "lb": DomainSpec(
        "lb", ("USUBJID", "LBSEQ", "LBTESTCD"), ("USUBJID", "LBSEQ"), ("LBDTC",), ("LBSTRESN",), ("LBTESTCD",)
    ),
    "vs": DomainSpec(
        "vs", ("USUBJID", "VSSEQ", "VSTESTCD"), ("USUBJID", "VSSEQ"), ("VSDTC",), ("VSSTRESN",), ("VSTESTCD",)
    ),
    # the dose and its date make the exposure, cycles and DLT window (etl/derive needs them)
    "ex": DomainSpec(
        "ex", ("USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXSTDTC"), ("USUBJID", "EXSEQ"), ("EXSTDTC",), ("EXDOSE",),
        ("EXTRT",),
    ),
    # a visit without its date is no visit to the schedule derivation
    "sv": DomainSpec("sv", ("USUBJID", "VISITNUM", "SVSTDTC"), ("USUBJID", "VISITNUM"), ("SVSTDTC",)),
    "ds": DomainSpec("ds", ("USUBJID", "DSSEQ"), ("USUBJID", "DSSEQ")),
    "rs": DomainSpec("rs", ("USUBJID", "RSSEQ"), ("USUBJID", "RSSEQ")),
    "tr": DomainSpec("tr", ("USUBJID", "TRSEQ"), ("USUBJID", "TRSEQ"), (), ("TRSTRESN",)),
}

# the SDTM variables SafetyBoard's derivations and checks read, per domain (etl/derive, checks/rules.py): a mapping
# target one letter off one of them ('AETOXGRR') while the file lacks it is named in a load warning
ANALYSIS_VARIABLES: dict[str, frozenset[str]] = {
    "dm": frozenset({"USUBJID", "SUBJID", "SITEID", "AGE", "SEX", "ARMCD", "ACTARMCD", "ARM", "RFSTDTC", "RFXSTDTC",
                     "RFXENDTC", "DTHFL", "DTHDTC"}),
    "ae": frozenset({"AESEQ", "AETERM", "AEDECOD", "AETOXGR", "AESTDTC", "AEENDTC", "AESER", "AEACN", "AEBODSYS"}),
    "lb": frozenset({"LBSEQ", "LBTESTCD", "LBTEST", "LBCAT", "LBSPEC", "LBORRES", "LBSTRESN", "LBSTRESU", "LBSTNRLO",
                     "LBSTNRHI", "LBDTC", "LBBLFL", "LBLOBXFL"}),
    "vs": frozenset({"VSSEQ", "VSTESTCD", "VSTEST", "VSSTRESN", "VSSTRESU", "VSDTC", "VSPOS", "VSTPT", "VSSTAT"}),
    "ex": frozenset({"EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXSTDTC", "EXENDTC"}),
    "ds": frozenset({"DSSEQ", "DSDECOD", "DSCAT", "DSSTDTC"}),
    "sv": frozenset({"VISITNUM", "VISIT", "SVSTDTC"}),
}

# Trial-level domains have no subjects (no USUBJID check); loaded as they are.
TRIAL_DOMAINS: tuple[str, ...] = ("ts", "ta", "te", "tv", "ti", "tm", "td")

# --DUR, --STINT, --ENINT and --ELTM are not numbers: SDTMIG has them as character ISO 8601 durations
# ('P3D', 'PT1H30M'); typed as numbers, every such value loaded as NULL with a value_not_numeric finding
_NUMERIC = re.compile(
    r"^(AGE|VISITNUM|VISITDY|TAETORD|[A-Z]{2}(STRESN|STNRLO|STNRHI|DOSE|DOSTOT|DY|STDY|ENDY|TPTNUM|"
    r"STREFN|STDRG))$"
)
_SEQ = re.compile(r"^[A-Z]{2}SEQ$")
_DTC = re.compile(r"^[A-Z0-9]{1,6}DTC$")
# End-type dates impute to the last day of a partial period; all others to the first day.
_END_DTC = re.compile(r"^([A-Z]{2}ENDTC|RFENDTC|RFXENDTC|RFPENDTC)$")


# Datasets whose records need not name a subject: RELREC's dataset-level relationships leave USUBJID
# empty (SDTMIG 3.3 section 8.2.1); loaded as they are, like the trial-level domains.
NO_SUBJECT_DOMAINS: tuple[str, ...] = (*TRIAL_DOMAINS, "relrec")


def spec_for(domain: str, columns: Collection[str] | None = None) -> DomainSpec:
    """The rules of `domain`. Given the file's `columns`, a dataset this loader does not know that has no
    USUBJID (SEND's TX or another sponsor's study-level table) is study-level: loaded as it is, like TS,
    instead of stopping the load for a column that dataset never had."""
    if domain in SPECS:
        return SPECS[domain]
    if domain in NO_SUBJECT_DOMAINS or (columns is not None and "USUBJID" not in columns):
        return DomainSpec(domain, (), ())
    seq = f"{domain.upper()}SEQ"
    return DomainSpec(domain, ("USUBJID",), ("USUBJID", seq))


def is_study_level(domain: str, columns: Collection[str]) -> bool:
    """No subject to check against DM: a trial-level domain, RELREC, or a dataset without USUBJID."""
    return "USUBJID" not in spec_for(domain, columns).required_columns


def is_seq(column: str) -> bool:
    return bool(_SEQ.match(column))


def is_numeric(column: str) -> bool:
    return bool(_NUMERIC.match(column))


def is_date(column: str) -> bool:
    return bool(_DTC.match(column))


def is_end_date(column: str) -> bool:
    return bool(_END_DTC.match(column))


def record_key(domain: str, columns: list[str]) -> list[str]:
    """Columns that identify one record in findings and quarantine listings (architecture.md)."""
    spec = spec_for(domain)
    keys = [c for c in spec.key_columns if c != "USUBJID" and c in columns]
    return keys or (["USUBJID"] if "USUBJID" in columns else [])
