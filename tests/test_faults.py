"""Fault injection against the real processes: gunicorn (2 workers) and the MCP server over HTTP.

A local upstream (threaded ``http.server`` in this process) records every request exactly as
received and misbehaves by task id: ``html`` answers HTML, ``boom`` answers 500, ``slow`` answers
after 3 s (the adapters run with ``CAPGEN_UPSTREAM_TIMEOUT=1``), ``big`` answers a 5 MB JSON body.
Each check asserts the caller's status, that the upstream saw nothing outside the declared path
``/api/projects/{project}/tasks/{task}/runs/`` and that the API key (a sentinel) never shows up in
a response, a tool result or a process log.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import anyio
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

SECRET = "sk-test-SENTINEL-9d1"
PREFIX = "/api/projects/p1/tasks/"
BIG_BODY = json.dumps({"items": [{"n": i, "pad": "x" * 1000} for i in range(5000)]}).encode()
assert len(BIG_BODY) > 5_000_000
START_TIMEOUT = 20.0


# ---------------------------------------------------------------------------------------------
# The local upstream


@dataclass
class Hit:
    method: str
    target: str  # the request target exactly as received
    headers: dict[str, str]
    body: bytes


@dataclass
class Upstream:
    url: str
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, hit: Hit) -> None:
        with self.lock:
            self.hits.append(hit)

    def since(self, mark: int) -> list[Hit]:
        with self.lock:
            return list(self.hits[mark:])

    def mark(self) -> int:
        with self.lock:
            return len(self.hits)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream: Upstream

    def log_message(self, *args: Any) -> None:  # keep quiet
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.upstream.record(
            Hit(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        path = self.path
        kind, payload, status = "application/json", b'{"ok": true}', 200
        if path == PREFIX + "html/runs/":
            kind, payload = "text/html; charset=utf-8", b"<!doctype html><h1>Login</h1>"
        elif path == PREFIX + "boom/runs/":
            payload, status = b'{"detail": "database exploded"}', 500
        elif path == PREFIX + "slow/runs/":
            time.sleep(3)
        elif path == PREFIX + "big/runs/":
            payload = BIG_BODY
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the adapter gave up (timeout) and closed the connection
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state = Upstream(f"http://127.0.0.1:{server.server_address[1]}")
    handler.upstream = state
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    """A port bound but not listening: connections to it are refused, and nobody else gets it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


# ---------------------------------------------------------------------------------------------
# Processes


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTHOG_", "CAPGEN_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        POSTHOG_TASK_RUNS_BASE_URL=base_url,
        POSTHOG_API_KEY=SECRET,
        CAPGEN_UPSTREAM_TIMEOUT="1",
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Proc:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace")


def _start(command: list[str], port: int, base_url: str, ready_path: str) -> Proc:
    with tempfile.NamedTemporaryFile(
        prefix="capgen-faults-", suffix=".log", delete=False
    ) as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_env(base_url),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    proc = Proc(port, process, Path(log_file.name))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{command} exited with {process.returncode}:\n{_stop(proc)}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", ready_path)
            conn.getresponse().read()
            conn.close()
            return proc
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{command} did not answer within {START_TIMEOUT} s:\n{_stop(proc)}")


def _stop(proc: Proc) -> str:
    """Stop the process (always); return its log and remove the log file."""
    if proc.process.poll() is None:
        proc.process.terminate()
        try:
            proc.process.wait(10)
        except subprocess.TimeoutExpired:
            proc.process.kill()
            proc.process.wait(5)
    text = proc.log()
    proc.log_path.unlink(missing_ok=True)
    return text


def _gunicorn(base_url: str, workers: int) -> Proc:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "2",
        "generated.posthog_task_runs.rest:create_app()",
    ]
    return _start(command, port, base_url, "/healthz")


@pytest.fixture(scope="module")
def rest(upstream: Upstream) -> Iterator[Proc]:
    proc = _gunicorn(upstream.url, workers=2)
    try:
        yield proc
    finally:
        log = _stop(proc)
    assert SECRET not in log


@pytest.fixture(scope="module")
def rest_down(closed_port: int) -> Iterator[Proc]:
    proc = _gunicorn(f"http://127.0.0.1:{closed_port}", workers=1)
    try:
        yield proc
    finally:
        log = _stop(proc)
    assert SECRET not in log


@pytest.fixture(scope="module")
def mcp_server(upstream: Upstream) -> Iterator[Proc]:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "generated.posthog_task_runs.mcp_server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    # Any HTTP answer on /mcp (a GET without a session is refused) means uvicorn is up.
    proc = _start(command, port, upstream.url, "/mcp")
    try:
        yield proc
    finally:
        log = _stop(proc)
    assert SECRET not in log


# ---------------------------------------------------------------------------------------------
# Helpers


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


def _request(
    proc: Proc,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request with ``target`` sent byte for byte (http.client does not normalise it)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=15)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    answer = Answer(
        response.status,
        {k.lower(): v for k, v in response.getheaders()},
        data,
        time.monotonic() - started,
    )
    _assert_no_secret(answer)
    return answer


