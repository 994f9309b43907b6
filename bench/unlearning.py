"""Unlearning benchmark: forget several demo people one at a time with every method.

``python -m bench.unlearning [--size small] [--people 3] [--methods fpga,relearn,...] [--init fila] [--device cpu]
[--threads 1] [--sequential]``
(or ``rtbf bench``). Trains the demo model once into a cache dir, then for each (method, person) starts
from the same base weights, runs ``run_unlearning`` and records: confirmed-leak rate before/after on the
training and held-out prompt families, other people's accuracy before/after, perplexity change, wall
time and peak memory. Prints a rich table and writes JSON. ``--sequential`` forgets the people one after
another instead, each from the previous result, as the product's model versions accumulate.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def _demo_model(cache: Path, size: str, seed: int) -> Path:
    from workers.engine.demo import train_demo

    target = cache / f"demo-{size}-seed{seed}"
    if not (target / "demo.json").is_file():
        shutil.rmtree(target, ignore_errors=True)
        train_demo(out_dir=target, size=size, seed=seed)
    return target


def _rate(report: dict[str, Any], families: list[str], attributes: list[str]) -> float:
    chosen = [f for f in report["findings"] if f["family"] in families and f["attribute"] in attributes]
    return sum(f["verdict"] == "confirmed" for f in chosen) / len(chosen) if chosen else 0.0


def run_one(model_dir: Path, person: Any, method: str, *, device: str | None, seed: int,
            init: str = "default", out_dir: Path | None = None, earlier: list[Any] | None = None) -> dict[str, Any]:
    """Forget ``person`` from ``model_dir``; the result is kept under ``out_dir`` when given (sequential runs),
    and ``earlier`` (``EarlierErasure``) are re-checked on it as the product does."""
    from workers.engine.demo import roster_subject
    from workers.engine.modelio import load_model
    from workers.engine.unlearning import UnlearnConfig, run_unlearning

    loaded = load_model(model_dir, device=device)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = run_unlearning(loaded, roster_subject(person), out_dir=out_dir or Path(tmp) / "out",
                                config=UnlearnConfig(method=method, seed=seed, init=init), earlier=earlier)
    wall = time.perf_counter() - started
    ev = result.evidence
    fam, attrs = ev["families"], ev["forgotten_attributes"]
    ub, ua = ev["utility_before"], ev["utility_after"]
    return {
        "method": method if init == "default" else f"{method}+{init}", "person": person.name, "passed": result.passed, "reasons": ev["verdict"]["reasons"],
        "leak_train_before": _rate(ev["probe_before"], fam["training"], attrs),
        "leak_train_after": _rate(ev["probe_after"], fam["training"], attrs),
        "leak_heldout_before": _rate(ev["probe_before"], fam["held_out"], attrs),
        "leak_heldout_after": _rate(ev["probe_after"], fam["held_out"], attrs),
        "accuracy_before": ub["accuracy"], "accuracy_after": ua["accuracy"],
        "accuracy_ratio": ua["accuracy"] / ub["accuracy"] if ub["accuracy"] else float("nan"),
        "perplexity_change": ua["perplexity"] / ub["perplexity"] - 1.0,
        "forgotten_attributes": attrs, "earlier_erasures": ev.get("earlier_erasures", []),
        "steps": ev["training"]["steps"], "wall_s": round(wall, 2), "timings": ev["timings"],
        "peak_memory": ev["peak_memory"],
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="rtbf unlearning benchmark")
    for col in ("method", "person", "leak train b->a", "leak held-out b->a", "others' acc b->a", "ratio",
                "ppl change", "steps", "wall s", "verdict"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["method"], r["person"], f"{r['leak_train_before']:.2f} -> {r['leak_train_after']:.2f}",
                      f"{r['leak_heldout_before']:.2f} -> {r['leak_heldout_after']:.2f}",
                      f"{r['accuracy_before']:.3f} -> {r['accuracy_after']:.3f}", f"{r['accuracy_ratio']:.3f}",
                      f"{r['perplexity_change']:+.1%}", str(r["steps"]), f"{r['wall_s']:.1f}",
                      "pass" if r["passed"] else "FAIL")
    Console().print(table)


def run_sequential(model_dir: Path, people: list[Any], method: str, *, device: str | None, seed: int,
                   init: str, workdir: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Forget ``people`` one after another, each from the previous run's model, as the product does when
    requests arrive over time (version 1 -> 2 -> 3 ...). Each run re-checks the earlier erasures, as the
    product's jobs do, so a run that brings one back fails. The summary gives, for the last version, each
    forgotten person's confirmed leaks of what was forgotten (from the run that made it), and the accuracy on the
    people nobody asked to forget against the base model on the same people (the drift the versions add up to)."""
    from workers.engine import verify
    from workers.engine.demo import roster_subject
    from workers.engine.modelio import load_model
    from workers.engine.unlearning import EarlierErasure
    from workers.engine.unlearning import files as run_files

    rows: list[dict[str, Any]] = []
    current = model_dir
    for index, person in enumerate(people):
        number = 2 + sum(r["passed"] for r in rows)
        out = workdir / f"run{index}"
        # As the product does: the people the current version was made to forget are asked about again.
        earlier = [EarlierErasure(subject=roster_subject(p), attributes=tuple(r["forgotten_attributes"]))
                   for p, r in zip(people, rows, strict=False) if r["passed"]]
        row = run_one(current, person, method, device=device, seed=seed, init=init, out_dir=out, earlier=earlier)
        if row["passed"]:
            current = out / "model"
        # The product keeps a failing run's model out of service: the next request starts from the current version.
        rows.append({**row, "version": number if row["passed"] else None})
    # The last version was verified by the run that made it, about its own person and (re-checked) every
    # earlier one, with the same probes and seeds: read it from that run rather than probe the model again.
    passed = [(row, person) for row, person in zip(rows, people, strict=True) if row["passed"]]
    relapse: dict[str, dict[str, Any]] = {}
    if passed:
        last, last_person = passed[-1]
        for (_, person), record in zip(passed[:-1], last["earlier_erasures"], strict=True):
            relapse[person.name] = {"confirmed_leaks": record["confirmed_leaks"], "findings": record["findings"],
                                    "families": record["families"]}
        relapse[last_person.name] = {"confirmed_leaks": 0, "families": []}  # its own verdict passed
    final = load_model(current, device=device)
    forgotten = [p.name for p in people]
    roster = [r for r in run_files.demo_extras(model_dir)[0] if r["name"] not in forgotten]
    base = load_model(model_dir, device=device)
    summary = {"versions": 1 + sum(r["passed"] for r in rows), "final_model": str(current), "forgotten_people_on_final_model": relapse,
               "others_accuracy_base": verify.roster_accuracy(base, roster)["accuracy"],
               "others_accuracy_final": verify.roster_accuracy(final, roster)["accuracy"]}
    summary["others_accuracy_ratio"] = summary["others_accuracy_final"] / summary["others_accuracy_base"]
    return rows, summary


