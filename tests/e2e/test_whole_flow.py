"""The whole flow in the browser, with the tiny demo model and a real Celery worker process.

A data subject files a request for a person the tiny model memorised and confirms the emailed code; the
officer registers the model, approves, runs discovery, reads the findings, starts unlearning, follows it live
(htmx polling reloads the page when the job ends), reads the before/after evidence, downloads the evidence
bundle, and ``rtbf audit verify-bundle`` checks it offline.

The live server runs in this process (a thread) against its own fresh PostgreSQL database; the worker is a
subprocess on the same database and a Redis broker, configured like production (prefork, concurrency 1).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from e2e_helpers import OFFICER_EMAIL, OFFICER_PASSWORD, LiveServer, code_from_outbox, officer_sign_in, screenshot
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.core import tasks as core_tasks
from app.core.config import Settings
from app.core.queues import make_celery
from app.main import create_app
from app.officers import service as officer_service
from app.requests.models import ErasureRequest
from tests.live_server import free_port, serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("engine-worker")]

REPO_ROOT = Path(__file__).resolve().parents[2]
JOB_TIMEOUT_MS = 300_000  # a job on the tiny model takes 20-60 s on 2 busy CPU cores; the worker starts in ~10 s


def _load(relative: str, name: str) -> ModuleType:
    # The worker subprocess helpers of tests/workers (not a package, so not importable by name from here).
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture
def flow_server(make_database: Callable[[], str], settings: Settings, redis_url: str, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
                ) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A live server and the environment of a worker sharing its database and broker.

    ``capfd`` starts before the server, so the test can read all the server wrote to stdout and stderr."""
    helpers = _load("tests/workers/worker_helpers.py", "rtbf_worker_helpers")
    database_url, port = make_database(), free_port()
    live = settings.model_copy(update={"database_url": database_url, "base_url": f"http://127.0.0.1:{port}",
                                       "redis_url": redis_url})
    # Jobs are enqueued by the after-commit hook through the web's task sender: point it at the Redis broker.
    sender = make_celery(live)
    monkeypatch.setattr(core_tasks, "task_sender", lambda: sender)
    app = create_app(live)
    with app.state.session_factory() as db:
        officer_service.create_officer(session=db, email=OFFICER_EMAIL, password=OFFICER_PASSWORD, name="Dana DPO")
        db.commit()
    env = helpers.env_for(DATABASE_URL=database_url, REDIS_URL=redis_url, RTBF_DATA_DIR=str(tmp_path / "data"),
                          RTBF_SECRET_KEY=settings.secret_key, RTBF_ENCRYPTION_KEY=settings.encryption_key,
                          RTBF_HMAC_KEY=settings.hmac_key, RTBF_JOB_DEVICE="cpu", RTBF_JOB_THREADS="1")
    with serving(app, port, name="rtbf-flow-server"):
        yield LiveServer(url=f"http://127.0.0.1:{port}", app=app), env


def _person(model_dir: Path) -> dict[str, Any]:
    return json.loads((model_dir / "roster.jsonl").read_text(encoding="utf-8").splitlines()[0])