def _assert_no_secret(answer: Answer) -> None:
    assert SECRET.encode() not in answer.body
    for name, value in answer.headers.items():
        assert SECRET not in name and SECRET not in value


def _assert_problem(answer: Answer, status: int) -> dict[str, Any]:
    assert answer.status == status, answer.body[:300]
    assert answer.headers["content-type"].startswith("application/problem+json")
    document = answer.json()
    assert document["status"] == status
    assert document["title"] and document["detail"]
    assert b"Traceback" not in answer.body
    return document


_SEGMENT = r"[^/?#\s]+"
_DECLARED = re.compile(
    rf"^/api/projects/(?P<project>{_SEGMENT})/tasks/(?P<task>{_SEGMENT})/runs/"
    r"(\?(limit|offset)=\d+(&(limit|offset)=\d+)?)?$"
)


def _assert_declared(hits: list[Hit]) -> list[str]:
    """Every hit is a GET of the declared path with encoded segments; returns the task segments."""
    tasks = []
    for hit in hits:
        match = _DECLARED.match(hit.target)
        assert match, f"upstream saw an undeclared request target {hit.target!r}"
        assert hit.method == "GET"
        for name in ("project", "task"):
            seg = match[name]
            assert seg not in (".", "..") and unquote(seg) not in (".", "..")
            assert "\r" not in seg and "\n" not in seg
        assert hit.target.startswith(PREFIX) or match["project"] != "p1"
        assert "/../" not in hit.target and "/./" not in hit.target
        assert "x-injected" not in hit.headers
        assert hit.headers.get("authorization") == f"Bearer {SECRET}"
        tasks.append(match["task"])
    return tasks


def _only_task(upstream: Upstream, mark: int, task: str) -> Hit:
    hits = upstream.since(mark)
    assert _assert_declared(hits) == [task], [h.target for h in hits]
    return hits[0]


# ---------------------------------------------------------------------------------------------
# REST under gunicorn


def _runs(task: str) -> str:
    return f"/v1/api/projects/p1/tasks/{task}/runs"


def test_ok_passes_through(rest: Proc, upstream: Upstream) -> None:
    mark = upstream.mark()
    answer = _request(rest, "GET", _runs("ok") + "?limit=5")
    assert answer.status == 200
    assert answer.json() == {"ok": True}
    hits = upstream.since(mark)
    assert [h.target for h in hits] == [PREFIX + "ok/runs/?limit=5"]
    _assert_declared(hits)


def test_upstream_down_is_502(rest_down: Proc) -> None:
    answer = _request(rest_down, "GET", _runs("ok"))
    document = _assert_problem(answer, 502)
    assert "reach" in document["detail"]
    assert answer.seconds < 5
    # one refused connection does not poison the worker
    assert _request(rest_down, "GET", _runs("ok")).status == 502
    assert _request(rest_down, "GET", "/healthz").status == 200


def test_slow_upstream_is_504_within_timeout(rest: Proc, upstream: Upstream) -> None:
    mark = upstream.mark()
    answer = _request(rest, "GET", _runs("slow"))
    document = _assert_problem(answer, 504)
    assert "time" in document["detail"]
    assert answer.seconds < 2.8, answer.seconds  # the upstream needs 3 s; the timeout is 1 s
    _only_task(upstream, mark, "slow")
    # the worker that timed out still serves
    assert _request(rest, "GET", _runs("ok")).status == 200


def test_html_answer_is_502_json(rest: Proc, upstream: Upstream) -> None:
    mark = upstream.mark()
    answer = _request(rest, "GET", _runs("html"))
    document = _assert_problem(answer, 502)
    assert "JSON" in document["title"] + document["detail"]
    assert b"<h1>" not in answer.body
    _only_task(upstream, mark, "html")


def test_upstream_500_passes_through(rest: Proc, upstream: Upstream) -> None:
    mark = upstream.mark()
    answer = _request(rest, "GET", _runs("boom"))
    assert answer.status == 500
    assert "json" in answer.headers["content-type"]
    assert answer.json() == {"detail": "database exploded"}
    _only_task(upstream, mark, "boom")


def test_big_upstream_body_passes_intact(rest: Proc, upstream: Upstream) -> None:
    mark = upstream.mark()
    answer = _request(rest, "GET", _runs("big"))
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert len(answer.body) == len(BIG_BODY)
    assert answer.json() == json.loads(BIG_BODY)
    _only_task(upstream, mark, "big")


def test_big_request_body_is_413(rest: Proc, upstream: Upstream) -> None:
    mark = upstream.mark()
    payload = json.dumps({"blob": "y" * (5 * 1024 * 1024)}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", rest.port, timeout=15)
    try:
        conn.putrequest("POST", _runs("ok"))
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(payload)))
        conn.endheaders()
        try:  # the adapter may answer and close before reading it all
            conn.send(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = conn.getresponse()
        answer = Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read(), 0
        )
    finally:
        conn.close()
    _assert_no_secret(answer)
    _assert_problem(answer, 413)
    assert upstream.since(mark) == []