def run_bench(*, size: str = "small", people: int = 3, methods: list[str], device: str | None = None,
              cache: Path = Path(".cache/bench"), out: Path = Path("bench-unlearning.json"), seed: int = 0,
              first_person: int = 0, init: str = "default", sequential: bool = False) -> list[dict[str, Any]]:
    """``init`` applies to every method (``fila`` only suits those without a reference model: ihl, ga,
    graddiff; ``UnlearnConfig.validate`` rejects the others before anything runs). ``sequential``: each
    method forgets the people one after another (``run_sequential``) instead of each from the base model."""
    from workers.engine.demo import read_roster
    from workers.engine.errors import EngineError
    from workers.engine.methods import METHODS

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise EngineError(f"unknown method(s) {', '.join(unknown)}; choose from: {', '.join(METHODS)}")
    if people < 1:
        raise EngineError("people must be at least 1")
    from workers.engine.unlearning import UnlearnConfig

    for method in methods:
        UnlearnConfig(method=method, init=init).validate()
    model_dir = _demo_model(Path(cache), size, seed)
    roster = read_roster(model_dir)[first_person:first_person + people]
    rows: list[dict[str, Any]] = []
    sequences: dict[str, Any] = {}
    for method in methods:
        if sequential:
            with tempfile.TemporaryDirectory(dir=cache) as work:
                done, sequences[method] = run_sequential(model_dir, roster, method, device=device, seed=seed,
                                                         init=init, workdir=Path(work))
            rows += done
        else:
            for person in roster:
                rows.append(run_one(model_dir, person, method, device=device, seed=seed, init=init))
                Path(out).write_text(json.dumps({"size": size, "model": str(model_dir), "rows": rows}, indent=2))
    result: dict[str, Any] = {"size": size, "model": str(model_dir), "rows": rows}
    if sequential:
        result["sequential"] = sequences
    Path(out).write_text(json.dumps(result, indent=2))
    print_table(rows)
    for method, summary in sequences.items():
        print(f"{method}, sequential: {summary['versions']} versions; others' accuracy on the last one "
              f"{summary['others_accuracy_final']:.3f} vs {summary['others_accuracy_base']:.3f} on the base model "
              f"({summary['others_accuracy_ratio']:.3f}); forgotten people's confirmed leaks on the last one: "
              + ", ".join(f"{name} {v['confirmed_leaks']}" for name, v in summary["forgotten_people_on_final_model"].items()))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small")
    parser.add_argument("--people", type=int, default=3)
    parser.add_argument("--first-person", type=int, default=0)
    parser.add_argument("--methods", default=None,
                        help="comma-separated (default: every method on the demo model; fpga,relearn otherwise)")
    parser.add_argument("--init", default="default", help="LoRA initialisation: default, or fila (for ihl)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--cache", type=Path, default=Path(".cache/bench"))
    parser.add_argument("--out", type=Path, default=Path("bench-unlearning.json"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sequential", action="store_true",
                        help="forget the people one after another, each from the previous result (v1 -> v2 -> ...)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (1 is fastest on a shared 2-core machine)")
    parser.add_argument("--model", default="demo", help="demo (the default), foreign (models rtbf never tuned on, "
                        "judged independently: bench/judged.py; see --seeds) or a model directory (with --roster)")
    parser.add_argument("--seeds", type=int, default=0, help="with --model foreign: draw this many judge seeds "
                        "(from 1000 up, at random) and run on each one's format-space model; without it, the "
                        "regression model (the hand-written two halves) is run")
    parser.add_argument("--space-size", default="default", choices=("tiny", "default"),
                        help="with --seeds: the format-space models' size")
    parser.add_argument("--roster", type=Path, default=None, help="with --model DIR: the truth (roster.jsonl, "
                        "and the judge's probes.jsonl beside it if any)")
    parser.add_argument("--judge-half", default="judge", choices=("dev", "judge"),
                        help="the foreign model's phrasings to measure on: judge (held out) or dev (for developing)")
    parser.add_argument("--with-corpus", action="store_true", help="give discovery the model's training corpus")
    parser.add_argument("--keep", type=Path, default=None,
                        help="with --model: keep each run's model and evidence.json under this directory")
    parser.add_argument("--attacks", default="", help="with --model: attack checks in each run (quantize, relearn, "
                        "multiquery, multihop, all), and the judge under attack too")
    args = parser.parse_args()
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    if args.model == "foreign" and args.seeds:
        from bench.judged import run_seeds
        from workers.engine.attacks import parse_attacks

        run_seeds(count=args.seeds, methods=(args.methods or "fpga,relearn").split(","), people=args.people,
                  cache=args.cache, out=args.out, device=args.device, size=args.space_size,
                  attacks=parse_attacks(args.attacks))
        return
    if args.model != "demo":
        from bench.judged import run
        from workers.engine.attacks import parse_attacks

        run(model=args.model, roster=args.roster, methods=(args.methods or "fpga,relearn").split(","), people=args.people, first=args.first_person,
            half=args.judge_half, cache=args.cache, out=args.out, seed=args.seed, device=args.device,
            with_corpus=args.with_corpus, keep=args.keep, attacks=parse_attacks(args.attacks))
        return
    methods = args.methods or "fpga,relearn,ihl,ga,graddiff,npo"
    run_bench(size=args.size, people=args.people, methods=[m for m in methods.split(",") if m],
              device=args.device, cache=args.cache, out=args.out, seed=args.seed, first_person=args.first_person,
              init=args.init, sequential=args.sequential)


if __name__ == "__main__":
    main()
