"""Officer settings: which attack checks run on every unlearning job, and which of them gate the verdict.

Each attack is off, reported (its leak rates go into the evidence) or gating (a leak fails the verification).
Saving stores the choice (``app.jobs.attacks.set_policy``) and audits it with the attack names only; the next
job uses it. The API may still override it per job (``startUnlearning``'s ``attacks`` / ``gating_attacks``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.core.errors import DomainError, InvalidInput
from app.jobs import attacks as attack_policy
from app.pages.dependencies import BrowserSession, CsrfForm, CurrentOfficer, PageDb
from app.pages.routing import PageRoute, discard_changes
from app.pages.templating import redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MODES = {attack_policy.OFF: "Off", attack_policy.REPORT: "Report only",
         attack_policy.GATE: "Gate the verdict"}


@router.get("/officer/settings", name="officer_settings")
def settings_page(request: Request, officer: CurrentOfficer, db: PageDb) -> Response:
    policy = attack_policy.current_policy(session=db)
    return render(request, "officer/settings.html", {
        "attacks": attack_policy.ATTACK_CHOICES, "labels": attack_policy.ATTACK_LABELS, "modes": MODES,
        "chosen": {name: policy.mode(name) for name in attack_policy.ATTACK_CHOICES},
        "defaults": attack_policy.DEFAULT_POLICY, "bar": attack_policy.MAX_LEAK_RATE,
    })


@router.post("/officer/settings/attacks", name="officer_settings_attacks")
def save_attacks(request: Request, form: CsrfForm, officer: CurrentOfficer, db: PageDb,
                 browser: BrowserSession) -> Response:
    try:
        chosen = {name: str(form.get(f"attack_{name}") or attack_policy.OFF) for name in attack_policy.ATTACK_CHOICES}
        bad = sorted(name for name, mode in chosen.items() if mode not in MODES)
        if bad:
            raise InvalidInput(f"Choose off, report only or gate for {', '.join(bad)}.", details={"field": bad[0]})
        changed = attack_policy.set_policy(
            session=db, actor=f"officer:{officer.id}",
            attacks=[n for n, mode in chosen.items() if mode != attack_policy.OFF],
            gating=[n for n, mode in chosen.items() if mode == attack_policy.GATE])
    except DomainError as exc:
        discard_changes(request, exc)
        browser.flash(f"Nothing was changed: {exc.message}", "error")
        return redirect("/officer/settings")
    if changed is None:
        browser.flash("Nothing was changed: the attack checks were already set this way.")
    else:
        said = ", ".join(f"{attack_policy.ATTACK_LABELS[n]} ({'gates' if n in changed.gating else 'reported'})"
                         for n in changed.attacks) or "none"
        browser.flash(f"Attack checks saved; the next unlearning job runs: {said}. The change is in the audit log.")
    return redirect("/officer/settings")
