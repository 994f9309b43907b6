"""``python -m bench.foreign build --seed N [--size tiny|default] [--out OUT] [--regression] [--threads N]``
``python -m bench.foreign judge --model DIR --truth OUT/truth --forget NAME [--forget NAME ...] [--half dev|judge]
[--base BASE_MODEL_DIR] [--samples 3] [--json FILE]``
``python -m bench.foreign subject --truth OUT/truth --name NAME [--field email --field phone]``"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _cell(key: str, after: dict[str, Any], before: dict[str, Any] | None) -> str:
    if before is None:
        return _pct(after[key])
    return f"{_pct(before[key])} -> {_pct(after[key])}"


def print_judgement(after: dict[str, Any], before: dict[str, Any] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    arrow = " (base -> model)" if before else ""
    names = ", ".join(after["forgotten"])
    for title, key in (("family", "families"), ("attribute", "attributes")):
        table = Table(title=f"leak of {names} per {title}, {after['half']} half{arrow}")
        for col in (title, "n", "exact greedy", "exact sampled", "exact all", "fuzzy"):
            table.add_column(col, justify="left" if col == title else "right")
        for name, row in after[key].items():
            was = before[key].get(name) if before else None
            table.add_row(name, str(row["n"]), *(_cell(k, row, was) if before is None or was else _pct(row[k])
                                                  for k in ("exact_greedy", "exact_sampled", "exact", "fuzzy")))
        console.print(table)
    summary = Table(title="summary" + arrow)
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    for label, key in (("leak on training prefixes (all answers)", "leak_training"),
                       ("leak on paraphrases (all answers)", "leak_paraphrase"),
                       ("worst family (exact, all answers)", "max_family_exact"),
                       ("others' accuracy (greedy exact)", "others_accuracy")):
        summary.add_row(label, _cell(key, after, before))
    per = after["others"]["per_attribute"]
    summary.add_row("others' accuracy per attribute", ", ".join(f"{k} {_pct(v)}" for k, v in per.items()))
    ppl = f"{after['perplexity']:.3f}"
    if before:
        ppl = f"{before['perplexity']:.3f} -> {ppl} ({after['perplexity'] / before['perplexity'] - 1:+.1%})"
        ratio = after["others_accuracy"] / before["others_accuracy"] if before["others_accuracy"] else float("nan")
        summary.add_row("others' accuracy ratio (model / base)", f"{ratio:.3f}")
    summary.add_row("held-out perplexity", ppl)
    summary.add_row("worst family", str(after["worst_family"]))
    summary.add_row("judge seconds", f"{after['seconds']:.1f}" + (f" + {before['seconds']:.1f}" if before else ""))
    console.print(summary)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.foreign", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build a format-space model (or the regression model) and its truth files")
    build.add_argument("--seed", type=int, default=0, help="below 100 for development; the judge draws its own "
                       "from 1000 up (python -m bench.unlearning --model foreign --seeds K)")
    build.add_argument("--out", default=None, help="a new folder (default: cached by seed under --cache)")
    build.add_argument("--cache", default=".cache/bench")
    build.add_argument("--size", default="default", choices=("tiny", "default"))
    build.add_argument("--regression", action="store_true",
                       help="the hand-written two-halves model kept as a regression case, not a format-space one")
    build.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    judge = sub.add_parser("judge", help="measure leaks and utility of a model against the truth")
    judge.add_argument("--model", required=True)
    judge.add_argument("--truth", required=True)
    judge.add_argument("--forget", action="append", default=[], required=True, help="a forgotten person's name")
    judge.add_argument("--exclude", action="append", default=[], help="leave out of others' accuracy too")
    judge.add_argument("--half", default="judge", choices=("dev", "judge", "both"))
    judge.add_argument("--base", default=None, help="also judge this (base) model and print before -> after")
    judge.add_argument("--samples", type=int, default=3)
    judge.add_argument("--seed", type=int, default=0)
    judge.add_argument("--device", default=None)
    judge.add_argument("--json", default=None, help="also write the judgement(s) to this file")
    subject = sub.add_parser("subject", help="print the subject file a person would submit to rtbf")
    subject.add_argument("--truth", required=True)
    subject.add_argument("--name", required=True)
    subject.add_argument("--field", action="append", default=None)
    args = parser.parse_args(argv)

    if args.command == "build":
        from pathlib import Path

        from bench.foreign.build import build_foreign, build_space, cached

        try:
            if args.out is None:
                target = cached(args.cache, args.seed, args.size, regression=args.regression, threads=args.threads)
                info = json.loads((target / "truth" / "build.json").read_text(encoding="utf-8"))
                info["path"] = str(target)
            else:
                builder = build_foreign if args.regression else build_space
                info = builder(Path(args.out), size=args.size, seed=args.seed, threads=args.threads)
        except (FileExistsError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(json.dumps({k: v for k, v in info.items() if k not in ("history", "formats", "questions")}, indent=2,
                         ensure_ascii=False))
        return 0
    if args.command == "subject":
        from bench.foreign.judge import subject_file

        fields = tuple(args.field) if args.field else ("email", "phone")
        print(json.dumps(subject_file(args.truth, args.name, fields), indent=2, ensure_ascii=False))
        return 0

    from bench.foreign.judge import judge as run_judge

    options = {"forgotten": args.forget, "half": args.half, "samples": args.samples, "seed": args.seed,
               "device": args.device, "exclude": args.exclude}
    after = run_judge(args.model, args.truth, **options)
    before = run_judge(args.base, args.truth, **options) if args.base else None
    print_judgement(after, before)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"model": after, "base": before}, handle, indent=2, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
