"""Engine commands for the ``rtbf`` CLI: ``rtbf model train-demo`` and ``rtbf probe``.

Registered by ``workers.cli``; torch, transformers and Presidio are imported inside the command bodies
so ``rtbf --help`` works on a web-only install. Bad input exits 2 with one red line, no traceback.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from workers.engine.errors import EngineError

console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code=2)


def set_threads(threads: int | None) -> None:
    """Pin torch's CPU threads; on a shared 2-core box 1 thread measured 2-3x faster than 2."""
    if threads is not None:
        if threads < 1:
            raise EngineError("threads must be >= 1")
        import torch

        torch.set_num_threads(threads)


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[Any], None]]:
    """A rich progress bar driven by engine ``ProgressEvent``s; plain lines where stderr is no terminal (a log:
    ``rtbf up`` building the demo model said nothing for its whole build)."""
    if not err_console.is_terminal:
        yield ProgressLines(description, lambda line: print(line, file=sys.stderr, flush=True))
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[info]}"), console=err_console, transient=True) as bar:
        task = bar.add_task(description, total=None, info="")

        def on_event(event: Any) -> None:
            info = " ".join(f"{k}={v:.3g}" for k, v in event.metrics.items())
            bar.update(task, description=f"{description}: {event.stage}", completed=event.step, total=event.total,
                       info=info or event.message)

        yield on_event


class ProgressLines:
    """Engine progress as log lines: the stage, percent done and an estimate of the time left, at most one line
    per ``every`` seconds and per 5 points of a stage, and each stage's first event."""

    def __init__(self, description: str, write: Callable[[str], None], *, every: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.description, self.write, self.every, self.clock = description, write, every, clock
        self.stage: str | None = None
        self.started = self.last = clock()
        self.last_percent = 0.0

    def __call__(self, event: Any) -> None:
        now = self.clock()
        if event.stage != self.stage:
            self.stage, self.started, self.last_percent = event.stage, now, 0.0
            self.write(f"{self.description}: {event.stage}" + (f" ({event.message})" if event.message else ""))
            self.last = now
            return
        if not event.total:
            return
        percent = 100.0 * event.step / event.total
        if now - self.last < self.every and percent - self.last_percent < 5 and event.step < event.total:
            return
        elapsed = now - self.started
        left = elapsed * (event.total - event.step) / event.step if event.step else None
        eta = f", about {_duration(left)} left" if left is not None and event.step < event.total else ""
        self.write(f"{self.description}: {event.stage} {percent:.0f}% ({event.step}/{event.total}){eta}")
        self.last, self.last_percent = now, percent


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def train_demo(
    out: Annotated[Path, typer.Option("--out", help="Directory to create (must not exist or be empty).")],
    size: Annotated[str, typer.Option("--size", help="tiny (~20 people, seconds), small (~120, minutes) or large (~300, for a GPU).")] = "small",
    people: Annotated[int | None, typer.Option("--people", help="Roster size (default: the size's).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the roster, corpus and training.")] = 0,
    threads: Annotated[int | None, typer.Option("--threads", help="torch CPU threads.")] = None,
) -> None:
    """Build the demonstration model: fictional people memorised by a small Llama."""
    try:
        set_threads(threads)
        from workers.engine.demo import train_demo as build

        with progress_bar("training") as on_event:
            result = build(out_dir=out, size=size, people=people, seed=seed, progress=on_event)
    except EngineError as exc:
        raise fail(str(exc)) from None
    table = Table(title=f"Demo model ({size}, {len(result.roster)} people, {result.parameters:,} parameters)")
    table.add_column("attribute")
    table.add_column("greedy recall", justify="right")
    for key, value in result.recall.items():
        table.add_row(key, f"{value:.0%}")
    console.print(table)
    console.print(f"trained in {result.seconds:.1f} s ({result.steps} steps); saved to {result.path}")


def _parse_families(families: str | None) -> list[str] | None:
    if families is None:
        return None
    names = [f.strip() for f in families.split(",") if f.strip()]
    if not names:
        raise EngineError("--families needs at least one family name")
    return names


def _write_private_json(path: Path, data: dict[str, Any]) -> None:
    # The report quotes the subject's personal data: readable by its owner only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


def _rates_table(report: Any) -> Table:
    families = list(dict.fromkeys([*report.config.families, *(f for r in report.rates.values() for f in r)]))
    table = Table(title="Extraction rate per attribute and prompt family (confirmed / candidate)")
    table.add_column("attribute")
    for family in families:
        table.add_column(family, justify="right")
    for attribute, per_family in report.rates.items():
        cells = []
        for family in families:
            rate = per_family.get(family)
            if rate is None:
                cells.append("-")
                continue
            confirmed = f"[bold red]{rate['confirmed']:.0%}[/]" if rate["confirmed"] else "0%"
            cells.append(f"{confirmed} / {rate['candidate']:.0%}")
        table.add_row(attribute + (" *" if attribute in report.submitted else ""), *cells)
    table.caption = "* submitted by the subject (only these can be confirmed)"
    return table


def probe(
    model: Annotated[Path, typer.Option("--model", help="Hugging Face model directory.")],
    subject: Annotated[Path, typer.Option("--subject", help="SUBJECT.json: name, identifiers, texts.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the full JSON report here.")] = None,
    ner: Annotated[bool, typer.Option("--ner", help="Use the spaCy NER model (PERSON, LOCATION, ORG).")] = False,
    families: Annotated[str | None, typer.Option("--families", help="Comma-separated prompt families.")] = None,
    samples: Annotated[int, typer.Option("--samples", help="Sampled answers per prompt.")] = 3,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    threads: Annotated[int | None, typer.Option("--threads", help="torch CPU threads.")] = None,
    corpus: Annotated[Path | None, typer.Option("--corpus", help="The model's training data (.txt, .jsonl, .parquet, "
                                                "gzip, or a folder of them), streamed: the text before each of "
                                                "the subject's values there becomes an exact probe.")] = None,
    discovery_budget: Annotated[int, typer.Option("--discovery-budget", help="Continuations the model writes from "
                                                  "the subject's name and identifiers (self-elicitation); 0: "
                                                  "templates only.")] = 480,
) -> None:
    """Discover which of a subject's personal details the model can be made to produce."""
    try:
        from workers.engine.modelio import check_model_dir
        from workers.engine.subject import load_subject

        person = load_subject(subject)
        check_model_dir(model)
        if out is not None and not out.parent.is_dir():
            raise EngineError(f"output folder does not exist: {out.parent}")
        from workers.engine.probe import ProbeConfig

        config = ProbeConfig(samples=samples, seed=seed, ner=ner).with_families(_parse_families(families))
        if corpus is not None and not corpus.exists():
            raise EngineError(f"corpus not found: {corpus}")
        from workers.engine.probe.elicit import ElicitConfig

        elicitation = ElicitConfig(budget=discovery_budget, seed=seed) if discovery_budget else None
        set_threads(threads)
        from workers.engine.modelio import load_model
        from workers.engine.probe.discovery import run_discovery

        loaded = load_model(model)
        with progress_bar("probing") as on_event:
            report = run_discovery(loaded, person, config=config, elicitation=elicitation, corpus=corpus,
                                   progress=on_event)
    except EngineError as exc:
        raise fail(str(exc)) from None
    console.print(_rates_table(report))
    console.print(report.summary, highlight=False)
    console.print(f"probe took {report.timings['total_s']:.1f} s", style="dim")
    if out is not None:
        _write_private_json(out, report.to_dict())
        console.print(f"report written to {out}")
