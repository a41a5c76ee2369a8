"""`ref` to aggregate functions: defined once, used by REST and MCP, overridable."""

from __future__ import annotations

import anyio
from mcp import Client
from pytest_httpserver import HTTPServer

from generator.pipeline import compile_paths
from tests.conftest import FIXTURES


def test_rest_operation_uses_the_function(load, httpserver: HTTPServer) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/berths/b-7").respond_with_json({"berth": {"id": "b-7"}, "x": 1})
    rest = load("aggregates.rest")
    response = (
        rest.create_app({"HARBOUR_BASE_URL": httpserver.url_for("")})
        .test_client()
        .get("/v1/berths/b-7")
    )
    assert response.status_code == 200
    assert response.get_json() == {"id": "b-7"}  # the function's output mapping


def test_tool_inherits_and_overrides(load, httpserver: HTTPServer) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/berths/b-2").respond_with_json({"berth": {"id": "b-2"}})
    server = load("aggregates.mcp_server").build_server(
        {"HARBOUR_BASE_URL": httpserver.url_for("")}
    )

    async def run() -> None:
        async with Client(server) as client:
            (tool,) = (await client.list_tools()).tools
            assert tool.description == "Look up one berth by its identifier."  # the tool's own
            assert tool.input_schema["required"] == ["berth_id"]  # the function's parameters
            hints = tool.annotations.model_dump(by_alias=True, exclude_none=True)
            assert hints == {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True}
            result = await client.call_tool("get-berth", {"berth_id": "b-2"})
            assert not result.is_error and result.structured_content == {"id": "b-2"}

    anyio.run(run)


def test_unknown_ref_is_an_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = (
        (FIXTURES / "aggregates.yaml")
        .read_text("utf-8")
        .replace("ref: berths.get-berth\n", "ref: berths.get-bert\n", 1)
    )
    (tmp_path / "bad.yaml").write_text(text, "utf-8")
    errors = compile_paths([tmp_path / "bad.yaml"]).diagnostics.errors
    assert any("names no aggregate function (known: berths.get-berth)" in d.message for d in errors)
