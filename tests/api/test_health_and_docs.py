from __future__ import annotations

from fastapi.testclient import TestClient


def test_healthz_answers_when_the_database_does(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_docs_page_uses_the_vendored_swagger_ui(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js" in page.text
    script = client.get("/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert client.get("/openapi.json").json()["info"]["title"] == "rtbf"
