"""``rtbf unlearn`` and ``rtbf bench``: thin typer commands over the engine.

Nothing heavy is imported at module level, so the root CLI works on a web-only install.
Exit codes for ``unlearn``: 0 passing verdict, 1 failing verdict, 2 bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

UNLEARN_HELP = "Forget a data subject from a model, verify the removal and write the evidence."


def _fail(message: str) -> typer.Exit:
    from rich.console import Console

    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    return typer.Exit(code=2)


def _progress_bar():
    """A rich progress bar fed by the engine's ProgressCallback."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("[bold]{task.fields[stage]}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TextColumn("{task.fields[info]}"), TimeElapsedColumn())
    task = bar.add_task("unlearn", total=None, stage="start", info="")

    def callback(event) -> None:
        info = " ".join(f"{k}={v:.3g}" for k, v in event.metrics.items())
        bar.update(task, completed=event.step, total=event.total, stage=event.stage, info=info or event.message)

    return bar, callback


def unlearn(
    model: Annotated[Path, typer.Option("--model", help="Hugging Face model directory to unlearn from.")],
    subject: Annotated[list[Path], typer.Option("--subject", help="SUBJECT.json: name, identifiers, texts. "
                                                "Repeat it to forget several subjects in one run (a batch).")],
    method: Annotated[str, typer.Option("--method", help="fpga | relearn | ihl | ga | graddiff | npo")] = "fpga",
    out: Annotated[Path, typer.Option("--out", help="Output directory (must be new or empty).")] = Path("unlearned"),
    retain: Annotated[Path | None, typer.Option("--retain", help="Retain data JSONL; else generated.")] = None,
    init: Annotated[str, typer.Option("--init", help="LoRA init: default | fila (FILA, for ihl).")] = "default",
    confirmed_only: Annotated[bool, typer.Option("--confirmed-only", help="Forget confirmed leaks only.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Full fine-tuning instead of LoRA.")] = False,
    max_steps: Annotated[int, typer.Option("--max-steps", help="Step budget.")] = 150,
    lr: Annotated[float | None, typer.Option("--lr", help="Learning rate (default: the method's).")] = None,
    rank: Annotated[int, typer.Option("--rank", help="LoRA rank.")] = 4,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    ner: Annotated[bool, typer.Option("--ner", help="Use the spaCy NER model in Presidio.")] = False,
    attribute: Annotated[list[str] | None, typer.Option(
        "--attribute", help="Forget only this attribute (e.g. email); repeat for several. Default: every "
                            "leaked one. Applies to every subject.")] = None,
    corpus: Annotated[Path | None, typer.Option("--corpus", help="The model's training data, for discovery "
                                                "(see rtbf probe --corpus).")] = None,
    discovery_budget: Annotated[int, typer.Option("--discovery-budget", help="Self-elicitation continuations in "
                                                  "discovery; 0: templates only.")] = 480,
    attacks: Annotated[str, typer.Option("--attacks", help="Attack checks on the result, comma-separated: "
                                         "quantize, relearn, multiquery, multihop, or all.")] = "",
    gating_attacks: Annotated[str, typer.Option("--gating-attacks", help="The attacks whose leak fails the "
                                                "verdict; the others only report.")] = "quantize,multiquery",
    max_exact_leak: Annotated[float, typer.Option(
        "--max-exact-leak", help="Fail when the exact chance that 20 samples give a forgotten detail back after "
                                 "any verification prompt passes this (0 < x <= 1; 1 only records it).")] = 0.02,
) -> None:
    """Forget a data subject from a model, verify the removal and write the evidence."""
    from workers.engine.errors import EngineError
    from workers.engine.modelio import check_model_dir
    from workers.engine.subject import load_subject
    from workers.engine.unlearning import UnlearnConfig
    from workers.engine.verify import Bounds

    from workers.engine.attacks import parse_attacks

    try:  # cheap checks first: bad input must not cost a model load
        config = UnlearnConfig(attacks=parse_attacks(attacks), gating_attacks=parse_attacks(gating_attacks),
                               method=method, lora=not full, lr=lr, max_steps=max_steps, seed=seed, rank=rank,
                               alpha=2 * rank, confirmed_only=confirmed_only, init=init, ner=ner,
                               attributes=tuple(attribute) if attribute else None,
                               corpus=str(corpus) if corpus is not None else None, discovery_budget=discovery_budget,
                               bounds=Bounds(max_exact_leak=None if max_exact_leak >= 1 else max_exact_leak))
        config.validate(subjects=len(subject))
        check_model_dir(model)
        people = [load_subject(path) for path in subject]
        if len({p.name.casefold() for p in people}) != len(people):
            raise EngineError("two subject files name the same person; merge them into one")
        if retain is not None and not retain.is_file():
            raise EngineError(f"retain file not found: {retain}")
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise EngineError(f"output directory exists and is not empty: {out}")
    except EngineError as exc:
        raise _fail(str(exc)) from None

    from rich.console import Console

    from workers.engine.modelio import load_model
    from workers.engine.unlearning import run_unlearning

    console = Console()
    bar, callback = _progress_bar()
    try:
        loaded = load_model(model)
        with bar:
            result = run_unlearning(loaded, people[0] if len(people) == 1 else people, out_dir=out, config=config,
                                    retain_path=retain, progress=callback)
    except EngineError as exc:
        raise _fail(str(exc)) from None
    verdict = result.evidence["verdict"]
    colour = "green" if result.passed else "red"
    console.print(f"[{colour}]verdict: {'PASSED' if result.passed else 'FAILED'}[/{colour}]")
    for reason in verdict["reasons"]:
        console.print(f"  - {reason}", highlight=False)
    if len(people) > 1:  # files, not names: the terminal may be logged
        for part, path in zip(result.evidence["subjects"], subject, strict=True):
            console.print(f"  subject {part['index']} ({path.name}): "
                          f"{'passed' if part['verdict']['passed'] else 'FAILED'}, forgot "
                          f"{', '.join(part['forgotten_attributes']) or 'nothing found'}", highlight=False)
    ub, ua = result.evidence["utility_before"], result.evidence["utility_after"]
    console.print(f"other people's accuracy {ub['accuracy']:.3f} -> {ua['accuracy']:.3f}; "
                  f"perplexity {ub['perplexity']:.3f} -> {ua['perplexity']:.3f}; "
                  f"{result.evidence['training']['steps']} steps, {result.evidence['timings']['total_s']:.1f} s")
    exact = result.evidence.get("exact_leak") or {}
    if exact.get("pairs"):
        console.print(f"exact check: at most {exact['max_leak']:.1%} chance that {exact['draws']} samples give a "
                      f"forgotten detail back ({exact['above']} of {exact['pairs']} prompt-detail pairs above "
                      f"{exact['bound']:.0%})", highlight=False)
    for name, record in result.evidence["attacks"].items():
        console.print(f"attack {name}: worst family {record['max_family_rate']:.1%} "
                      f"({'gating' if record['gating'] else 'reported'}, {record['seconds']:.1f} s)", highlight=False)
    console.print(f"wrote {result.model_dir}, {result.adapter_dir or '(no adapter: full fine-tuning)'}, "
                  f"{result.evidence_path}")
    raise typer.Exit(code=0 if result.passed else 1)


