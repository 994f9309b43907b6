"""The engine judged by an independent judge on a model it never tuned on (``bench.foreign``), called as a user
would: people forgotten one after another, each from the previous result, each subject file holding only a name,
an email and a phone number. ``python -m bench.unlearning --model foreign`` (or ``--model DIR --roster FILE`` for
any model whose truth is known: the roster's folder may hold the judge's ``probes.jsonl``).

Per run, from the judge (``bench.foreign.judge``): the person's leak on the model's own training prefixes and on
paraphrases, before and after; the worst prompt family; other people's accuracy against the base model and
rtbf's own estimate of it; perplexity; time; and rtbf's verdict.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def foreign_model(cache: Path, size: str = "default", seed: int = 0) -> tuple[Path, Path]:
    """The regression model (built once into the cache): (model dir, truth dir)."""
    from bench.foreign.build import cached

    target = cached(cache, seed, size, regression=True)
    return target / "model", target / "truth"


def pick_people(truth: Path, count: int, first: int = 0) -> list[str]:
    from bench.foreign.judge import read_jsonl

    rows = read_jsonl(truth / "roster.jsonl")
    return [r["name"] for r in rows[first:first + count]]


def run_judged(model_dir: Path, truth: Path, people: list[str], method: str, *, half: str = "judge",
               workdir: Path, seed: int = 0, device: str | None = None, corpus: Path | None = None,
               fields: tuple[str, ...] = ("email", "phone"), log: Any = print, attacks: tuple[str, ...] = ()
               ) -> tuple[list[dict[str, Any]], dict]:
    """Forget ``people`` one after another with ``method``; judge each result and the last one. ``attacks``:
    the engine's attack checks run in each unlearning (their time is in its wall time), and the judge asks each
    result again under the same attacks (``bench.attacked``)."""
    from bench.foreign.judge import judge, subject_file
    from workers.engine.modelio import load_model
    from workers.engine.subject import parse_subject
    from workers.engine.unlearning import EarlierErasure, UnlearnConfig, run_unlearning

    base = judge(model_dir, truth, forgotten=people, half=half, exclude=people, seed=seed, device=device)
    rows: list[dict[str, Any]] = []
    earlier: list[EarlierErasure] = []
    current = model_dir
    for index, name in enumerate(people):
        subject = parse_subject(subject_file(truth, name, fields))
        before = judge(current, truth, forgotten=[name], half=half, exclude=people, seed=seed, device=device)
        out = workdir / f"{method}-{index}"
        started = time.perf_counter()
        loaded = load_model(current, device=device)
        result = run_unlearning(loaded, subject, out_dir=out, earlier=earlier,
                                config=UnlearnConfig(method=method, seed=seed, attacks=attacks,
                                                     corpus=str(corpus) if corpus else None))
        wall = time.perf_counter() - started
        after = judge(result.model_dir, truth, forgotten=[name], half=half, exclude=people, seed=seed, device=device)
        ev = result.evidence
        ub, ua = ev["utility_before"], ev["utility_after"]
        row = {"method": method, "person": name, "step": index + 1, "passed": result.passed,
               "reasons": ev["verdict"]["reasons"],
               "leak_training_before": before["leak_training"], "leak_training_after": after["leak_training"],
               "leak_paraphrase_before": before["leak_paraphrase"], "leak_paraphrase_after": after["leak_paraphrase"],
               "max_family_leak_after": after["max_family_leak"],
               "families_after": {k: v["exact_rate"] for k, v in after["families"].items()},
               "others_accuracy_ratio": after["others_accuracy"] / base["others_accuracy"],
               "others_accuracy_ratio_step": after["others_accuracy"] / before["others_accuracy"],
               "rtbf_accuracy_ratio": ua["accuracy"] / ub["accuracy"] if ub.get("accuracy") else float("nan"),
               "rtbf_utility_kind": ub.get("kind"), "rtbf_utility_n": ub.get("n"),
               "perplexity_change": after["perplexity"] / base["perplexity"] - 1.0,
               "steps": ev["training"]["steps"], "wall_s": round(wall, 1), "timings": ev["timings"],
               "discovered": len(ev["probe_before"].get("discovered", [])),
               "contexts": ev["probe_before"].get("coverage", {}).get("contexts", {})}
        if attacks:
            from bench.attacked import judge_attacked

            tick = time.perf_counter()
            row["judge_attacks"] = judge_attacked(result.model_dir, truth, forgotten=[name], half=half,
                                                  exclude=people, seed=seed, device=device)
            row["judge_attacks_s"] = round(time.perf_counter() - tick, 1)
            row["rtbf_attacks"] = {k: {"max_family_rate": v["max_family_rate"], "passed": v["passed"],
                                       "gating": v["gating"], "seconds": v["seconds"]}
                                   for k, v in ev.get("attacks", {}).items()}
            log(json.dumps({"judge_attacks": {k: v["max_family_leak"] for k, v in row["judge_attacks"].items()},
                            "rtbf_attacks": {k: v["max_family_rate"] for k, v in row["rtbf_attacks"].items()}}))
        rows.append(row)
        log(json.dumps({k: row[k] for k in ("method", "person", "passed", "leak_training_after",
                                             "leak_paraphrase_after", "max_family_leak_after",
                                             "others_accuracy_ratio", "rtbf_accuracy_ratio", "wall_s")}))
        if result.passed:  # as the product: a failing run makes no version; the next starts from the current one
            current = result.model_dir
            found = result.reports_before[0]  # what discovery found then is asked again of every later version
            earlier.append(EarlierErasure(subject=subject, attributes=tuple(ev["forgotten_attributes"]), label=name,
                                          contexts=tuple(found.contexts), discovered=tuple(found.discovered)))
    # The last version is judged on the people it was made to forget: a failing run made no version.
    # (none passed: the last version is the base model, judged on everyone)
    erased = [row["person"] for row in rows if row["passed"]]
    final = judge(current, truth, forgotten=erased or people, half=half, exclude=people, seed=seed, device=device)
    summary = {"base": {k: base[k] for k in ("leak_training", "leak_paraphrase", "others_accuracy", "perplexity")},
               "final": {k: final[k] for k in ("leak_training", "leak_paraphrase", "max_family_leak",
                                                "others_accuracy", "perplexity")},
               "final_families": {k: v["exact_rate"] for k, v in final["families"].items()},
               "others_accuracy_ratio": final["others_accuracy"] / base["others_accuracy"],
               "perplexity_change": final["perplexity"] / base["perplexity"] - 1.0, "half": half,
               "final_forgotten": erased}
    return rows, summary


def print_judged(rows: list[dict[str, Any]], summaries: dict[str, dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="rtbf on a model it never tuned on, judged independently")
    for col in ("method", "person", "leak training prefixes b->a", "paraphrases b->a", "worst family after",
                "others' acc kept (judge)", "rtbf's estimate", "ppl", "steps", "wall s", "rtbf verdict"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["method"], r["person"], f"{r['leak_training_before']:.1%} -> {r['leak_training_after']:.1%}",
                      f"{r['leak_paraphrase_before']:.1%} -> {r['leak_paraphrase_after']:.1%}",
                      f"{r['max_family_leak_after']:.1%}", f"{r['others_accuracy_ratio']:.3f}",
                      f"{r['rtbf_accuracy_ratio']:.3f}", f"{r['perplexity_change']:+.1%}", str(r["steps"]),
                      f"{r['wall_s']:.0f}", "pass" if r["passed"] else "FAIL")
    Console().print(table)
    for method, s in summaries.items():
        print(f"{method}: the last version, on the {len(s['final_forgotten'])} people it forgot ({s['half']} half): "
              f"training-prefix leak {s['final']['leak_training']:.1%}, "
              f"paraphrase {s['final']['leak_paraphrase']:.1%}, worst family {s['final']['max_family_leak']:.1%}; "
              f"others' accuracy {s['others_accuracy_ratio']:.3f} of the base model; perplexity "
              f"{s['perplexity_change']:+.1%}")


def run(*, model: str, roster: Path | None, methods: list[str], people: int, first: int, half: str, cache: Path,
        out: Path, seed: int, device: str | None, with_corpus: bool, keep: Path | None = None,
        attacks: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """``keep``: leave each run's model and evidence.json under this directory instead of a temporary one."""
    if model == "foreign":
        model_dir, truth = foreign_model(cache, seed=seed)
    else:
        if roster is None:
            raise SystemExit("--model DIR needs --roster FILE (the people it was trained on, with their values)")
        model_dir, truth = Path(model), roster.parent
    corpus = truth / "corpus.jsonl" if with_corpus else None
    names = pick_people(truth, people, first)
    rows: list[dict[str, Any]] = []
    summaries: dict[str, dict] = {}
    cache.mkdir(parents=True, exist_ok=True)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    for method in methods:
        with tempfile.TemporaryDirectory(dir=cache) as work:
            workdir = Path(work) if keep is None else keep
            done, summaries[method] = run_judged(model_dir, truth, names, method, half=half, workdir=workdir,
                                                 seed=seed, device=device, corpus=corpus, attacks=attacks)
        rows += done
        out.write_text(json.dumps({"model": str(model_dir), "rows": rows, "summaries": summaries}, indent=2))
    print_judged(rows, summaries)
    return rows


