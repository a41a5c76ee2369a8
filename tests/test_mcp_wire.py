"""The generated PostHog MCP server as a real process, over streamable HTTP on /mcp."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

pytestmark = pytest.mark.slow

SECRET = "sk-capgen-wire-Vt5nB20c"
MODULE = "generated.posthog_task_runs.mcp_server"


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port} after {limit} s")


def server_env(tree: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("POSTHOG_API_KEY", "PYTHONPATH")}
    env.pop("POSTHOG_TASK_RUNS_BASE_URL", None)
    env["PYTHONPATH"] = str(tree.parent)
    env.update(values)
    return env


def stop(process: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    if process.poll() is None:
        process.terminate()
    try:
        return process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()


@pytest.fixture()
def recorded(httpserver_ipv4: HTTPServer) -> list[dict[str, object]]:
    seen: list[dict[str, object]] = []

    def handle(request: Request) -> Response:
        raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI", "")
        seen.append(
            {
                "method": request.method,
                "raw": raw,
                "authorization": request.headers.get("Authorization"),
                "body": request.get_data(),
            }
        )
        return Response('{"id": "run-1", "status": "queued"}', content_type="application/json")

    httpserver_ipv4.expect_request(re.compile(".*")).respond_with_handler(handle)
    return seen


@pytest.fixture()
def running_server(
    generated_tree: Path, httpserver_ipv4: HTTPServer, recorded: list[dict[str, object]]
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    env = server_env(
        generated_tree,
        POSTHOG_API_KEY=SECRET,
        POSTHOG_TASK_RUNS_BASE_URL=f"http://127.0.0.1:{httpserver_ipv4.port}",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", MODULE, "--port", str(port), "--host", "127.0.0.1"],
        cwd=generated_tree.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, process)
        yield port, process
    finally:
        stop(process)


@pytest.mark.anyio
async def test_tools_over_streamable_http(
    running_server: tuple[int, subprocess.Popen[bytes]], recorded: list[dict[str, object]]
) -> None:
    port, process = running_server
    async with Client(f"http://127.0.0.1:{port}/mcp") as client:
        tools = (await client.list_tools()).tools
        assert len(tools) == 19
        assert "list-task-runs" in {tool.name for tool in tools}
        result = await client.call_tool(
            "create-task-run", {"project_id": "p1", "task_id": "t1", "body": {"mode": "é"}}
        )
    assert not result.is_error, result.content
    assert result.structured_content == {"id": "run-1", "status": "queued"}
    assert len(recorded) == 1
    seen = recorded[0]
    assert seen["method"] == "POST"
    assert seen["raw"] == "/api/projects/p1/tasks/t1/runs/"
    assert seen["authorization"] == f"Bearer {SECRET}"
    assert json.loads(seen["body"]) == {"mode": "é"}  # type: ignore[arg-type]
    out, err = stop(process)
    assert process.returncode is not None
    assert SECRET.encode() not in out + err


def test_missing_api_key_exits_naming_it(generated_tree: Path, httpserver_ipv4: HTTPServer) -> None:
    env = server_env(
        generated_tree, POSTHOG_TASK_RUNS_BASE_URL=f"http://127.0.0.1:{httpserver_ipv4.port}"
    )
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", MODULE, "--port", str(free_port()), "--host", "127.0.0.1"],
        cwd=generated_tree.parent,
        env=env,
        capture_output=True,
        timeout=10,
        check=False,
    )
    assert time.monotonic() - started < 10
    assert completed.returncode != 0
    stderr = completed.stderr.decode()
    assert "POSTHOG_API_KEY" in stderr
    assert "Traceback" not in stderr
    assert httpserver_ipv4.log == []
