"""Run the frames through Great Expectations (pandas data source) and map failures back to records.

great_expectations is imported inside :func:`validate_frames` only: it costs seconds and ~280 MB, and
the dashboard and `safetyboard --help` must not pay for it.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from checks.rules import Check, Frame

FINDING_COLUMNS = {"check_id": pl.String, "domain": pl.String, "usubjid": pl.String, "record_key": pl.String,
                   "message": pl.String, "file": pl.String, "row_number": pl.Int64}


@dataclass
class GxOutcome:
    findings: pl.DataFrame  # FINDING_COLUMNS
    exceptions: list[dict[str, str]] = field(default_factory=list)  # expectations that raised
    evaluated: dict[str, int] = field(default_factory=dict)  # check_id -> rows validated by GX
    data_docs: Path | None = None
    gx_version: str = ""


def _expectation(gx: Any, check: Check) -> Any:  # gx: the lazily imported great_expectations module
    meta = {"check_id": check.check_id}
    if check.kind == "not_null":
        return gx.expectations.ExpectColumnValuesToNotBeNull(column=check.column, meta=meta)
    if check.kind == "in_set":
        return gx.expectations.ExpectColumnValuesToBeInSet(column=check.column, value_set=list(check.values), meta=meta)
    return gx.expectations.ExpectColumnValuesToBeInSet(column=check.gx_column, value_set=[True], meta=meta)


def clear_data_docs(folder: Path) -> None:
    """Remove the previous run's Data Docs (only what GX writes there), so the folder shows the latest run."""
    if not (folder / "index.html").is_file():
        return
    for name in ("validations", "expectations", "static"):
        if (folder / name).is_dir():
            shutil.rmtree(folder / name)
    (folder / "index.html").unlink()


def validate_frames(frames: list[tuple[Frame, pl.DataFrame]], data_docs_dir: Path | None = None) -> GxOutcome:
    """Validate each (frame, data) with its GX suite; every unexpected row becomes a finding of its check."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # no bars in CLI / log output
    if data_docs_dir is not None:
        clear_data_docs(data_docs_dir)
        data_docs_dir.mkdir(parents=True, exist_ok=True)
        context.add_data_docs_site("safetyboard", {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        })
    # one asset and batch definition for all frames (each frame is passed as the batch's dataframe);
    # adding an asset rewrites the context's config, which costs ~0.1 s per asset
    batch_def = context.data_sources.add_pandas("safetyboard").add_dataframe_asset("cut").add_batch_definition_whole_dataframe("frame")
    parts: list[pl.DataFrame] = []
    out = GxOutcome(pl.DataFrame(schema=FINDING_COLUMNS), gx_version=gx.__version__)
    for frame, data in frames:
        for check in frame.checks:
            out.evaluated[check.check_id] = out.evaluated.get(check.check_id, 0) + data.height
        if data.height == 0 and data_docs_dir is None:
            continue
        columns = sorted({c.gx_column for c in frame.checks})
        pdf = data.select(columns).to_pandas()  # index 0..n-1 = row position in `data`
        suite = context.suites.add(gx.ExpectationSuite(name=f"{frame.domain.lower()}.{frame.name}"))
        for check in frame.checks:
            suite.add_expectation(_expectation(gx, check))
        vdef = context.validation_definitions.add(gx.ValidationDefinition(name=frame.name, data=batch_def, suite=suite))
        result = vdef.run(batch_parameters={"dataframe": pdf}, result_format={"result_format": "COMPLETE"})
        for res in result.results:
            check_id = res.expectation_config.meta["check_id"]
            info = res.exception_info or {}
            if info.get("raised_exception"):
                out.exceptions.append({"frame": frame.name, "check_id": check_id,
                                       "message": str(info.get("exception_message"))})
                continue
            index = res.result.get("unexpected_index_list") or []
            if not index:
                continue
            rows = data[[int(i) for i in index]]
            parts.append(rows.select(
                pl.lit(check_id).alias("check_id"), pl.col("domain"), pl.col("USUBJID").alias("usubjid"),
                pl.col("record_key"), pl.col(f"msg_{check_id}").alias("message"),
                pl.col("_FILE").cast(pl.String).alias("file"), pl.col("_ROW").cast(pl.Int64).alias("row_number"),
            ))
    if parts:
        out.findings = pl.concat([p.cast(FINDING_COLUMNS) for p in parts])
    if data_docs_dir is not None:
        context.build_data_docs(site_names=["safetyboard"])
        out.data_docs = data_docs_dir / "index.html"
    return out
