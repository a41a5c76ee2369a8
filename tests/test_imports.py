"""Imported consumes: resolved inside the capability's folder, then used like inline ones."""

from __future__ import annotations

from pathlib import Path

from pytest_httpserver import HTTPServer

from generator.pipeline import compile_paths
from tests.conftest import FIXTURES


def test_import_location_may_not_escape_the_folder() -> None:
    compilation = compile_paths([FIXTURES / "bad_import.yaml"])
    errors = [d for d in compilation.diagnostics.errors]
    assert errors and not compilation.files
    first = errors[0]
    assert first.line == 9
    assert "inside the capability's folder" in first.message
    assert first.doc_path == ("capability", "consumes", 0, "location")


def test_missing_import_target_is_an_error(tmp_path: Path) -> None:
    source = (FIXTURES / "imports.yaml").read_text("utf-8").replace("tides-consumes", "nowhere")
    (tmp_path / "cap.yaml").write_text(source, "utf-8")
    compilation = compile_paths([tmp_path / "cap.yaml"])
    assert any("does not exist" in d.message for d in compilation.diagnostics.errors)


def test_shared_consumes_file_alone_generates_nothing() -> None:
    compilation = compile_paths([FIXTURES / "shared" / "tides-consumes.yaml"])
    assert not compilation.diagnostics.has_errors()
    assert compilation.files == {}


def test_imported_operation_is_called(load, httpserver: HTTPServer) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/tides/v1/stations/s-1/predictions").respond_with_json({"high": 3.2})
    rest = load("imports.rest")
    app = rest.create_app({"TIDES_BASE_URL": httpserver.url_for("/tides/v1"), "TIDES_TOKEN": "tok"})
    response = app.test_client().get("/v1/stations/s-1/predictions?days=2")
    assert response.status_code == 200
    assert response.get_json() == {"high": 3.2}
    request, _ = httpserver.log[-1]
    assert request.path == "/tides/v1/stations/s-1/predictions"
    assert request.args.to_dict() == {"days": "2"}
    assert request.headers["Authorization"] == "Bearer tok"
    assert request.headers["Tides-Version"] == "2026-01"
