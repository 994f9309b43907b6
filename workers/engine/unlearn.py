"""Unlearning entry point: forget set from discovery -> method -> early stop on the probe -> verification.

``run_unlearning`` is what the CLI and the worker call. The model is adapted with LoRA by default
(peft, all linear layers); the reference model is the same module with the adapter switched off.
It writes OUTDIR/model (merged weights + tokenizer), OUTDIR/adapter and OUTDIR/evidence.json, and
judges the *saved* merged model, since that is the artefact that ships (anchors §9.5).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workers.engine.errors import EngineError
from workers.engine.forget_set import DEFAULT_TRAIN_FAMILIES
from workers.engine.progress import ProgressCallback, emit
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

    def validate(self) -> None:
        from workers.engine.methods import METHODS

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
    report_after: Any = None


def _demo_extras(model_dir: Path) -> tuple[list[dict[str, str]] | None, list[str] | None]:
    """A demo model directory carries its roster and held-out generic text; any other model does not."""
    import json

    roster_file, heldout_file = model_dir / "roster.jsonl", model_dir / "heldout_text.txt"
    roster = ([json.loads(line) for line in roster_file.read_text(encoding="utf-8").splitlines() if line.strip()]
              if roster_file.is_file() else None)
    heldout = ([t for t in heldout_file.read_text(encoding="utf-8").splitlines() if t.strip()]
               if heldout_file.is_file() else None)
    return roster, heldout


def _prepare_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise EngineError(f"output directory exists and is not empty: {out_dir}")


def _families(report: Any) -> list[str]:
    families: list[str] = []
    for per_family in report.rates.values():
        families += [f for f in per_family if f not in families]
    return families or list(dict.fromkeys(f.family for f in report.findings))


def _utility(loaded: Any, *, roster: list[dict[str, str]] | None, subject: Subject, ppl_texts: list[str],
             agreement_prompts: list[str], reference_answers: list[str]) -> dict[str, Any]:
    from workers.engine import verify

    if roster:
        util = verify.roster_accuracy(loaded, roster, exclude=[subject.name])
    else:
        util = verify.agreement(loaded, agreement_prompts, reference_answers)
    util["perplexity"] = verify.perplexity(loaded, ppl_texts)
    return util


def run_unlearning(loaded: Any, subject: Subject, *, out_dir: str | Path, config: UnlearnConfig | None = None,
                   retain_path: str | Path | None = None, report_before: Any = None,
                   roster: list[dict[str, str]] | None = None, heldout_texts: list[str] | None = None,
                   progress: ProgressCallback | None = None) -> UnlearnResult:
    """Forget ``subject`` from ``loaded`` (its model is modified in place) and write model/, adapter/ and
    evidence.json under ``out_dir``. ``roster``/``heldout_texts`` default to the demo model's files."""
    import torch

    from workers.engine import evidence as ev
    from workers.engine import retain as retain_data
    from workers.engine import verify
    from workers.engine.fila import fila_init
    from workers.engine.forget_set import build_forget_set, leaked_attributes, split_families
    from workers.engine.methods import METHODS
    from workers.engine.methods import adapters, loop
    from workers.engine.methods.base import Reference
    from workers.engine.methods.batching import make_batches
    from workers.engine.modelio import LoadedModel, load_model, weights_sha256
    from workers.engine.probe import run_probe

    config = config or UnlearnConfig()
    config.validate()
    out = Path(out_dir)
    _prepare_out_dir(out)
    given_retain = retain_data.load_retain_file(retain_path) if retain_path is not None else None
    demo_roster, demo_heldout = _demo_extras(Path(loaded.path))
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
    emit(progress, stage="discover", step=0, message="probing the model before unlearning")
    if report_before is None:
        report_before = run_probe(loaded, subject, config=probe_config(config))
    families = _families(report_before)
    train_families, heldout_families = split_families(families, config.train_families)
    forgotten = leaked_attributes(report_before, confirmed_only=config.confirmed_only)
    lap("probe_before_s")

    analyzer = None
    if method.token_weights:
        from workers.engine.pii import build_analyzer

        analyzer = build_analyzer(ner=config.ner, subject=subject)
    forget_examples = build_forget_set(subject=subject, report=report_before, train_families=train_families,
                                       confirmed_only=config.confirmed_only, analyzer=analyzer,
                                       reverse_phrasings=method.reverse_phrasings)
    n_found = len(forget_examples)
    if method.prepare_forget is not None:
        forget_examples = method.prepare_forget(forget_examples, subject=subject)
    retain_examples = given_retain or retain_data.generate_retain(
        loaded, subject, samples=config.retain_samples, people=config.retain_people, seed=config.seed)
    agreement_pairs = [(ex.prompt, ex.completion) for ex in retain_examples if ex.source == "retain-answer"]
    if heldout_texts:
        ppl_texts = heldout_texts
    else:  # hold back every fifth retain text for perplexity so it is never trained on
        texts = [ex for ex in retain_examples if not ex.prompt]
        held = texts[::5]
        ppl_texts = [ex.completion for ex in held]
        retain_examples = [ex for ex in retain_examples if ex not in held]
    lap("data_s")

    util_kwargs = {"roster": roster, "subject": subject, "ppl_texts": ppl_texts,
                   "agreement_prompts": [p for p, _ in agreement_pairs],
                   "reference_answers": [c for _, c in agreement_pairs]}
    utility_before = _utility(loaded, **util_kwargs)
    lap("utility_before_s")

    model = adapters.make_trainable(loaded.model, lora=config.lora, rank=config.rank, alpha=config.alpha,
                                    seed=config.seed)
    snapshot = adapters.trainable_snapshot(model)
    tok, dev = loaded.tokenizer, loaded.device
    forget_batches = make_batches(tok, forget_examples, batch_size=config.forget_batch_size, device=dev,
                                  context_weight=params.get("context_weight", 0.0), seed=config.seed)
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

    def leak_rate(cfg: Any) -> float:
        report = run_probe(training_view, subject, config=cfg, families=train_families)
        total = [f for f in report.findings if f.attribute in forgotten]
        return sum(f.verdict == "confirmed" for f in total) / len(total) if total else 0.0

    def check() -> float:
        # Greedy first (cheap); only once that is clean pay for sampled decoding, which the verdict also uses.
        rate = leak_rate(cheap)
        return rate if rate > 0 else leak_rate(sampled_check)

    outcome = loop.train(model=model, method=method, params=params, forget=forget_batches, retain=retain_batches,
                         reference=reference, lr=lr, max_steps=config.max_steps, eval_every=config.eval_every,
                         min_steps=config.min_steps, check=check if forgotten else None, progress=progress,
                         margin_steps=config.margin_steps)
    changed = max((float((p.detach() - snapshot[n]).abs().max()) for n, p in model.named_parameters()
                   if n in snapshot), default=0.0)
    lap("train_s")

    _, model_dir, adapter_dir = adapters.save_outputs(model, tok, out_dir=out, lora=config.lora)
    lap("save_s")

    emit(progress, stage="verify", step=0, message="verifying the saved model")
    after = load_model(model_dir, device=dev)
    report_after = run_probe(after, subject, config=probe_config(config))
    utility_after = _utility(after, **util_kwargs)
    verdict = verify.decide(report_after=report_after, attributes=forgotten, heldout_families=heldout_families,
                            utility_before=utility_before, utility_after=utility_after, bounds=config.bounds)
    lap("verify_s")
    timings["total_s"] = round(time.perf_counter() - started, 3)

    evidence = {
        "schema": ev.SCHEMA,
        "created_at": ev.now_iso(),
        "method": {"name": method.name, "summary": method.summary, "lr": lr, "params": params,
                   "lora": config.lora, "rank": config.rank if config.lora else None,
                   "alpha": config.alpha if config.lora else None, "init": config.init},
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k != "params"},
        "seeds": {"torch": config.seed, "probe": getattr(probe_config(config), "seed", None)},
        "subject": {"identifier_kinds": sorted(subject.identifiers), "texts": len(subject.texts)},
        "families": {"training": train_families, "held_out": heldout_families},
        "forgotten_attributes": forgotten,
        "forget_set": {"found": n_found, "examples": len(forget_examples), "batches": len(forget_batches),
                       "confirmed_only": config.confirmed_only},
        "retain_set": {"source": str(retain_path) if retain_path else "generated", "examples": len(retain_examples),
                       "perplexity_texts": "heldout_text.txt" if heldout_texts else "held-back retain texts"},
        "training": {"steps": outcome.steps, "stopped": outcome.stopped, "max_abs_weight_change": changed,
                     "checks": outcome.checks, "loss_history": outcome.history[-50:]},
        "probe_before": ev.redact_report(report_before),
        "probe_after": ev.redact_report(report_after),
        "utility_before": utility_before,
        "utility_after": utility_after,
        "verdict": verdict.to_dict(),
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
                         evidence_path=evidence_path, evidence=evidence, report_after=report_after)


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
