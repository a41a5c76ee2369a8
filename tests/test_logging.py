"""Request logs: one key=value line per request and per upstream call; never a secret."""

from __future__ import annotations

import logging

import pytest
from pytest_httpserver import HTTPServer

SECRET = "sk-log-SENTINEL-41"


def test_request_and_upstream_lines(load, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/api/projects/p1/tasks/t1/runs/").respond_with_json({"ok": 1}, status=202)
    rest = load("posthog_task_runs.rest")
    app = rest.create_app({"POSTHOG_TASK_RUNS_BASE_URL": httpserver.url_for(""), "POSTHOG_API_KEY": SECRET})
    with caplog.at_level(logging.INFO, logger="capgen"):
        response = app.test_client().get("/v1/api/projects/p1/tasks/t1/runs?limit=2")
    assert response.status_code == 202
    lines = [r.getMessage() for r in caplog.records]
    upstream = [line for line in lines if line.startswith("upstream=")]
    request = [line for line in lines if line.startswith("method=GET path=")]
    assert upstream and "status=202" in upstream[0] and "duration_ms=" in upstream[0]
    assert "limit=2" not in upstream[0]  # no query string: it may carry an API key
    assert request and "status=202" in request[0] and "upstream_status=202" in request[0]
    assert all(SECRET not in line for line in lines)


def test_unreachable_upstream_is_logged_as_warning(load, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    rest = load("posthog_task_runs.rest")
    app = rest.create_app({"POSTHOG_TASK_RUNS_BASE_URL": "http://127.0.0.1:9", "POSTHOG_API_KEY": SECRET})
    with caplog.at_level(logging.INFO, logger="capgen"):
        response = app.test_client().get("/v1/api/projects/p1/tasks/t1/runs")
    assert response.status_code == 502
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and "status=unreachable" in warnings[0].getMessage()
    assert all(SECRET not in r.getMessage() and "Traceback" not in r.getMessage() for r in caplog.records)
