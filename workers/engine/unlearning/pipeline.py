"""Unlearning entry point: forget set from discovery -> method -> early stop on the probe -> verification.

``run_unlearning`` is what the CLI and the worker call, for one subject or a batch of several (approved
requests against one model, forgotten in one run that yields one new model). The model is adapted with
LoRA by default (peft, all linear layers); the reference model is the same module with the adapter
switched off. It writes OUTDIR/model (merged weights + tokenizer), OUTDIR/adapter and OUTDIR/evidence.json,
and judges the *saved* merged model, since that is the artefact that ships (anchors §9.5). A run that
raises (a bad input found late, or ``Cancelled`` from the progress callback) removes what it wrote, so
evidence.json exists only for finished runs.

The run's stages live in this package, in the order they run: ``subjects`` (each subject's report before
unlearning and what to forget), ``data`` (forget and retain sets, utility inputs), ``training`` (the method's
loop with the early-stop check), ``evidence`` (verification of the saved model, evidence.json) and ``files``
(the output folder, the demo model's extras). They share ``types`` and never import each other.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workers.engine import evidence as ev
from workers.engine import retain as retain_data
from workers.engine.errors import EngineError
from workers.engine.methods import METHODS, adapters
from workers.engine.modelio import weights_sha256
from workers.engine.progress import ProgressCallback, emit
from workers.engine.subject import Subject
from workers.engine.unlearning.data import build_run_data
from workers.engine.unlearning.evidence import assemble, verify_saved
from workers.engine.unlearning.files import carry_demo_extras, demo_extras, discard_outputs, prepare_out_dir
from workers.engine.unlearning.subjects import given_reports, probe_before
from workers.engine.unlearning.training import train
from workers.engine.unlearning.types import EarlierErasure, UnlearnConfig, UnlearnResult


def run_unlearning(loaded: Any, subjects: Subject | Sequence[Subject], *, out_dir: str | Path,
                   config: UnlearnConfig | None = None, retain_path: str | Path | None = None,
                   report_before: Any = None, reports_before: Sequence[Any] | Mapping[int, Any] | None = None,
                   roster: list[dict[str, str]] | None = None, heldout_texts: list[str] | None = None,
                   progress: ProgressCallback | None = None,
                   earlier: Sequence[EarlierErasure] | None = None) -> UnlearnResult:
    """Forget ``subjects`` from ``loaded`` (its model is modified in place) and write model/, adapter/ and
    evidence.json under ``out_dir``.

    ``subjects``: one Subject, or a batch (a sequence) forgotten together into one model: the forget set is
    the union of theirs, none of them counts as "other people" for utility, the early stop waits until no
    subject leaks, and the verdict passes only if every subject passes. Discovery reports already made (by
    the product) are passed as ``report_before`` (one subject) or ``reports_before`` (list in batch order,
    or {index: report}; a missing one is probed); they must come from these same weights.
    ``roster``/``heldout_texts`` default to the demo model's files. ``progress`` gets every event (see
    ``workers.engine.progress``); an exception it raises (``Cancelled``) stops the run, which then removes
    everything it wrote under ``out_dir`` before re-raising. The in-memory model is left adapted either way.
    ``earlier``: the people earlier versions of this model forgot (``EarlierErasure``); the new
    model is probed about them too, and the verdict fails if any of it came back.
    """
    single = isinstance(subjects, Subject)
    batch = [subjects] if single else list(subjects)
    if not batch or not all(isinstance(s, Subject) for s in batch):
        raise EngineError("run_unlearning needs a Subject or a non-empty sequence of Subjects")
    if len({s.name.casefold() for s in batch}) != len(batch):
        raise EngineError("the batch names the same person twice; merge their requests into one subject")
    config = config or UnlearnConfig()
    config.validate(subjects=len(batch))
    given = given_reports(len(batch), report_before, reports_before)
    if earlier is not None and not all(isinstance(e, EarlierErasure) for e in earlier):
        raise EngineError("earlier must be a sequence of EarlierErasure (subject, forgotten attributes)")
    names = {s.name.casefold() for s in batch}  # a person forgotten again now is judged as a subject
    earlier_now = [e for e in earlier or () if e.subject.name.casefold() not in names and e.attributes]
    out = Path(out_dir)
    prepare_out_dir(out)
    created = not out.exists()
    try:
        return _run(loaded, batch, given, out=out, config=config, retain_path=retain_path, roster=roster,
                    heldout_texts=heldout_texts, progress=progress, earlier=earlier_now)
    except BaseException:
        discard_outputs(out, created=created)
        raise


def _run(loaded: Any, batch: list[Subject], given: list[Any], *, out: Path, config: UnlearnConfig,
         retain_path: str | Path | None, roster: list[dict[str, str]] | None, heldout_texts: list[str] | None,
         progress: ProgressCallback | None, earlier: list[EarlierErasure]) -> UnlearnResult:
    import torch

    given_retain = retain_data.load_retain_file(retain_path) if retain_path is not None else None
    demo_roster, demo_heldout = demo_extras(Path(loaded.path))
    roster = roster if roster is not None else demo_roster
    heldout_texts = heldout_texts if heldout_texts is not None else demo_heldout
    method = METHODS[config.method]
    params = {**method.defaults, **config.params}
    lr = config.lr if config.lr is not None else method.lr
    timings: dict[str, float] = {}
    started = clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    torch.manual_seed(config.seed)
    base_sha = weights_sha256(loaded.path)
    parts = probe_before(loaded, batch, given, base_sha=base_sha, config=config, progress=progress)
    lap("probe_before_s")

    data = build_run_data(loaded, parts, method=method, config=config, given_retain=given_retain,
                                   roster=roster, heldout_texts=heldout_texts, progress=progress)
    lap("data_s")

    emit(progress, stage="utility", step=0, message="measuring utility before unlearning")
    utility_before = data.utility.measure(loaded)
    lap("utility_before_s")

    training = train(loaded, parts, data, method=method, params=params, lr=lr, config=config,
                                  progress=progress)
    lap("train_s")

    emit(progress, stage="save", step=0, message="saving the adapter and the merged model")
    _, model_dir, adapter_dir = adapters.save_outputs(training.model, loaded.tokenizer, out_dir=out,
                                                      lora=config.lora)
    carry_demo_extras(Path(loaded.path), model_dir, forgotten=[p.subject.name for p in parts])
    lap("save_s")

    verification = verify_saved(model_dir, parts, utility=data.utility, utility_before=utility_before,
                                             config=config, device=loaded.device, progress=progress,
                                             earlier=earlier)
    lap("verify_s")
    timings["total_s"] = round(time.perf_counter() - started, 3)

    evidence = assemble(config=config, method=method, params=params, lr=lr, parts=parts, data=data,
                                     training=training, verification=verification, utility_before=utility_before,
                                     retain_path=retain_path, base_sha=base_sha, model_dir=model_dir,
                                     adapter_dir=adapter_dir, timings=timings, device=loaded.device)
    evidence_path = out / "evidence.json"
    ev.write_evidence(evidence_path, evidence)
    verdict = verification.verdict
    emit(progress, stage="done", step=1, total=1, metrics={"passed": float(verdict.passed)},
         message="; ".join(verdict.reasons))
    return UnlearnResult(passed=verdict.passed, out_dir=out, model_dir=model_dir, adapter_dir=adapter_dir,
                         evidence_path=evidence_path, evidence=evidence,
                         report_after=parts[0].report_after,
                         reports_after=[p.report_after for p in parts],
                         reports_before=[p.report_before for p in parts])
