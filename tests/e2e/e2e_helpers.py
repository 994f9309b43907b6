"""Helpers shared by the browser tests (imported by name: the test folders are not packages)."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OFFICER_EMAIL = "dpo@example.org"
OFFICER_PASSWORD = "a long officer passphrase"


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: FastAPI

    def db(self) -> Session:
        return self.app.state.session_factory()


def screenshot(page: Page, name: str) -> None:
    """Saved only when RTBF_E2E_SCREENSHOTS names a folder (for looking at the pages while developing)."""
    target = os.environ.get("RTBF_E2E_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=True)


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.org"


def officer_sign_in(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/officer")
    expect(page).to_have_url(re.compile(r"/officer/login\?next="))
    screenshot(page, "00-officer-login")
    page.get_by_label("Email address").fill(OFFICER_EMAIL)
    page.get_by_label("Password").fill(OFFICER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Erasure requests")).to_be_visible()


def code_from_outbox(page: Page, server: LiveServer, reference: str) -> str:
    """The newest verification code for ``reference``, read from the outbox page as a developer would."""
    page.goto(server.url + "/officer/outbox")
    message = page.locator("article", has_text=f"Your verification code for erasure request {reference}").first
    match = re.search(r"verification code is: (\d{6})", message.inner_text())
    assert match, "no verification code in the outbox"
    return match.group(1)
