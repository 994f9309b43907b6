"""Time the whole product flow as a new user meets it, in a browser, against a running ``rtbf up``.

``python -m bench.demo_flow --password PW --person 2 [--url http://127.0.0.1:8000] [--details full|email]
[--include-candidates] [--data-dir var]``

Files a request for a demo person on the public form (name and email, or every detail ``rtbf up`` prints),
confirms the code from the outbox, approves as the officer, runs discovery and unlearning from the request
page, and prints the seconds each job took (from the click to the page showing its outcome), the verdict and
what the subject's status page says. Needs the ``test`` extra (playwright) and Debian's chromium.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
JOB_TIMEOUT_MS = 1_800_000


def _person(data_dir: Path, index: int) -> dict[str, str]:
    from app.cli.demo import demo_people
    from app.core.config import Settings

    settings = Settings(data_dir=data_dir)
    return vars(demo_people(settings.demo_model_dir, count=index + 1)[index])


def run(*, url: str, password: str, person: dict[str, str], full: bool, include_candidates: bool,
        officer_email: str) -> dict[str, object]:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        subject = browser.new_page()
        subject.goto(url + "/")
        subject.get_by_label("Full name").fill(person["name"])
        subject.get_by_label("Email address").fill(person["email"])
        if full:
            subject.get_by_label("Phone number").fill(person["phone"])
            subject.get_by_label("Postal address").fill(person["address"])
            subject.get_by_label("Other identifiers").fill(person["other_identifiers"])
        subject.get_by_role("button", name="Send my request").click()
        expect(subject.get_by_role("heading", name="Confirm your email address")).to_be_visible()
        reference = re.search(r"RTBF-[0-9A-Z]{6}", subject.content()).group(0)  # type: ignore[union-attr]

        officer = browser.new_page()
        officer.goto(url + "/officer")
        officer.get_by_label("Email address").fill(officer_email)
        officer.get_by_label("Password").fill(password)
        officer.get_by_role("button", name="Sign in").click()
        officer.goto(url + "/officer/outbox")
        message = officer.locator("article", has_text=f"Your verification code for erasure request {reference}").first
        code = re.search(r"verification code is: (\d{6})", message.inner_text()).group(1)  # type: ignore[union-attr]
        subject.get_by_label("6-digit code").fill(code)
        subject.get_by_role("button", name="Confirm").click()

        officer.goto(url + "/officer")
        officer.get_by_role("link", name=reference).click()
        officer.get_by_label("Ground for erasure (Art. 17(1))").select_option("consent_withdrawn")
        officer.get_by_role("button", name="Approve").click()
        started = time.perf_counter()
        officer.get_by_role("button", name="Run discovery").click()
        findings = officer.get_by_role("heading", name="What the model reveals about the subject")
        expect(findings).to_be_visible(timeout=JOB_TIMEOUT_MS)
        discovery_s = time.perf_counter() - started

        if include_candidates:
            for box in officer.locator("input[name=include]").all():
                box.check()
        started = time.perf_counter()
        officer.get_by_role("button", name="Start unlearning").click()
        evidence = officer.get_by_role("link", name="See the before/after evidence of the last unlearning")
        expect(evidence).to_be_visible(timeout=JOB_TIMEOUT_MS)
        unlearning_s = time.perf_counter() - started
        evidence.click()
        verdict = officer.locator(".evidence .notice").first.inner_text()
        subject.reload()
        status = subject.locator(".badge").first.inner_text()
        browser.close()
    return {"reference": reference, "details": "full" if full else "email", "include_candidates": include_candidates,
            "discovery_s": round(discovery_s, 1), "unlearning_s": round(unlearning_s, 1),
            "verdict": " ".join(verdict.split()), "subject_status": status}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--password", required=True, help="the officer password rtbf up printed")
    parser.add_argument("--officer-email", default="officer@rtbf.example")
    parser.add_argument("--person", type=int, default=0, help="which demo person (0 = the first rtbf up printed)")
    parser.add_argument("--details", choices=("full", "email"), default="full")
    parser.add_argument("--include-candidates", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=Path("var"), help="rtbf up's data dir (for the roster)")
    args = parser.parse_args(argv)
    result = run(url=args.url.rstrip("/"), password=args.password, person=_person(args.data_dir, args.person),
                 full=args.details == "full", include_candidates=args.include_candidates,
                 officer_email=args.officer_email)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