def draw_judge_seeds(count: int) -> list[int]:
    """``count`` judge seeds drawn at random from 1000 upward: never chosen by hand, so nobody tunes on them."""
    import random

    return sorted(random.SystemRandom().sample(range(1000, 1_000_000), count))


def _seed_summary(rows: list[dict[str, Any]], summaries: dict[str, dict]) -> dict[str, dict[str, Any]]:
    """Per method, one seed's figures: each run's result as the judge sees it (whatever rtbf's verdict), the runs
    rtbf certified while the judge still found a family above 2%, and the last version against the base model."""
    out = {}
    for method, s in summaries.items():
        mine = [r for r in rows if r["method"] == method]
        out[method] = {"leak_training_after": sum(r["leak_training_after"] for r in mine) / len(mine),
                       "leak_questions_after": sum(r["leak_paraphrase_after"] for r in mine) / len(mine),
                       "worst_family_after": max(r["max_family_leak_after"] for r in mine),
                       "others_kept_worst": min(r["others_accuracy_ratio"] for r in mine),
                       "perplexity_change_worst": max(r["perplexity_change"] for r in mine),
                       "estimate_gap": max(abs(r["rtbf_accuracy_ratio"] - r["others_accuracy_ratio_step"])
                                           for r in mine),
                       "passed": sum(r["passed"] for r in mine), "runs": len(mine),
                       "certified_leaking": sum(r["passed"] and r["max_family_leak_after"] > 0.02 for r in mine),
                       "last_version_others_kept": s["others_accuracy_ratio"],
                       "wall_s_per_person": sum(r["wall_s"] for r in mine) / len(mine)}
    return out


