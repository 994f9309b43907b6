"""The end of an unlearning run: verification of the saved model, and the evidence that records the run.

Verification probes the model as saved and reloaded from disk, not the one in memory, since the saved
model is the artefact that ships (anchors §9.5). Probe reports go into the evidence redacted
(``evidence.redact_report``): the proof of an erasure must not hold the erased data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workers.engine import evidence as ev
from workers.engine import verify
from workers.engine.methods.base import Method
from workers.engine.modelio import load_model, weights_sha256
from workers.engine.probe.discovery import verification_probe
from workers.engine.progress import ProgressCallback, emit, nested
from workers.engine.unlearning.types import (
    EarlierErasure,
    Part,
    RunData,
    TrainingRun,
    UnlearnConfig,
    UtilityInputs,
    Verification,
    probe_config,
)


def check_earlier(after: Any, earlier: list[EarlierErasure], *, config: UnlearnConfig,
                  progress: ProgressCallback | None) -> tuple[list[dict[str, Any]], list[str]]:
    """Probe each earlier erasure's person on the new model (every family, greedy and sampled); any confirmed
    leak of what was forgotten about them is a reason to fail. Records name them by index, reasons by their
    label (or index)."""
    records: list[dict[str, Any]] = []
    reasons: list[str] = []
    for index, item in enumerate(earlier):
        report = verification_probe(after, item.subject, config=probe_config(config), contexts=list(item.contexts),
                                    discovered=list(item.discovered),
                                    progress=nested(progress, "verify", f"re-checking earlier erasure {index}"))
        leaks = [f for f in report.findings if f.verdict == "confirmed" and f.attribute in item.attributes]
        families = sorted({f.family for f in leaks})
        records.append({"index": index, "attributes": list(item.attributes), "confirmed_leaks": len(leaks),
                        "families": families, "findings": len(report.findings)})
        if leaks:
            name = f"of {item.label}" if item.label else str(index)
            reasons.append(f"earlier erasure {name}: {len(leaks)} confirmed leak(s) again ({', '.join(families)})")
    return records, reasons


def verify_saved(model_dir: Path, parts: list[Part], *, utility: UtilityInputs, utility_before: dict[str, Any],
                 config: UnlearnConfig, device: Any, progress: ProgressCallback | None,
                 earlier: list[EarlierErasure] | None = None) -> Verification:
    """Probe the saved model about every subject (setting each part's ``report_after``) and every earlier
    erasure, and measure utility."""
    emit(progress, stage="verify", step=0, total=len(parts), message="verifying the saved model")
    after = load_model(model_dir, device=device)
    for part in parts:
        part.report_after = verification_probe(after, part.subject, config=probe_config(config),
                                               contexts=part.contexts, discovered=part.discovered,
                                               progress=nested(progress, "verify", f"verifying subject {part.index}"))
        emit(progress, stage="verify", step=part.index + 1, total=len(parts), message="verifying the saved model")
    exact = [_exact(after, part, config) for part in parts]
    emit(progress, stage="utility", step=1, message="measuring utility after unlearning")
    utility_after = utility.measure(after)
    verdict, verdicts = verify.decide_batch(
        [verify.SubjectCheck(report_after=p.report_after, attributes=p.forgotten, heldout_families=p.heldout_families,
                             exact=e) for p, e in zip(parts, exact, strict=True)],
        utility_before=utility_before, utility_after=utility_after, bounds=config.bounds)
    records, reasons = check_earlier(after, list(earlier or ()), config=config, progress=progress)
    attacks: dict[str, Any] = {}
    if config.attacks:
        from workers.engine.attacks import Target, run_attacks

        targets = [Target(p.subject, tuple(p.forgotten), tuple(p.contexts), tuple(p.discovered)) for p in parts]
        attacks, failed = run_attacks(after, targets, config.attacks,
                                      config=probe_config(config), gating=config.gating_attacks,
                                      progress=nested(progress, "verify", "attack checks"))
        reasons += failed
    if reasons:
        kept = [] if verdict.passed else list(verdict.reasons)
        verdict = dataclasses.replace(verdict, passed=False, reasons=kept + reasons)
    shared = verify.utility_reasons(utility_before, utility_after, config.bounds) + reasons
    return Verification(verdict=verdict, verdicts=verdicts, utility_after=utility_after, earlier=records,
                        attacks=attacks, exact=exact, shared_reasons=shared)


def _exact(after: Any, part: Part, config: UnlearnConfig) -> dict[str, Any]:
    """The exact leak of each value of a forgotten attribute, submitted or discovered, after every prompt the
    verification asked (``probe.exact``)."""
    from workers.engine.probe.exact import exact_leaks
    from workers.engine.probe.runner import all_known

    values = [v for v in all_known(part.subject, part.discovered) if v.attribute in set(part.forgotten)]
    probe = probe_config(config)
    bounds = config.bounds
    return exact_leaks(after, part.report_after, values, temperature=probe.temperature, top_p=probe.top_p,
                       draws=bounds.exact_leak_draws,
                       bound=bounds.max_exact_leak if bounds.max_exact_leak is not None else 1.0)


def assemble(*, config: UnlearnConfig, method: Method, params: Mapping[str, float], lr: float, parts: list[Part],
             data: RunData, training: TrainingRun, verification: Verification, utility_before: dict[str, Any],
             retain_path: str | Path | None, base_sha: str, model_dir: Path, adapter_dir: Path | None,
             timings: dict[str, float], device: Any) -> dict[str, Any]:
    """The evidence.json of a finished run (schema ``evidence.SCHEMA``)."""
    per_subject = [{
        "index": p.index,
        "identifier_kinds": sorted(p.subject.identifiers),
        "texts": len(p.subject.texts),
        "attributes_chosen": list(p.attributes) if p.attributes is not None else None,
        "forgotten_attributes": p.forgotten,
        "families": {"training": p.train_families, "held_out": p.heldout_families},
        "forget_set": {"found": p.found, "kept_as_retain": len(p.kept)},
        "probe_before": ev.redact_report(p.report_before),
        "probe_after": ev.redact_report(p.report_after),
        "exact_leak": e,
        "verdict": v.to_dict(),
    } for p, v, e in zip(parts, verification.verdicts, verification.exact, strict=True)]
    first = per_subject[0]
    outcome = training.outcome
    return {
        "schema": ev.SCHEMA,
        "created_at": ev.now_iso(),
        "method": {"name": method.name, "summary": method.summary, "lr": lr, "params": params,
                   "lora": config.lora, "rank": config.rank if config.lora else None,
                   "alpha": config.alpha if config.lora else None, "init": config.init},
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k != "params"},
        "seeds": {"torch": config.seed, "probe": getattr(probe_config(config), "seed", None)},
        # Per subject, in batch order; the caller maps an index back to its request.
        "subjects": per_subject,
        # The next five are subject 0's, kept at the top level for single-subject readers (bench, CLI).
        "subject": {"identifier_kinds": first["identifier_kinds"], "texts": first["texts"]},
        "families": first["families"],
        "forgotten_attributes": first["forgotten_attributes"],
        "probe_before": first["probe_before"],
        "probe_after": first["probe_after"],
        "exact_leak": first["exact_leak"],
        "forget_set": {"found": sum(p.found for p in parts), "examples": len(data.forget),
                       "batches": training.forget_batches, "on_policy_examples": training.on_policy_examples,
                       "format_tokens": training.format_tokens, "confirmed_only": config.confirmed_only},
        "retain_set": {"source": str(retain_path) if retain_path else "generated", "examples": len(data.retain),
                       "perplexity_texts": data.perplexity_source},
        "training": {"steps": outcome.steps, "stopped": outcome.stopped,
                     # a run that ended on its budget and kept an earlier, cleaner check's weights (loop.BestCheck)
                     "kept_weights_of_step": outcome.restored_step,
                     # the early-stop check on the untouched model; blind: it saw nothing there although discovery
                     # found leaks where it asks, so only the step budget could end training
                     "check": {"baseline": training.check_baseline, "blind": training.check_blind},
                     "max_abs_weight_change": training.max_abs_weight_change,
                     "checks": outcome.checks, "loss_history": outcome.history[-50:]},
        "utility_before": utility_before,
        "utility_after": verification.utility_after,
        "verdict": {**verification.verdict.to_dict(), "subjects_passed": verification.subjects_passed},
        # People earlier versions forgot, probed again on this one (by index; the caller maps them to requests).
        "earlier_erasures": verification.earlier,
        # Attack checks on the saved model: leak rates per attack, variant and prompt family (no personal data).
        "attacks": verification.attacks,
        "weights": {"base_sha256": base_sha, "result_sha256": weights_sha256(model_dir),
                    "adapter_sha256": ev.sha256_dir(adapter_dir) if adapter_dir else None},
        "caveats": (["FILA rewrote the base weights to a residual; the adapter in adapter/ only applies on that "
                     "residual base, so deploy the merged model in model/"] if config.init == "fila" else []),
        "timings": timings,
        "peak_memory": peak_memory(device),
        "versions": ev.library_versions(),
    }


def peak_memory(device: Any) -> dict[str, float]:
    import resource

    mem = {"max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if getattr(device, "type", "") == "cuda":
        import torch

        mem["cuda_max_allocated_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return mem
