"""Where settings come from: environment parameters, bound hosts in base URLs, overrides."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer


def test_environment_parameter_and_bound_host(load) -> None:  # type: ignore[no-untyped-def]
    settings = load("env_params.settings")
    assert sorted(settings.REQUIRED) == ["TENANT", "reports_token"]
    assert "REPORTS_BASE_URL" in settings.OPTIONAL
    loaded = settings.load_settings({"TENANT": "acme", "reports_token": "t0k"})
    upstream = load("env_params.upstream").Client(loaded)
    assert upstream.reports.base_url == "https://acme.upstream.test/api"
    upstream.close()


def test_missing_environment_parameter_is_named(load) -> None:  # type: ignore[no-untyped-def]
    rest = load("env_params.rest")
    runtime = load("_runtime")
    with pytest.raises(runtime.ConfigurationError) as caught:
        rest.create_app({"TENANT": "acme"})
    assert "reports_token" in str(caught.value)
    assert "acme" not in str(caught.value)


def test_base_url_override_and_token(load, httpserver: HTTPServer) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/api/reports/r-1").respond_with_json({"id": "r-1"})
    rest = load("env_params.rest")
    env = {"TENANT": "acme", "reports_token": "t0k", "REPORTS_BASE_URL": httpserver.url_for("/api")}
    response = rest.create_app(env).test_client().get("/v1/reports/r-1")
    assert response.status_code == 200, response.data
    request, _ = httpserver.log[-1]
    assert request.path == "/api/reports/r-1"
    assert request.headers["Authorization"] == "Bearer t0k"
