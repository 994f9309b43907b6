"""Unlearning entry point: forget set from discovery -> method -> early stop on the probe -> verification.

``run_unlearning`` is what the CLI and the worker call, for one subject or a batch of several (approved
requests against one model, forgotten in one run that yields one new model). The model is adapted with
LoRA by default (peft, all linear layers); the reference model is the same module with the adapter
switched off. It writes OUTDIR/model (merged weights + tokenizer), OUTDIR/adapter and OUTDIR/evidence.json,
and judges the *saved* merged model, since that is the artefact that ships (anchors §9.5). A run that
raises (a bad input found late, or ``Cancelled`` from the progress callback) removes what it wrote, so
evidence.json exists only for finished runs.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workers.engine import run_files
from workers.engine.errors import EngineError
from workers.engine.forget_set import DEFAULT_TRAIN_FAMILIES
from workers.engine.progress import ProgressCallback, TrainingMetrics, emit, nested
from workers.engine.subject import Subject
from workers.engine.verify import Bounds

INITS = ("default", "fila")


@dataclass
class UnlearnConfig:
    method: str = "fpga"
    lora: bool = True
    rank: int = 4
    alpha: int = 8
    lr: float | None = None  # None: the method's tuned default
    max_steps: int = 150
    eval_every: int = 5
    min_steps: int = 0
    margin_steps: int = 15  # extra steps once the early-stop check passes
    check_seed_offset: int = 1000  # the check samples with other seeds than the final verification
    forget_batch_size: int = 16
    retain_batch_size: int = 16
    seed: int = 0
    confirmed_only: bool = False
    init: str = "default"
    train_families: tuple[str, ...] = DEFAULT_TRAIN_FAMILIES
    params: dict[str, float] = field(default_factory=dict)  # method-specific, over the method's defaults
    retain_samples: int = 48
    retain_people: int = 12
    bounds: Bounds = field(default_factory=Bounds)
    ner: bool = False
    # The officer's choice of what to forget (attribute keys, e.g. ("email", "iban")): forgotten attributes,
    # forget set and verdict are restricted to them. None keeps the default: every confirmed leak, plus the
    # candidate leaks unless ``confirmed_only``. ``attributes`` applies to every subject of a batch;
    # ``attributes_per_subject`` (one entry per subject, in batch order) overrides it per subject, an entry
    # of None falling back to ``attributes``.
    attributes: tuple[str, ...] | None = None
    attributes_per_subject: tuple[tuple[str, ...] | None, ...] | None = None

    def __post_init__(self) -> None:
        # Callers (the worker) pass JSON lists; tuples keep the config hashable-looking and printable.
        if self.attributes is not None:
            self.attributes = tuple(self.attributes)
        if self.attributes_per_subject is not None:
            self.attributes_per_subject = tuple(None if a is None else tuple(a) for a in self.attributes_per_subject)

    def attributes_for(self, index: int) -> tuple[str, ...] | None:
        """The attribute choice for the subject at ``index`` of the batch (None: no restriction)."""
        if self.attributes_per_subject is not None and self.attributes_per_subject[index] is not None:
            return self.attributes_per_subject[index]
        return self.attributes

    def validate(self, subjects: int | None = None) -> None:
        """Raise EngineError on a bad setting; ``subjects`` (the batch size) also checks the per-subject list."""
        from workers.engine.attributes import ATTRIBUTES
        from workers.engine.methods import METHODS

        for chosen in (self.attributes, *(self.attributes_per_subject or ())):
            if chosen is None:
                continue
            if not chosen:
                raise EngineError("attributes, when given, must name at least one attribute to forget")
            unknown_keys = [a for a in chosen if a not in ATTRIBUTES]
            if unknown_keys:
                raise EngineError(f"unknown attribute {', '.join(map(repr, unknown_keys))}; "
                                  f"known: {', '.join(ATTRIBUTES)}")
        if subjects is not None and self.attributes_per_subject is not None \
                and len(self.attributes_per_subject) != subjects:
            raise EngineError(f"attributes_per_subject has {len(self.attributes_per_subject)} entries for "
                              f"{subjects} subject(s)")

        if self.method not in METHODS:
            raise EngineError(f"unknown method {self.method!r}; choose one of: {', '.join(METHODS)}")
        if self.init not in INITS:
            raise EngineError(f"unknown init {self.init!r}; choose one of: {', '.join(INITS)}")
        if self.init == "fila" and not self.lora:
            raise EngineError("--init fila initialises LoRA adapters; it cannot be combined with full fine-tuning")
        if self.init == "fila" and METHODS[self.method].needs_reference:
            raise EngineError(f"--init fila rewrites the base weights, so {self.method} (which compares against "
                              "the original model) cannot use it; use it with ihl, ga or graddiff")
        if self.max_steps < 1 or self.eval_every < 1 or self.rank < 1 or self.margin_steps < 0:
            raise EngineError("max_steps, eval_every and rank must be positive, margin_steps not negative")
        if self.lr is not None and not 0 < self.lr < 1:
            raise EngineError("lr must be between 0 and 1")
        unknown = set(self.params) - set(METHODS[self.method].defaults)
        if unknown:
            raise EngineError(f"unknown parameter(s) for {self.method}: {', '.join(sorted(unknown))}")


@dataclass
class UnlearnResult:
    passed: bool
    out_dir: Path
    model_dir: Path
    adapter_dir: Path | None
    evidence_path: Path
    evidence: dict[str, Any]
    report_after: Any = None  # subject 0's after-probe (the only one for a single subject)
    reports_after: list[Any] = field(default_factory=list)  # one per subject, in batch order


def _families(report: Any) -> list[str]:
    families: list[str] = []
    for per_family in report.rates.values():
        families += [f for f in per_family if f not in families]
    return families or list(dict.fromkeys(f.family for f in report.findings))


def _utility(loaded: Any, *, roster: list[dict[str, str]] | None, subjects: Sequence[Subject], ppl_texts: list[str],
             agreement_prompts: list[str], reference_answers: list[str]) -> dict[str, Any]:
    from workers.engine import verify

    if roster:  # every subject of the batch is being forgotten, so none of them counts as "other people"
        util = verify.roster_accuracy(loaded, roster, exclude=[s.name for s in subjects])
    else:
        util = verify.agreement(loaded, agreement_prompts, reference_answers)
    util["perplexity"] = verify.perplexity(loaded, ppl_texts)
    return util


@dataclass
class _Part:
    """One subject of the run and everything computed about it."""

    index: int
    subject: Subject
    attributes: tuple[str, ...] | None
    report_before: Any = None
    train_families: list[str] = field(default_factory=list)
    heldout_families: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    found: int = 0
    kept: list[Any] = field(default_factory=list)  # the subject's facts the officer chose to keep: retain data
    report_after: Any = None


def _as_report(report: Any, index: int) -> Any:
    """A discovery report as the caller kept it: a ProbeReport, or its ``to_dict()`` (the product stores JSON)."""
    from workers.engine.probe import ProbeReport

    if report is None or isinstance(report, ProbeReport):
        return report
    if isinstance(report, Mapping):
        try:
            return ProbeReport.from_dict(dict(report))
        except (KeyError, TypeError, ValueError):
            pass
    raise EngineError(f"the discovery report for subject {index} is not a probe report (ProbeReport.to_dict(), "
                      "with its findings' prompts and completions)")


def _given_reports(count: int, report_before: Any, reports_before: Any) -> list[Any]:
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


def run_unlearning(loaded: Any, subjects: Subject | Sequence[Subject], *, out_dir: str | Path,
                   config: UnlearnConfig | None = None, retain_path: str | Path | None = None,
                   report_before: Any = None, reports_before: Sequence[Any] | Mapping[int, Any] | None = None,
                   roster: list[dict[str, str]] | None = None, heldout_texts: list[str] | None = None,
                   progress: ProgressCallback | None = None) -> UnlearnResult:
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
    """
    single = isinstance(subjects, Subject)
    batch = [subjects] if single else list(subjects)
    if not batch or not all(isinstance(s, Subject) for s in batch):
        raise EngineError("run_unlearning needs a Subject or a non-empty sequence of Subjects")
    if len({s.name.casefold() for s in batch}) != len(batch):
        raise EngineError("the batch names the same person twice; merge their requests into one subject")
    config = config or UnlearnConfig()
    config.validate(subjects=len(batch))
    given = _given_reports(len(batch), report_before, reports_before)
    out = Path(out_dir)
    run_files.prepare_out_dir(out)
    created = not out.exists()
    try:
        return _run(loaded, batch, given, out=out, config=config, retain_path=retain_path, roster=roster,
                    heldout_texts=heldout_texts, progress=progress)
    except BaseException:
        run_files.discard_outputs(out, created=created)
        raise


