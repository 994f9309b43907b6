"""Run a whole request through the API and the services in a fresh process; its log (and /metrics) must hold no
personal data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NAME, EMAIL, PHONE = "Marguerite Yourcenar", "marguerite.y@example.org", "+33 6 12 34 56 78"

FLOW = f"""
import logging
from fastapi.testclient import TestClient
from app.apikeys import service as apikeys
from app.main import create_app
app = create_app()
with app.state.session_factory() as db:
    _, token = apikeys.create_key(session=db, name='t', scopes=['requests:write', 'requests:review', 'requests:read'])
    db.commit()
h = {{'Authorization': 'Bearer ' + token}}
with TestClient(app) as c:
    r = c.post('/api/v1/requests', headers=h, json={{'full_name': {NAME!r}, 'email': {EMAIL!r}, 'phone': {PHONE!r},
               'details': 'Please forget {NAME}'}})
    assert r.status_code == 201, r.text
    rid = r.json()['id']
    assert c.post(f'/api/v1/requests/{{rid}}/extend', headers=h, json={{'months': 1, 'reason': 'About {NAME}'}}).status_code == 200
    assert c.post(f'/api/v1/requests/{{rid}}/deny', headers=h, json={{'ground': 'legal_claims', 'reason': '{NAME} sued'}}).status_code == 200
    assert c.post('/api/v1/requests', headers=h, json={{'full_name': {NAME!r}, 'email': 'not-an-email'}}).status_code == 422
    m = c.get('/metrics')
    assert m.status_code == 200
    print(m.text)  # checked with the log: no label may carry a subject's data
logging.getLogger('rtbf.check').warning('flow.done')
"""


def test_a_full_flow_logs_no_personal_data(make_database, settings) -> None:
    env = dict(os.environ, DATABASE_URL=make_database(), RTBF_DATA_DIR=str(settings.data_dir), RTBF_LOG_LEVEL="DEBUG",
               PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run([sys.executable, "-c", FLOW], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "flow.done" in output and "erasure.received" in output and "erasure.denied" in output
    assert 'rtbf_erasure_requests{status="denied"} 1.0' in output
    received = next(line for line in output.splitlines() if '"erasure.received"' in line)
    assert '"http_request_id"' in received  # the line can be tied to its HTTP request
    for value in (NAME, EMAIL, PHONE, "Marguerite", "marguerite"):
        assert value not in output
