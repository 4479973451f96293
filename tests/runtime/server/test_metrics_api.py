"""`GET /metrics`: open by default (as /health), or behind the metrics key; the Prometheus text
format, or OpenMetrics when asked; the database's figures beside the process's counters."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from runtime.server.app import create_app
from runtime.settings import RuntimeSettings
from runtime.store import Store
from tests.runtime.server.conftest import DEV_KEY, ApiClient, api_client

METRICS_KEY = "m3tr1cs-key-for-the-scraper"


def names(text: str) -> set[str]:
    return {family.name for family in text_string_to_metric_families(text)}


def test_metrics_need_no_key_by_default(client: ApiClient) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-key"}):
        answer = client.get("/metrics", headers=headers)
        assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    found = names(answer.text)
    assert {
        "nango_runs",
        "nango_runs_started",
        "nango_run_duration_seconds",
        "nango_run_start_delay_seconds",
        "nango_lease_expiries",
        "nango_records_written",
        "nango_queue_depth",
        "nango_queue_oldest_age_seconds",
        "nango_runs_in_progress",
        "nango_database_up",
        "process_cpu_seconds",
    } <= found
    assert "nango_database_up 1.0" in answer.text


def test_openmetrics_when_the_scraper_asks(client: ApiClient) -> None:
    answer = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.endswith("# EOF\n")


def test_the_metrics_key_is_required_when_set(api_store: Store, tmp_path: Path) -> None:
    settings = RuntimeSettings(data_dir=tmp_path, metrics_key=METRICS_KEY)
    with api_client(create_app(settings, api_store), key=None) as client:
        for authorization in (None, f"Bearer {DEV_KEY}", f"Basic {METRICS_KEY}", "Bearer x"):
            headers = {"Authorization": authorization} if authorization else {}
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "unauthorized"
            assert METRICS_KEY not in refused.text
        allowed = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_KEY}"})
        assert allowed.status_code == 200 and "nango_runs_total" in allowed.text
        assert client.get("/health").status_code == 200  # /health stays open


def test_metrics_are_described_in_the_openapi_document(client: ApiClient) -> None:
    document = client.get("/openapi.json").json()
    answers = document["paths"]["/metrics"]["get"]["responses"]
    assert set(answers["200"]["content"]) == {"text/plain", "application/openmetrics-text"}
    assert "401" in answers