def _run(loaded: Any, batch: list[Subject], given: list[Any], *, out: Path, config: UnlearnConfig,
         retain_path: str | Path | None, roster: list[dict[str, str]] | None, heldout_texts: list[str] | None,
         progress: ProgressCallback | None) -> UnlearnResult:
    import torch

    from workers.engine import evidence as ev
    from workers.engine import retain as retain_data
    from workers.engine import verify
    from workers.engine.fila import fila_init
    from workers.engine.forget_set import (build_forget_set, kept_facts, leaked_attributes, restrict_subject,
                                           split_families)
    from workers.engine.methods import METHODS
    from workers.engine.methods import adapters, loop
    from workers.engine.methods.base import Reference
    from workers.engine.methods.batching import make_batches
    from workers.engine.methods.format_tokens import format_token_ids
    from workers.engine.modelio import LoadedModel, load_model, weights_sha256
    from workers.engine.probe import PROMPT_FAMILIES, run_probe

    given_retain = retain_data.load_retain_file(retain_path) if retain_path is not None else None
    demo_roster, demo_heldout = run_files.demo_extras(Path(loaded.path))
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
    parts = [_Part(index=i, subject=s, attributes=config.attributes_for(i)) for i, s in enumerate(batch)]
    for part, report in zip(parts, given, strict=True):
        emit(progress, stage="discover", step=part.index, total=len(parts),
             message=f"probing subject {part.index} before unlearning" if report is None else
             f"using the discovery report of subject {part.index}")
        if report is not None and report.model_sha256 != base_sha:
            raise EngineError(f"the discovery report for subject {part.index} was made on other weights than "
                              "this model's; run discovery again")
        part.report_before = report if report is not None else run_probe(
            loaded, part.subject, config=probe_config(config), progress=nested(progress, "discover"))
        families = _families(part.report_before)
        part.train_families, part.heldout_families = split_families(families, config.train_families)
        part.forgotten = leaked_attributes(part.report_before, confirmed_only=config.confirmed_only,
                                           attributes=part.attributes)
    lap("probe_before_s")

    emit(progress, stage="data", step=0, message="building the forget and retain sets")
    forget_examples: list[Any] = []
    analyzers: dict[int, Any] = {}
    for part in parts:
        analyzer = None
        if method.token_weights:
            from workers.engine.pii import build_analyzer

            analyzer = build_analyzer(ner=config.ner, subject=restrict_subject(part.subject, part.attributes))
        analyzers[part.index] = analyzer
        examples = build_forget_set(subject=part.subject, report=part.report_before,
                                    train_families=part.train_families, confirmed_only=config.confirmed_only,
                                    analyzer=analyzer, reverse_phrasings=method.reverse_phrasings,
                                    attributes=part.attributes)
        part.found = len(examples)
        part.kept = kept_facts(subject=part.subject, report=part.report_before, attributes=part.attributes,
                               forget=examples, train_families=part.train_families)
        if method.prepare_forget is not None:
            examples = method.prepare_forget(examples, subject=part.subject)
        forget_examples += examples
    # The union: a prompt two subjects' findings share is trained on once.
    unique: dict[tuple[str, str], Any] = {}
    for ex in forget_examples:
        unique.setdefault((ex.prompt, ex.completion), ex)
    forget_examples = list(unique.values())
    n_found = sum(p.found for p in parts)
    if given_retain is not None:
        retain_examples = given_retain
    else:
        retain_examples = retain_data.generate_retain(
            loaded, batch[0], samples=config.retain_samples, people=config.retain_people, seed=config.seed)
        # generate_retain drops what mentions its subject; the rest of the batch must be dropped as well.
        retain_examples = [ex for ex in retain_examples
                           if not any(retain_data.mentions_subject(f"{ex.prompt} {ex.completion}", s)
                                      for s in batch[1:])]
        if not retain_examples:
            raise EngineError("could not generate retain data that mentions no subject of the batch; "
                              "pass a retain file")
    # Kept facts train as retain data but never count as "other people" in the agreement utility metric.
    retain_examples = retain_examples + [ex for part in parts for ex in part.kept]
    agreement_pairs = [(ex.prompt, ex.completion) for ex in retain_examples if ex.source == "retain-answer"]
    if heldout_texts:
        ppl_texts = heldout_texts
    else:  # hold back every fifth retain text for perplexity so it is never trained on
        texts = [ex for ex in retain_examples if not ex.prompt]
        held = texts[::5]
        ppl_texts = [ex.completion for ex in held]
        retain_examples = [ex for ex in retain_examples if ex not in held]
    lap("data_s")

    util_kwargs = {"roster": roster, "subjects": batch, "ppl_texts": ppl_texts,
                   "agreement_prompts": [p for p, _ in agreement_pairs],
                   "reference_answers": [c for _, c in agreement_pairs]}
    emit(progress, stage="utility", step=0, message="measuring utility before unlearning")
    utility_before = _utility(loaded, **util_kwargs)
    lap("utility_before_s")

    model = adapters.make_trainable(loaded.model, lora=config.lora, rank=config.rank, alpha=config.alpha,
                                    seed=config.seed)
    snapshot = adapters.trainable_snapshot(model)
    tok, dev = loaded.tokenizer, loaded.device
    # Token-weighted methods leave a value's format (shared by most people's values) out of the ascent.
    format_tokens = format_token_ids(tok, retain_examples) if method.token_weights else frozenset()
    forget_batches = make_batches(tok, forget_examples, batch_size=config.forget_batch_size, device=dev,
                                  context_weight=params.get("context_weight", 0.0), seed=config.seed,
                                  format_tokens=format_tokens)
    retain_batches = make_batches(tok, retain_examples, batch_size=config.retain_batch_size, device=dev,
                                  seed=config.seed)
    if config.init == "fila" and forget_batches:
        fila_init(model, forget_batches=forget_batches, retain_batches=retain_batches)
    reference = Reference(model, lora=config.lora)
    if method.needs_reference:
        reference.precompute(forget_batches + retain_batches)
    training_view = LoadedModel(model=model, tokenizer=tok, device=dev, path=loaded.path)
    cheap = probe_config(config, greedy_only=True)
    # Sampled with other seeds than the verification below, so passing the check is not the same draw.
    sampled_check = dataclasses.replace(probe_config(config), seed=config.seed + config.check_seed_offset)
    checked = [p for p in parts if p.forgotten and p.train_families]
    check_progress = nested(progress, "check", "early-stop check")

    on_policy: dict[int, Any] = {}
    if method.on_policy:
        from workers.engine.methods.onpolicy import OnPolicyForget

        for part in checked:
            on_policy[part.index] = OnPolicyForget(
                method=method, attributes=part.forgotten, tokenizer=tok, device=dev,
                batch_size=config.forget_batch_size, context_weight=params.get("context_weight", 0.0),
                seed=config.seed, prepare_kwargs={"subject": part.subject},
                known={(f.prompt, f.completion) for f in part.report_before.findings}, format_tokens=format_tokens,
                build=lambda rep, part=part: build_forget_set(
                    subject=part.subject, report=rep, train_families=part.train_families, confirmed_only=True,
                    analyzer=analyzers[part.index], attributes=part.attributes))

    def leak_rate(cfg: Any) -> float:
        # Pooled over the batch: 0 only when no subject leaks any of their forgotten attributes. The rate is
        # the worse of the two directions (identifier -> name, ``lookup``; name -> identifier, the others):
        # the reverse leaks vanish within a few steps, and a pooled rate then fell far enough to end the
        # start-up boost while the attribute leaks had not moved (Robin Levy: boost off at step 10, 0.30
        # training leak left after 150 steps).
        confirmed: dict[str, int] = {}
        total: dict[str, int] = {}
        for part in checked:
            report = run_probe(training_view, part.subject, config=cfg, families=part.train_families,
                               progress=check_progress)
            if part.index in on_policy:  # what leaks now joins the forget set (methods/onpolicy.py)
                on_policy[part.index].extend(report, forget_batches)
            for f in report.findings:
                if f.attribute in part.forgotten:
                    direction = PROMPT_FAMILIES[f.family].target if f.family in PROMPT_FAMILIES else "attribute"
                    confirmed[direction] = confirmed.get(direction, 0) + (f.verdict == "confirmed")
                    total[direction] = total.get(direction, 0) + 1
        return max((confirmed[d] / total[d] for d in total), default=0.0)

    def check() -> float:
        # Greedy first (cheap); only once that is clean pay for sampled decoding, which the verdict also uses.
        rate = leak_rate(cheap)
        return rate if rate > 0 else leak_rate(sampled_check)

    outcome = loop.train(model=model, method=method, params=params, forget=forget_batches, retain=retain_batches,
                         reference=reference, lr=lr, max_steps=config.max_steps, eval_every=config.eval_every,
                         min_steps=min(config.max_steps, max(config.min_steps, method.min_steps)),
                         check=check if checked else None,
                         progress=TrainingMetrics(progress), margin_steps=config.margin_steps,
                         passes_needed=method.stable_checks)
    changed = max((float((p.detach() - snapshot[n]).abs().max()) for n, p in model.named_parameters()
                   if n in snapshot), default=0.0)
    lap("train_s")

    emit(progress, stage="save", step=0, message="saving the adapter and the merged model")
    _, model_dir, adapter_dir = adapters.save_outputs(model, tok, out_dir=out, lora=config.lora)
    run_files.carry_demo_extras(Path(loaded.path), model_dir, forgotten=[p.subject.name for p in parts])
    lap("save_s")

    emit(progress, stage="verify", step=0, total=len(parts), message="verifying the saved model")
    after = load_model(model_dir, device=dev)
    for part in parts:
        part.report_after = run_probe(after, part.subject, config=probe_config(config),
                                      progress=nested(progress, "verify", f"verifying subject {part.index}"))
        emit(progress, stage="verify", step=part.index + 1, total=len(parts), message="verifying the saved model")
    emit(progress, stage="utility", step=1, message="measuring utility after unlearning")
    utility_after = _utility(after, **util_kwargs)
    verdict, verdicts = verify.decide_batch(
        [verify.SubjectCheck(report_after=p.report_after, attributes=p.forgotten, heldout_families=p.heldout_families)
         for p in parts], utility_before=utility_before, utility_after=utility_after, bounds=config.bounds)
    lap("verify_s")
    timings["total_s"] = round(time.perf_counter() - started, 3)

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
        "verdict": v.to_dict(),
    } for p, v in zip(parts, verdicts, strict=True)]
    first = per_subject[0]
    evidence = {
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
        "forget_set": {"found": n_found, "examples": len(forget_examples), "batches": len(forget_batches),
                       "on_policy_examples": sum(o.added for o in on_policy.values()),
                       "format_tokens": len(format_tokens),
                       "confirmed_only": config.confirmed_only},
        "retain_set": {"source": str(retain_path) if retain_path else "generated", "examples": len(retain_examples),
                       "perplexity_texts": "heldout_text.txt" if heldout_texts else "held-back retain texts"},
        "training": {"steps": outcome.steps, "stopped": outcome.stopped, "max_abs_weight_change": changed,
                     "checks": outcome.checks, "loss_history": outcome.history[-50:]},
        "utility_before": utility_before,
        "utility_after": utility_after,
        "verdict": verdict.to_dict(),  # overall: passes only if every subject passes and utility holds
        "weights": {"base_sha256": base_sha, "result_sha256": weights_sha256(model_dir),
                    "adapter_sha256": ev.sha256_dir(adapter_dir) if adapter_dir else None},
        "caveats": (["FILA rewrote the base weights to a residual; the adapter in adapter/ only applies on that "
                     "residual base, so deploy the merged model in model/"] if config.init == "fila" else []),
        "timings": timings,
        "peak_memory": peak_memory(dev),
        "versions": ev.library_versions(),
    }
    evidence_path = out / "evidence.json"
    ev.write_evidence(evidence_path, evidence)
    emit(progress, stage="done", step=1, total=1, metrics={"passed": float(verdict.passed)},
         message="; ".join(verdict.reasons))
    return UnlearnResult(passed=verdict.passed, out_dir=out, model_dir=model_dir, adapter_dir=adapter_dir,
                         evidence_path=evidence_path, evidence=evidence,
                         report_after=parts[0].report_after,
                         reports_after=[p.report_after for p in parts])


def peak_memory(device: Any) -> dict[str, float]:
    import resource

    mem = {"max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if getattr(device, "type", "") == "cuda":
        import torch

        mem["cuda_max_allocated_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return mem


def probe_config(config: UnlearnConfig, *, greedy_only: bool = False) -> Any:
    from workers.engine.probe import ProbeConfig

    cfg = ProbeConfig(seed=config.seed, ner=config.ner)
    if greedy_only:
        cfg = dataclasses.replace(cfg, samples=0)
    return cfg