def bench(
    size: Annotated[str, typer.Option("--size", help="Demo model size: tiny | small.")] = "small",
    people: Annotated[int, typer.Option("--people", help="How many people to forget, one at a time.")] = 3,
    methods: Annotated[str, typer.Option("--methods", help="Comma-separated methods.")] = "fpga,relearn,ihl,ga,graddiff,npo",
    device: Annotated[str | None, typer.Option("--device", help="cpu | cuda (default: best available).")] = None,
    cache: Annotated[Path, typer.Option("--cache", help="Where the demo model is trained/cached.")] = Path(".cache/bench"),
    out: Annotated[Path, typer.Option("--out", help="JSON results file.")] = Path("bench-unlearning.json"),
    seed: Annotated[int, typer.Option("--seed")] = 0,
    sequential: Annotated[bool, typer.Option("--sequential", help="Forget the people one after another, each "
                                             "from the previous result.")] = False,
) -> None:
    """Benchmark every unlearning method on the demo model (prints a table, writes JSON)."""
    from bench.unlearning import run_bench
    from workers.engine.errors import EngineError

    try:
        run_bench(size=size, people=people, methods=[m.strip() for m in methods.split(",") if m.strip()],
                  device=device, cache=cache, out=out, seed=seed, sequential=sequential)
    except EngineError as exc:
        raise _fail(str(exc)) from None
