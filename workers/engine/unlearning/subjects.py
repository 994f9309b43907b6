"""Each subject of an unlearning run: its discovery report (given by the product, or probed here) and what
is to be forgotten of them.

A ``Part`` accumulates what the run learns about one subject, from the probe before unlearning through the
forget set (``data``) to the probe of the saved model (``evidence``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.engine.errors import EngineError
from workers.engine.forget_set import leaked_attributes, split_families
from workers.engine.probe import ProbeReport
from workers.engine.probe.contexts import VERIFY_FAMILY
from workers.engine.probe.discovery import run_discovery
from workers.engine.progress import ProgressCallback, emit, nested
from workers.engine.subject import Subject
from workers.engine.unlearning.types import Part, UnlearnConfig, elicit_config, probe_config


def _as_report(report: Any, index: int) -> Any:
    """A discovery report as the caller kept it: a ProbeReport, or its ``to_dict()`` (the product stores JSON)."""
    if report is None or isinstance(report, ProbeReport):
        return report
    if isinstance(report, Mapping):
        try:
            return ProbeReport.from_dict(dict(report))
        except (KeyError, TypeError, ValueError):
            pass
    raise EngineError(f"the discovery report for subject {index} is not a probe report (ProbeReport.to_dict(), "
                      "with its findings' prompts and completions)")


def given_reports(count: int, report_before: Any, reports_before: Any) -> list[Any]:
    """One report (or None: probe it) per subject, from ``report_before`` (single) or ``reports_before``
    (a list in batch order, or a dict keyed by batch index)."""
    if report_before is not None and reports_before is not None:
        raise EngineError("give report_before (one subject) or reports_before (a batch), not both")
    if report_before is not None:
        if count != 1:
            raise EngineError("report_before is for a single subject; give a batch's reports as reports_before")
        return [_as_report(report_before, 0)]
    if reports_before is None:
        return [None] * count
    if isinstance(reports_before, Mapping):
        bad = [k for k in reports_before if not isinstance(k, int) or not 0 <= k < count]
        if bad:
            raise EngineError(f"reports_before is keyed by batch index 0..{count - 1}")
        return [_as_report(reports_before.get(i), i) for i in range(count)]
    reports = list(reports_before)
    if len(reports) != count:
        raise EngineError(f"reports_before has {len(reports)} reports for {count} subject(s)")
    return [_as_report(r, i) for i, r in enumerate(reports)]


def _families(report: Any) -> list[str]:
    families: list[str] = []
    for per_family in report.rates.values():
        families += [f for f in per_family if f not in families]
    return families or list(dict.fromkeys(f.family for f in report.findings))


def probe_before(loaded: Any, batch: list[Subject], given: list[Any], *, base_sha: str, config: UnlearnConfig,
                 progress: ProgressCallback | None) -> list[Part]:
    """The batch's parts with their report before unlearning, family split and attributes to forget.

    A given report must come from these very weights (``base_sha``): findings on other weights would aim
    the forget set at what this model may not say at all."""
    parts = [Part(index=i, subject=s, attributes=config.attributes_for(i)) for i, s in enumerate(batch)]
    for part, report in zip(parts, given, strict=True):
        emit(progress, stage="discover", step=part.index, total=len(parts),
             message=f"probing subject {part.index} before unlearning" if report is None else
             f"using the discovery report of subject {part.index}")
        if report is not None and report.model_sha256 != base_sha:
            raise EngineError(f"the discovery report for subject {part.index} was made on other weights than "
                              "this model's; run discovery again")
        part.report_before = report if report is not None else run_discovery(
            loaded, part.subject, config=probe_config(config), elicitation=elicit_config(config), corpus=config.corpus,
            progress=nested(progress, "discover"))
        families = _families(part.report_before)
        part.train_families, part.heldout_families = split_families(families, config.train_families)
        if part.contexts:  # verification continues the name and identifiers afresh, never trained on
            part.heldout_families.append(VERIFY_FAMILY)
        part.forgotten = leaked_attributes(part.report_before, confirmed_only=config.confirmed_only,
                                           attributes=part.attributes)
    return parts