def test_file_verify_approve_discover_unlearn_evidence_and_bundle(
    flow_server: tuple[LiveServer, dict[str, str]], new_page: Callable[[], Page], tiny_model_dir: Path,
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    server, env = flow_server
    helpers = sys.modules["rtbf_worker_helpers"]
    person = _person(tiny_model_dir)

    # 1. The subject files a request on the public form.
    subject = new_page()
    subject.goto(server.url + "/")
    subject.get_by_label("Full name").fill(person["name"])
    subject.get_by_label("Email address").fill(person["email"])
    subject.get_by_label("Phone number").fill(person["phone"])
    subject.get_by_label("Model or service concerned").fill("demo-assistant")
    subject.get_by_role("button", name="Send my request").click()
    expect(subject.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    with server.db() as db:
        reference = db.scalars(select(ErasureRequest.reference).order_by(ErasureRequest.created_at.desc())).first()
    status_url = subject.url.removesuffix("/verify")

    # 2. The code from the outbox; 3. the officer signs in and registers the model.
    officer = new_page()
    officer_sign_in(officer, server)
    subject.get_by_label("6-digit code").fill(code_from_outbox(officer, server, reference))
    subject.get_by_role("button", name="Confirm").click()
    expect(subject.get_by_text("Waiting for review").first).to_be_visible()

    officer.goto(server.url + "/officer/models")
    officer.get_by_label("Name", exact=True).fill("demo-assistant")
    officer.get_by_label("Path to the model directory").fill(str(tiny_model_dir))
    officer.get_by_role("button", name="Register the model").click()
    expect(officer.get_by_role("heading", name="Model demo-assistant")).to_be_visible()
    screenshot(officer, "20-model")

    # 4. Approve, then discovery on the worker, followed live.
    officer.goto(server.url + "/officer")
    officer.get_by_role("link", name=reference).click()
    officer.get_by_label("Ground for erasure (Art. 17(1))").select_option("consent_withdrawn")
    officer.get_by_role("button", name="Approve").click()
    expect(officer.get_by_text("Request approved.")).to_be_visible()
    log_path = tmp_path / "worker.log"
    with helpers.celery_worker(env, log_path, pool="prefork", concurrency=1):
        officer.get_by_role("button", name="Run discovery").click()
        expect(officer.locator(".job-panel[hx-trigger]")).to_be_visible()  # polling while it runs
        screenshot(officer, "21-discovery-running")
        findings = officer.get_by_role("heading", name="What the model reveals about the subject")
        expect(findings).to_be_visible(timeout=JOB_TIMEOUT_MS)  # the ended job's poll reloaded the page
        email = officer.locator('[data-attribute="email"]')
        expect(email).to_contain_text("Revealed")
        expect(email).to_contain_text(person["email"])  # an example answer, for the officer's eyes
        screenshot(officer, "22-findings")

        # 5. Unlearning with the recommended method, followed live to its verdict.
        expect(officer.get_by_label("Method")).to_have_value("fpga")
        officer.get_by_role("button", name="Start unlearning").click()
        expect(officer.get_by_text("Unlearning started.")).to_be_visible()
        evidence_link = officer.get_by_role("link", name="See the before/after evidence of the last unlearning")
        expect(evidence_link).to_be_visible(timeout=JOB_TIMEOUT_MS)
    screenshot(officer, "23-unlearning-done")
    evidence_link.click()
    expect(officer.get_by_role("heading", name="Evidence: before and after unlearning")).to_be_visible()
    expect(officer.locator("[data-summary-detail]").first).to_be_visible()  # the summary comes first
    officer.locator('details[data-fold="families"] > summary').click()  # the tables by kind of question fold below
    email_rows = officer.locator('.evidence-table tbody[data-attribute="email"]')
    expect(email_rows.locator('tr[data-family="direct"]')).to_contain_text("trained on")
    expect(email_rows.locator("tr", has_text="held out").first).to_be_visible()
    verdict = officer.locator(".evidence .notice").first.inner_text()
    screenshot(officer, "24-evidence")

    # 6. The bundle downloads and verifies offline.
    with officer.expect_download() as download:
        officer.get_by_role("link", name="Download the evidence bundle").first.click()
    bundle_path = tmp_path / "bundle.json"
    download.value.save_as(bundle_path)
    text = bundle_path.read_text(encoding="utf-8")
    for value in (person["name"], person["email"], person["phone"]):
        assert value not in text
    rtbf = Path(sys.executable).with_name("rtbf")
    checked = subprocess.run([str(rtbf), "audit", "verify-bundle", str(bundle_path)], cwd=REPO_ROOT,
                             env=env, capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0 and checked.stdout.startswith("OK"), checked.stdout + checked.stderr

    # 7. The subject sees the outcome.
    subject.goto(status_url)
    if "the removal is verified" in verdict:
        expect(subject.get_by_text("Completed").first).to_be_visible()
    else:  # the tiny model may not pass the utility bar: the request then awaits a retry
        expect(subject.get_by_text("Processing failed").first).to_be_visible()

    # 8. No log of the flow holds an identifier of the subject (typed, or revealed by the model) or the officer.
    captured = capfd.readouterr()
    logs = {"server": captured.out + captured.err, "worker": log_path.read_text(errors="replace"),
            "cli": checked.stdout + checked.stderr}
    assert '"event": "erasure.received"' in logs["server"] and " ready." in logs["worker"]  # both were captured
    for where, log in logs.items():
        for value in [*person.values(), OFFICER_EMAIL, OFFICER_PASSWORD, "Dana DPO"]:
            assert value not in log, f"the {where} log holds {value!r}"
