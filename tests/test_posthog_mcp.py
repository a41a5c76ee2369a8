"""The generated PostHog MCP server, in-process (``mcp.Client(server)``), against a local upstream."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from mcp import Client
from mcp.shared.exceptions import MCPError
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import POSTHOG, load_module

SECRET = "sk-capgen-mcp-Hh3pR81w"
BASE_ENV = "POSTHOG_TASK_RUNS_BASE_URL"
KEY_ENV = "POSTHOG_API_KEY"

P, T, R = "proj-9", "task-3", "run-77"
UP = f"/api/projects/{P}/tasks/{T}/runs/"

pytestmark = pytest.mark.anyio


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class ToolCase:
    tool: str
    arguments: dict[str, Any]
    method: str
    raw_path: str
    query: str
    body: Any
    read_only: bool
    idempotent: bool


def args(**extra: Any) -> dict[str, Any]:
    return {"project_id": P, "task_id": T, **extra}


def run_args(**extra: Any) -> dict[str, Any]:
    return args(id=R, **extra)


CASES = [
    ToolCase(
        "list-task-runs", args(limit=5, offset=0), "GET", UP, "limit=5&offset=0", None, True, True
    ),
    ToolCase(
        "create-task-run", args(body={"title": "x"}), "POST", UP, "", {"title": "x"}, False, False
    ),
    ToolCase("api-managing-task-runs-each", run_args(), "GET", f"{UP}{R}/", "", None, True, True),
    ToolCase(
        "update-task-run",
        run_args(body={"status": "done"}),
        "PATCH",
        f"{UP}{R}/",
        "",
        {"status": "done"},
        False,
        True,
    ),
    ToolCase(
        "append-log-entries",
        run_args(body={"entries": ["é"]}),
        "POST",
        f"{UP}{R}/append_log/",
        "",
        {"entries": ["é"]},
        False,
        False,
    ),
    ToolCase(
        "upload-artifacts-task-run",
        run_args(body={"a": 1}),
        "POST",
        f"{UP}{R}/artifacts/",
        "",
        {"a": 1},
        False,
        False,
    ),
    ToolCase(
        "download-artifact-through-backend",
        run_args(body={"k": "v"}),
        "POST",
        f"{UP}{R}/artifacts/download/",
        "",
        {"k": "v"},
        False,
        False,
    ),
    ToolCase(
        "finalize-direct-uploads-task-run",
        run_args(body={"u": []}),
        "POST",
        f"{UP}{R}/artifacts/finalize_upload/",
        "",
        {"u": []},
        False,
        False,
    ),
    ToolCase(
        "prepare-direct-uploads-task-run",
        run_args(body={"f": [{"n": 1}]}),
        "POST",
        f"{UP}{R}/artifacts/prepare_upload/",
        "",
        {"f": [{"n": 1}]},
        False,
        False,
    ),
    ToolCase(
        "generate-presigned-url-artifact",
        run_args(body={"p": "x"}),
        "POST",
        f"{UP}{R}/artifacts/presign/",
        "",
        {"p": "x"},
        False,
        False,
    ),
    ToolCase(
        "send-command-agent-server",
        run_args(body={"command": "stop"}),
        "POST",
        f"{UP}{R}/command/",
        "",
        {"command": "stop"},
        False,
        False,
    ),
    ToolCase(
        "get-sandbox-connection-token",
        run_args(),
        "GET",
        f"{UP}{R}/connection_token/",
        "",
        None,
        True,
        True,
    ),
    ToolCase("get-task-run-logs", run_args(), "GET", f"{UP}{R}/logs/", "", None, True, True),
    ToolCase(
        "relay-run-message-slack",
        run_args(body={"text": "hi"}),
        "POST",
        f"{UP}{R}/relay_message/",
        "",
        {"text": "hi"},
        False,
        False,
    ),
    ToolCase(
        "resume-task-run-cloud",
        run_args(),
        "POST",
        f"{UP}{R}/resume_in_cloud/",
        "",
        None,
        False,
        False,
    ),
    ToolCase(
        "get-filtered-task-run-session",
        run_args(offset=2, limit=10, event_types="a,b", after="2026-01-01", exclude_types="x"),
        "GET",
        f"{UP}{R}/session_logs/",
        "after=2026-01-01&event_types=a%2Cb&exclude_types=x&limit=10&offset=2",
        None,
        True,
        True,
    ),
    ToolCase(
        "set-run-output",
        run_args(body={"output": {"k": [1]}}),
        "PATCH",
        f"{UP}{R}/set_output/",
        "",
        {"output": {"k": [1]}},
        False,
        True,
    ),
    ToolCase("start-task-run", run_args(), "POST", f"{UP}{R}/start/", "", None, False, False),
    ToolCase(
        "api-managing-task-runs-each-2", run_args(), "GET", f"{UP}{R}/stream/", "", None, True, True
    ),
]


# ---------------------------------------------------------------------------------------------
# Fixtures


@dataclass
class Seen:
    method: str
    raw_path: str
    query: str
    headers: dict[str, str]
    body: bytes


class Upstream:
    def __init__(self, server: HTTPServer):
        self.server = server
        self.seen: list[Seen] = []
        self.status = 200
        self.content_type = "application/json"
        self.payload: bytes | None = None
        server.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    def _handle(self, request: Request) -> Response:
        raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI", "")
        raw_path, _, query = raw.partition("?")
        self.seen.append(
            Seen(
                request.method,
                raw_path,
                query,
                {k.lower(): v for k, v in request.headers.items()},
                request.get_data(),
            )
        )
        body = self.payload
        if body is None:
            body = json.dumps({"echo": request.method, "path": raw_path}).encode()
        return Response(body, status=self.status, content_type=self.content_type)


@pytest.fixture()
def upstream(httpserver_ipv4: HTTPServer) -> Upstream:
    return Upstream(httpserver_ipv4)


@pytest.fixture(scope="module")
def mcp_module(generated_tree: Path):  # type: ignore[no-untyped-def]
    return load_module(generated_tree, "posthog_task_runs.mcp_server")


@pytest.fixture(scope="module")
def server(mcp_module, make_httpserver_ipv4: HTTPServer):  # type: ignore[no-untyped-def]
    url = f"http://127.0.0.1:{make_httpserver_ipv4.port}"
    return mcp_module.build_server({BASE_ENV: url, KEY_ENV: SECRET})


@pytest.fixture(scope="module")
def capability() -> dict[str, Any]:
    return yaml.safe_load(POSTHOG.read_text(encoding="utf-8"))


def mcp_adapter(capability: dict[str, Any]) -> dict[str, Any]:
    (adapter,) = [e for e in capability["capability"]["exposes"] if e["type"] == "mcp"]
    return adapter


def error_text(result: Any) -> str:
    return " ".join(getattr(item, "text", "") for item in result.content)


# ---------------------------------------------------------------------------------------------
# Listing


async def test_lists_exactly_the_declared_tools(server, capability) -> None:  # type: ignore[no-untyped-def]
    declared = [tool["name"] for tool in mcp_adapter(capability)["tools"]]
    async with Client(server) as client:
        listed = (await client.list_tools()).tools
    names = [tool.name for tool in listed]
    assert len(names) == 19
    assert names == declared
    assert set(names) == {case.tool for case in CASES}


async def test_instructions_are_the_adapter_description(server, capability) -> None:  # type: ignore[no-untyped-def]
    async with Client(server) as client:
        assert client.instructions == mcp_adapter(capability)["description"]
        assert client.server_info.name == "posthog-task-runs-mcp"


async def test_schemas(server, capability) -> None:  # type: ignore[no-untyped-def]
    declared = {tool["name"]: tool for tool in mcp_adapter(capability)["tools"]}
    async with Client(server) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    for name, tool in listed.items():
        schema = tool.input_schema
        assert schema["type"] == "object"
        props = schema["properties"]
        required = set(schema.get("required", []))
        assert {"project_id", "task_id"} <= required, name
        assert props["project_id"]["type"] == "string"
        assert props["task_id"]["type"] == "string"
        if "id" in props:
            assert props["id"]["type"] == "string"
            assert "id" in required
        for query in ("limit", "offset"):
            if query in props:
                assert props[query]["type"] == "integer"
                assert query not in required
        for text in ("after", "event_types", "exclude_types"):
            if text in props:
                assert props[text]["type"] == "string"
                assert text not in required
        if "body" in props:
            assert props["body"]["type"] == "object"
        # the arguments are exactly what the tool maps, plus the implicit project_id
        assert set(props) == set(declared[name].get("with", {})) | {"project_id"}, name
        assert tool.description == declared[name]["description"]
    # body required exactly where the consumed operation says so
    assert "body" in listed["append-log-entries"].input_schema["required"]
    assert "body" in listed["send-command-agent-server"].input_schema["required"]
    assert "body" not in listed["create-task-run"].input_schema["required"]
    assert "body" not in listed["start-task-run"].input_schema["required"]
    assert "body" not in listed["update-task-run"].input_schema["required"]


@pytest.mark.parametrize("case", CASES, ids=[c.tool for c in CASES])
async def test_annotations_follow_hints(server, capability, case: ToolCase) -> None:  # type: ignore[no-untyped-def]
    hints = {t["name"]: t["hints"] for t in mcp_adapter(capability)["tools"]}[case.tool]
    async with Client(server) as client:
        (tool,) = [t for t in (await client.list_tools()).tools if t.name == case.tool]
    annotations = tool.annotations
    assert annotations is not None
    assert annotations.read_only_hint is hints["readOnly"] is case.read_only
    assert annotations.destructive_hint is hints["destructive"] is False
    assert annotations.idempotent_hint is hints["idempotent"] is case.idempotent
    assert (case.method == "GET") == case.read_only


# ---------------------------------------------------------------------------------------------
# Calls


@pytest.mark.parametrize("case", CASES, ids=[c.tool for c in CASES])
async def test_call_reaches_upstream(server, upstream: Upstream, case: ToolCase) -> None:  # type: ignore[no-untyped-def]
    async with Client(server) as client:
        result = await client.call_tool(case.tool, case.arguments)
    assert not result.is_error, error_text(result)
    assert len(upstream.seen) == 1
    seen = upstream.seen[0]
    assert seen.method == case.method
    assert seen.raw_path == case.raw_path
    assert seen.query == case.query
    assert seen.headers["authorization"] == f"Bearer {SECRET}"
    if case.body is None:
        assert seen.body == b""
    else:
        assert seen.headers["content-type"].startswith("application/json")
        assert json.loads(seen.body) == case.body
    expected = {"echo": case.method, "path": case.raw_path}
    assert result.structured_content == expected
    assert json.loads(result.content[0].text) == expected
    assert SECRET not in result.content[0].text


async def test_path_values_are_single_segments(server, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    async with Client(server) as client:
        result = await client.call_tool(
            "get-task-run-logs", {"project_id": "a/b", "task_id": "../../admin", "id": "x?y=1#z"}
        )
    assert not result.is_error, error_text(result)
    assert (
        upstream.seen[0].raw_path
        == "/api/projects/a%2Fb/tasks/..%2F..%2Fadmin/runs/x%3Fy%3D1%23z/logs/"
    )
    assert upstream.seen[0].query == ""


@pytest.mark.parametrize("value", ["..", ".", ""])
async def test_dot_path_values_rejected(server, upstream: Upstream, value: str) -> None:  # type: ignore[no-untyped-def]
    async with Client(server) as client:
        result = await client.call_tool("get-task-run-logs", run_args(task_id=value))
    assert result.is_error
    assert "task_id" in error_text(result)
    assert upstream.seen == []


@pytest.mark.parametrize("status", [404, 500])
async def test_upstream_error_is_tool_error(server, upstream: Upstream, status: int) -> None:  # type: ignore[no-untyped-def]
    upstream.status = status
    upstream.payload = json.dumps({"detail": f"run not here {status}"}).encode()
    async with Client(server) as client:
        result = await client.call_tool("api-managing-task-runs-each", run_args())
    assert result.is_error
    text = error_text(result)
    assert str(status) in text
    assert f"run not here {status}" in text
    assert SECRET not in text
    assert len(upstream.seen) == 1


async def test_upstream_429_is_tool_error(server, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.status = 429
    upstream.payload = b'{"detail":"throttled"}'
    async with Client(server) as client:
        result = await client.call_tool("get-task-run-logs", run_args())
    assert result.is_error
    assert "429" in error_text(result)


async def test_upstream_html_is_tool_error(server, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.content_type = "text/html"
    upstream.payload = b"<html>login</html>"
    async with Client(server) as client:
        result = await client.call_tool("get-task-run-logs", run_args())
        assert result.is_error
        assert "JSON" in error_text(result)
        # the same server still answers correctly afterwards
        upstream.content_type = "application/json"
        upstream.payload = b'{"id": "ok"}'
        again = await client.call_tool("get-task-run-logs", run_args())
    assert not again.is_error
    assert again.structured_content == {"id": "ok"}


async def test_unreachable_upstream_is_tool_error(mcp_module) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = mcp_module.build_server({BASE_ENV: f"http://127.0.0.1:{port}", KEY_ENV: SECRET})
    async with Client(dead) as client:
        result = await client.call_tool("get-task-run-logs", run_args())
    assert result.is_error
    text = error_text(result)
    assert "reach" in text
    assert SECRET not in text


# ---------------------------------------------------------------------------------------------
# Bad calls: nothing reaches the upstream


@pytest.mark.parametrize(
    ("tool", "arguments", "named"),
    [
        ("list-task-runs", {"task_id": T}, "project_id"),
        ("get-task-run-logs", {"project_id": P, "task_id": T}, "id"),
        ("send-command-agent-server", run_args(), "body"),
        ("list-task-runs", args(limit="x"), "limit"),
        ("list-task-runs", args(limit=1.5), "limit"),
        ("list-task-runs", args(offset=True), "offset"),
        ("api-managing-task-runs-each", run_args(task_id=5), "task_id"),
        ("create-task-run", args(body=[1, 2]), "body"),
        ("create-task-run", args(body="{}"), "body"),
    ],
)
async def test_invalid_arguments(server, upstream, tool: str, arguments, named: str) -> None:  # type: ignore[no-untyped-def]
    async with Client(server) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    text = error_text(result)
    assert "invalid arguments" in text
    assert named in text
    assert upstream.seen == []


async def test_unknown_tool_is_protocol_error(server, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    async with Client(server) as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("delete-everything", {})
    assert "delete-everything" in str(caught.value)
    assert upstream.seen == []


# ---------------------------------------------------------------------------------------------
# Configuration


def test_build_server_names_missing_settings(mcp_module, load) -> None:  # type: ignore[no-untyped-def]
    rt = load("_runtime")
    with pytest.raises(rt.ConfigurationError) as caught:
        mcp_module.build_server({BASE_ENV: "http://127.0.0.1:1/base-value-Kq"})
    assert KEY_ENV in str(caught.value)
    assert "base-value-Kq" not in str(caught.value)
    with pytest.raises(rt.ConfigurationError) as caught:
        mcp_module.build_server({})
    assert KEY_ENV in str(caught.value)
    assert BASE_ENV in str(caught.value)
    with pytest.raises(rt.ConfigurationError) as caught:
        mcp_module.build_server({KEY_ENV: SECRET})
    assert BASE_ENV in str(caught.value)
    assert SECRET not in str(caught.value)