# (value sent in the task-id position, statuses allowed); 200 means proxied, and then the
# upstream must have seen the decoded value re-encoded as exactly one segment.
HOSTILE = [
    ("..", {400}),
    (".", {400}),
    ("%2e%2e", {400}),
    ("%2E%2E", {400}),
    ("..%2f", {404}),
    ("%2f", {404}),
    ("a%2fb", {404}),
    ("a%5cb", {200}),
    ("%3fx=1", {200}),
    ("%23frag", {200}),
    ("%00", {200, 400}),
    ("%0d%0aX-Injected:%201", {200, 400}),
    ("caf%C3%A9", {200}),
    ("%F0%9F%8D%9C", {200}),
    ("a%20b", {200}),
    ("%25", {200}),
    ("%252e%252e", {200}),
    (";x=1", {200}),
    ("~user", {200}),
    ("a..b", {200}),
]
assert len(HOSTILE) == 20


@pytest.mark.parametrize(("value", "allowed"), HOSTILE, ids=[v for v, _ in HOSTILE])
def test_hostile_task_id(rest: Proc, upstream: Upstream, value: str, allowed: set[int]) -> None:
    mark = upstream.mark()
    answer = _request(rest, "GET", _runs(value))
    assert answer.status in allowed, (answer.status, answer.body[:300])
    hits = upstream.since(mark)
    tasks = _assert_declared(hits)
    if answer.status == 200:
        assert answer.json() == {"ok": True}
        assert tasks == [quote(unquote(value), safe="")]
        assert unquote(tasks[0]) == unquote(value)
    else:
        _assert_problem(answer, answer.status)
        assert hits == [], "a refused path must not reach the upstream"


def test_hostile_project_id(rest: Proc, upstream: Upstream) -> None:
    mark = upstream.mark()
    for value in ("..", "%2e%2E", "..%2f..%2fadmin"):
        answer = _request(rest, "GET", f"/v1/api/projects/{value}/tasks/ok/runs")
        assert answer.status in (400, 404)
        _assert_problem(answer, answer.status)
    assert upstream.since(mark) == []
    answer = _request(rest, "GET", "/v1/api/projects/a%3Fb%23c/tasks/ok/runs")
    assert answer.status == 200
    assert [h.target for h in upstream.since(mark)] == ["/api/projects/a%3Fb%23c/tasks/ok/runs/"]


# ---------------------------------------------------------------------------------------------
# MCP over streamable HTTP


def _mcp_calls(proc: Proc, calls: list[dict[str, Any]]) -> list[Any]:
    from mcp import Client

    async def go() -> list[Any]:
        results = []
        with anyio.fail_after(30):
            async with Client(f"http://127.0.0.1:{proc.port}/mcp") as client:
                for arguments in calls:
                    results.append(await client.call_tool("list-task-runs", arguments))
        return results

    return anyio.run(go)


def _text(result: Any) -> str:
    return " ".join(getattr(item, "text", "") for item in result.content)


def test_mcp_faults(mcp_server: Proc, upstream: Upstream) -> None:
    mark = upstream.mark()
    started = time.monotonic()
    ok, html, boom, slow, dotdot, again = _mcp_calls(
        mcp_server,
        [
            {"project_id": "p1", "task_id": "ok", "limit": 2},
            {"project_id": "p1", "task_id": "html"},
            {"project_id": "p1", "task_id": "boom"},
            {"project_id": "p1", "task_id": "slow"},
            {"project_id": "..", "task_id": "ok"},
            {"project_id": "p1", "task_id": "ok"},
        ],
    )
    assert time.monotonic() - started < 15

    assert not ok.is_error
    assert ok.structured_content == {"ok": True}
    assert json.loads(_text(ok)) == {"ok": True}

    assert html.is_error and "not JSON" in _text(html)
    assert boom.is_error and "500" in _text(boom) and "database exploded" in _text(boom)
    assert slow.is_error and "time" in _text(slow).lower()
    assert dotdot.is_error and "project_id" in _text(dotdot)
    assert not again.is_error  # earlier failures did not poison the shared client

    for result in (ok, html, boom, slow, dotdot, again):
        assert SECRET not in _text(result)
        assert SECRET not in json.dumps(result.structured_content or {})
        assert "Traceback" not in _text(result)

    hits = upstream.since(mark)
    assert sorted(_assert_declared(hits)) == sorted(["ok", "html", "boom", "slow", "ok"])
    assert PREFIX + "ok/runs/?limit=2" in [h.target for h in hits]


def test_mcp_unreachable_upstream(closed_port: int) -> None:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "generated.posthog_task_runs.mcp_server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    proc = _start(command, port, f"http://127.0.0.1:{closed_port}", "/mcp")
    try:
        (result,) = _mcp_calls(proc, [{"project_id": "p1", "task_id": "ok"}])
    finally:
        log = _stop(proc)
    assert SECRET not in log
    assert result.is_error and "reach" in _text(result)
    assert SECRET not in _text(result)


# ---------------------------------------------------------------------------------------------
# Everything the upstream saw in this module


def test_upstream_saw_only_declared_paths(upstream: Upstream) -> None:
    hits = upstream.since(0)
    assert hits, "the upstream was never called"
    _assert_declared(hits)
