"""MCP glue shared by every generated MCP server (official ``mcp`` SDK, low-level ``Server``).

Written by capgen; do not edit (regenerate instead).  Lists the tools with their exact input
schemas and annotations, validates arguments before any upstream call, runs the (blocking)
upstream call in a worker thread, and turns every failure into an ``isError`` tool result.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import jsonschema
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from ._runtime import ConfigurationError, InvalidInput, Result, UpstreamFailure

log = logging.getLogger("capgen.mcp")

INVALID_PARAMS = -32602


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str | None
    description: str
    input_schema: dict[str, Any]
    annotations: dict[str, bool] | None
    handler: Callable[[dict[str, Any]], Result]

    def listing(self) -> types.Tool:
        annotations = None
        if self.annotations is not None:
            annotations = types.ToolAnnotations.model_validate(self.annotations)
        return types.Tool(
            name=self.name,
            title=self.title,
            description=self.description,
            input_schema=self.input_schema,
            annotations=annotations,
        )


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


def _first_problem(validator: Any, arguments: dict[str, Any]) -> str | None:
    errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    error = errors[0]
    if error.validator == "required":
        missing = [n for n in error.validator_value if n not in error.instance]
        return f"missing required argument {missing[0]!r}" if missing else error.message
    where = ".".join(str(p) for p in error.absolute_path) or "arguments"
    return f"argument {where!r}: {error.message}"


def to_result(result: Result) -> types.CallToolResult:
    if result.raw is not None:
        raw = result.raw
        if raw.status >= 400:
            return _error(f"upstream answered HTTP {raw.status}: {raw.excerpt()}")
        return types.CallToolResult(
            content=[types.TextContent(text=raw.body.decode("utf-8", "replace"))]
        )
    if not result.has_data:
        return types.CallToolResult(
            content=[
                types.TextContent(text=f"(no content; upstream answered HTTP {result.status})")
            ]
        )
    data = result.data
    structured = data if isinstance(data, dict) else {"result": data}
    return types.CallToolResult(
        content=[types.TextContent(text=json.dumps(data, ensure_ascii=False))],
        structured_content=structured,
    )


def build(
    name: str, version: str, instructions: str | None, tools: Sequence[ToolSpec]
) -> Server[Any]:
    """A low-level SDK server exposing ``tools``."""
    by_name = {tool.name: tool for tool in tools}
    validators = {tool.name: jsonschema.Draft202012Validator(tool.input_schema) for tool in tools}
    listing = [tool.listing() for tool in tools]

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listing)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        tool = by_name.get(params.name)
        if tool is None:
            raise MCPError(INVALID_PARAMS, f"unknown tool {params.name!r}")
        # An explicit null means "not given" (models often send nulls for optional arguments).
        arguments = {k: v for k, v in (params.arguments or {}).items() if v is not None}
        problem = _first_problem(validators[tool.name], arguments)
        if problem is not None:
            return _error(f"invalid arguments: {problem}")
        try:
            result = await anyio.to_thread.run_sync(functools.partial(tool.handler, arguments))
        except InvalidInput as exc:
            return _error(f"invalid arguments: {exc.detail}")
        except UpstreamFailure as exc:
            return _error(f"{exc.title}: {exc.detail}")
        except Exception as exc:  # noqa: BLE001 - never a traceback to the client
            log.error("unhandled %s in tool %s", type(exc).__name__, tool.name)
            return _error("the server failed while calling the upstream API")
        return to_result(result)

    return Server(
        name,
        version=version,
        instructions=instructions,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def serve(
    build_server: Callable[[], Server[Any]],
    *,
    default_port: int,
    default_host: str,
    default_transport: str,
    argv: Sequence[str] | None = None,
) -> None:
    """``python -m <out>.<package>.mcp_server [--stdio | --http] [--host H] [--port P]``."""
    import argparse

    parser = argparse.ArgumentParser(description="Serve this MCP server.")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--stdio", action="store_const", dest="transport", const="stdio")
    group.add_argument("--http", action="store_const", dest="transport", const="http")
    parser.add_argument("--host", default=default_host)
    parser.add_argument("--port", type=int, default=default_port)
    options = parser.parse_args(argv)
    transport = options.transport or default_transport
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        server = build_server()
    except ConfigurationError as exc:
        print(f"error: cannot start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if transport == "stdio":
        from mcp.server.stdio import stdio_server

        async def run_stdio() -> None:
            async with stdio_server() as (read_stream, write_stream):
                await server.run(read_stream, write_stream, server.create_initialization_options())

        anyio.run(run_stdio)
        return
    import uvicorn

    app = server.streamable_http_app(host=options.host)
    uvicorn.run(app, host=options.host, port=options.port, log_level="warning")
