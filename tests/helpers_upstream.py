"""Helpers for functional tests: a recording upstream (pytest-httpserver) and MCP calls.

``Recorder`` answers every request with a canned response and keeps what it received (method,
raw path and query exactly as sent, parsed query with blanks kept, headers, body bytes).
``mcp_list`` / ``mcp_call`` drive a generated low-level MCP server in-process.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio
import yaml
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


@dataclass
class Seen:
    method: str
    raw_path: str
    raw_query: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    header_items: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header_count(self, name: str) -> int:
        return sum(1 for key, _ in self.header_items if key.lower() == name.lower())


@dataclass
class Recorder:
    server: HTTPServer
    status: int = 200
    body: bytes = b'{"ok": true}'
    content_type: str = "application/json"
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def answer(self, body: Any, status: int = 200, content_type: str = "application/json") -> None:
        if isinstance(body, bytes):
            self.body = body
        elif isinstance(body, str):
            self.body = body.encode("utf-8")
        else:
            self.body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.status = status
        self.content_type = content_type

    def _handle(self, request: Request) -> Response:
        raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.path
        # RAW_URI went through the WSGI latin-1 "encoding dance"; undo it to see the bytes sent.
        raw = raw.encode("latin-1").decode("utf-8", "replace")
        raw_path, _, raw_query = raw.partition("?")
        self.seen.append(
            Seen(
                method=request.method,
                raw_path=raw_path,
                raw_query=raw_query,
                query=parse_qs(raw_query, keep_blank_values=True),
                headers={k.lower(): v for k, v in request.headers.items()},
                header_items=list(request.headers.items()),
                body=request.get_data(),
            )
        )
        return Response(self.body, status=self.status, content_type=self.content_type)

    @property
    def last(self) -> Seen:
        assert len(self.seen) == 1, f"expected exactly one upstream request, got {len(self.seen)}"
        return self.seen[0]


def _run(coro_fn: Any, *args: Any) -> Any:
    return anyio.run(coro_fn, *args)


def mcp_list(server: Any) -> dict[str, Any]:
    """``tools/list`` as ``{name: Tool}``."""
    from mcp import Client

    async def go() -> dict[str, Any]:
        async with Client(server) as client:
            result = await client.list_tools()
            return {tool.name: tool for tool in result.tools}

    return _run(go)


def mcp_call(server: Any, name: str, arguments: dict[str, Any]) -> Any:
    """``tools/call``; returns the CallToolResult, raises ``MCPError`` for a protocol error."""
    from mcp import Client
    from mcp.shared.exceptions import MCPError

    async def go() -> Any:
        async with Client(server) as client:
            try:
                return await client.call_tool(name, arguments)
            except MCPError as exc:  # raised outside the SDK's task group, unwrapped
                return exc

    result = _run(go)
    if isinstance(result, MCPError):
        raise result
    return result


def result_json(result: Any) -> Any:
    """The JSON a tool result's text content carries."""
    return json.loads(result.content[0].text)


def mcp_instructions(server: Any) -> str | None:
    """The instructions the server sends at initialisation."""
    from mcp import Client

    async def go() -> str | None:
        async with Client(server) as client:
            return client.instructions

    return _run(go)


def annotations_of(tool: Any) -> dict[str, Any] | None:
    """A tool's annotations as wire JSON (camelCase keys), ``None`` when absent."""
    if tool.annotations is None:
        return None
    return tool.annotations.model_dump(by_alias=True, exclude_none=True)


def schema_of(tool: Any) -> dict[str, Any]:
    return dict(tool.input_schema)


def fixture_yaml(name: str) -> dict[str, Any]:
    """One of our fixture capabilities, parsed."""
    path = Path(__file__).resolve().parent / "fixtures" / f"{name}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))
