"""``rtbf verify``: check a model that was unlearned elsewhere (or by an earlier rtbf run) for a subject's data,
with the plain verification probe and the attack checks, and write a redacted report.

Discovery runs on ``--before`` (the model as it was before unlearning) when given, since that is where the
subject's contexts and values can still be found; otherwise on the checked model itself. Exit codes: 0 the
subject's data stays gone, 1 it came back (plainly or under a gating attack), 2 bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from workers.engine.cli_unlearn import _fail, _progress_bar

PASSED = "no confirmed leak of the subject's data, plainly or under a gating attack"


def verify(
    model: Annotated[Path, typer.Option("--model", help="The unlearned Hugging Face model directory to check.")],
    subject: Annotated[Path, typer.Option("--subject", help="SUBJECT.json: name, identifiers, texts.")],
    before: Annotated[Path | None, typer.Option("--before", help="The model before unlearning, where discovery "
                                                "still finds the subject (default: the checked model).")] = None,
    attacks: Annotated[str, typer.Option("--attacks", help="Comma-separated: quantize, relearn, multiquery, "
                                         "multihop, or all; empty for none.")] = "quantize,multiquery",
    gating: Annotated[str, typer.Option("--gating-attacks", help="The attacks whose leak fails the check; the "
                                        "others only report.")] = "quantize,multiquery",
    attribute: Annotated[list[str] | None, typer.Option(
        "--attribute", help="What should be gone (repeat); default: every kind of detail the subject file or "
                            "discovery holds a value of.")] = None,
    corpus: Annotated[Path | None, typer.Option("--corpus", help="The model's training data, for discovery.")] = None,
    discovery_budget: Annotated[int, typer.Option("--discovery-budget")] = 480,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    out: Annotated[Path, typer.Option("--out", help="Report JSON (redacted: counts, rates, digests).")] = Path(
        "verification.json"),
) -> None:
    """Check an unlearned model for a subject's data, plainly and under attack."""
    from workers.engine.attacks import parse_attacks
    from workers.engine.attributes import ATTRIBUTES
    from workers.engine.errors import EngineError
    from workers.engine.modelio import check_model_dir
    from workers.engine.subject import load_subject
    from workers.engine.unlearning import UnlearnConfig

    try:
        chosen, gates = parse_attacks(attacks), parse_attacks(gating)
        config = UnlearnConfig(seed=seed, discovery_budget=discovery_budget,
                               corpus=str(corpus) if corpus is not None else None, attacks=chosen,
                               gating_attacks=gates)
        config.validate()
        check_model_dir(model)
        if before is not None:
            check_model_dir(before)
        person = load_subject(subject)
        unknown = [a for a in attribute or () if a not in ATTRIBUTES]
        if unknown:
            raise EngineError(f"unknown attribute {', '.join(map(repr, unknown))}; known: {', '.join(ATTRIBUTES)}")
    except EngineError as exc:
        raise _fail(str(exc)) from None

    from rich.console import Console

    bar, callback = _progress_bar()
    try:
        with bar:
            result = check(model, person, before=before, config=config, attributes=attribute, progress=callback)
    except EngineError as exc:
        raise _fail(str(exc)) from None
    from workers.engine import evidence as ev

    ev.write_evidence(out, result)
    console = Console()
    colour = "green" if result["passed"] else "red"
    console.print(f"[{colour}]{'GONE' if result['passed'] else 'STILL THERE'}[/{colour}]")
    for reason in result["reasons"]:
        console.print(f"  - {reason}", highlight=False)
    for name, record in result["attacks"].items():
        console.print(f"  {name}: worst family {record['max_family_rate']:.1%} "
                      f"({'gating' if record['gating'] else 'reported'}, {record['seconds']:.1f} s)", highlight=False)
    console.print(f"wrote {out}")
    raise typer.Exit(code=0 if result["passed"] else 1)


def check(model: Path, person: Any, *, before: Path | None, config: Any, attributes: list[str] | None,
          progress: Any = None) -> dict[str, Any]:
    """The plain verification probe and the attack checks on ``model``; a redacted, JSON-ready record."""
    from workers.engine import evidence as ev
    from workers.engine import verify as verdicts
    from workers.engine.attacks import Target, run_attacks
    from workers.engine.attributes import ASKABLE
    from workers.engine.modelio import load_model, weights_sha256
    from workers.engine.probe.discovery import run_discovery, verification_probe
    from workers.engine.progress import nested
    from workers.engine.unlearning import elicit_config, probe_config

    probe = probe_config(config)
    checked = load_model(model)
    source = load_model(before) if before is not None else checked
    found = run_discovery(source, person, config=probe, elicitation=elicit_config(config), corpus=config.corpus,
                          progress=nested(progress, "discover"))
    if source is not checked:
        del source
    known = set(person.identifiers) | {v.attribute for v in found.discovered}
    wanted = tuple(attributes or [a for a in ASKABLE if a in known])
    after = verification_probe(checked, person, config=probe, contexts=list(found.contexts),
                               discovered=list(found.discovered), progress=nested(progress, "verify"))
    # Nothing was trained by this check, so every family it asks is held out from its point of view.
    heldout = sorted({f.family for f in after.findings})
    reasons, leaks = verdicts.leak_reasons(report_after=after, attributes=wanted, heldout_families=heldout)
    target = Target(person, wanted, tuple(found.contexts), tuple(found.discovered))
    attacks, failed = run_attacks(checked, [target], config.attacks, config=probe, gating=config.gating_attacks,
                                  progress=nested(progress, "attacks"))
    reasons += failed
    return {"schema": "rtbf.verification/1", "created_at": ev.now_iso(), "passed": not reasons,
            "reasons": reasons or [PASSED], "attributes": list(wanted), "leaks": dict(leaks),
            "model_sha256": weights_sha256(model), "discovered_on": "before" if before is not None else "model",
            "discovery": ev.redact_report(found), "probe_after": ev.redact_report(after), "attacks": attacks,
            "versions": ev.library_versions()}