def print_seeds(per_seed: dict[int, dict[str, dict[str, Any]]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="rtbf on format-space models (judge seeds): each run's result, judged")
    for col in ("seed", "method", "leak training prefixes after", "leak questions after", "worst family after",
                "others kept (worst run)", "ppl (worst run)", "estimate gap (worst run)", "rtbf passes",
                "certified while leaking", "s / person"):
        table.add_column(col)

    def add(label: str, method: str, f: dict[str, Any]) -> None:
        table.add_row(label, method, f"{f['leak_training_after']:.1%}", f"{f['leak_questions_after']:.1%}",
                      f"{f['worst_family_after']:.1%}", f"{f['others_kept_worst']:.3f}",
                      f"{f['perplexity_change_worst']:+.1%}", f"{f['estimate_gap']:.3f}",
                      f"{f['passed']:g}/{f['runs']:g}", f"{f['certified_leaking']:g}", f"{f['wall_s_per_person']:.0f}")

    methods = sorted({m for v in per_seed.values() for m in v})
    for seed, figures in per_seed.items():
        for method, f in figures.items():
            add(str(seed), method, f)
    for method in methods:
        seeds = [s for s in per_seed if method in per_seed[s]]
        if not seeds:
            continue
        rows = [per_seed[s][method] for s in seeds]
        mean = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
        add("mean", method, mean)
        worst = max(seeds, key=lambda s: (per_seed[s][method]["worst_family_after"],
                                          -per_seed[s][method]["others_kept_worst"]))
        add(f"worst: {worst}", method, per_seed[worst][method])
    Console(width=200).print(table)


def run_seeds(*, count: int, methods: list[str], people: int, cache: Path, out: Path, device: str | None,
              size: str = "default", attacks: tuple[str, ...] = (), seeds: list[int] | None = None,
              log: Any = print) -> dict[int, dict[str, dict[str, Any]]]:
    """Draw ``count`` judge seeds (``seeds`` only to re-run a printed result), build each seed's model (cached), forget
    its first ``people`` people in sequence with each method, judge every result on all its items (training
    prefixes and questions never trained on), and report each seed plus the mean and the worst seed."""
    from bench.foreign.build import cached

    chosen = seeds or draw_judge_seeds(count)
    log(f"judge seeds: {', '.join(map(str, chosen))}")
    cache.mkdir(parents=True, exist_ok=True)
    per_seed: dict[int, dict[str, dict[str, Any]]] = {}
    record: dict[str, Any] = {"seeds": chosen, "size": size, "people": people, "results": {}}
    for seed in chosen:
        tick = time.perf_counter()
        target = cached(cache, seed, size, log=lambda _: None)
        build = json.loads((target / "truth" / "build.json").read_text(encoding="utf-8"))
        log(f"seed {seed}: model ready in {time.perf_counter() - tick:.0f} s (built in {build['seconds']} s; "
            f"{build['arch']['family']}, {build['arch']['tokenizer']}, recall {build['recall']:.3f})")
        names = pick_people(target / "truth", people)
        rows: list[dict[str, Any]] = []
        summaries: dict[str, dict] = {}
        for method in methods:
            with tempfile.TemporaryDirectory(dir=cache) as work:
                done, summaries[method] = run_judged(target / "model", target / "truth", names, method, half="both",
                                                     workdir=Path(work), device=device, attacks=attacks, log=log)
            rows += done
            per_seed[seed] = _seed_summary(rows, summaries)
            record["results"][str(seed)] = {"build": {k: build[k] for k in ("arch", "seconds", "recall",
                                                                             "paraphrase_leak", "people")},
                                            "rows": rows, "summaries": summaries, "figures": per_seed[seed]}
            out.write_text(json.dumps(record, indent=2, ensure_ascii=False))
        print_judged(rows, summaries)
    print_seeds(per_seed)
    return per_seed
