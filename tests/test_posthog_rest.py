"""The generated PostHog REST adapter against a local upstream (pytest-httpserver).

Every exposed operation is called through Flask's test client; the upstream records exactly
what it received (method, raw path, query string, headers, body) so each assertion checks the
wire, not the adapter's intentions.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import load_module

SECRET = "sk-capgen-test-Q9v2Lm7x"
BASE_ENV = "POSTHOG_TASK_RUNS_BASE_URL"
KEY_ENV = "POSTHOG_API_KEY"

PROJECT = "p-17"
TASK = "t-42"
RUN = "r-0a1b"
EXPOSED = f"/v1/api/projects/{PROJECT}/tasks/{TASK}/runs"
UPSTREAM = f"/api/projects/{PROJECT}/tasks/{TASK}/runs/"


@dataclass(frozen=True)
class Case:
    op: str
    method: str
    path: str  # exposed path, values filled in
    query: str  # caller's query string
    body: Any  # caller's JSON body (None: no body)
    raw_path: str  # what the upstream must see
    upstream_query: str  # exact query string the upstream must see


CASES = [
    Case("tasksrunslist", "GET", EXPOSED, "limit=5&offset=10", None, UPSTREAM, "limit=5&offset=10"),
    Case("tasksrunscreate", "POST", EXPOSED, "", {"title": "nightly"}, UPSTREAM, ""),
    Case("tasksrunsretrieve", "GET", f"{EXPOSED}/{RUN}", "", None, f"{UPSTREAM}{RUN}/", ""),
    Case(
        "tasksrunspartialupdate",
        "PATCH",
        f"{EXPOSED}/{RUN}",
        "",
        {"status": "completed", "n": 3},
        f"{UPSTREAM}{RUN}/",
        "",
    ),
    Case(
        "tasksrunsappendlogcreate",
        "POST",
        f"{EXPOSED}/{RUN}/append-log",
        "",
        {"entries": [{"level": "info", "message": "started"}]},
        f"{UPSTREAM}{RUN}/append_log/",
        "",
    ),
    Case(
        "tasksrunsartifactscreate",
        "POST",
        f"{EXPOSED}/{RUN}/artifacts",
        "",
        {"artifacts": [{"name": "out.txt"}]},
        f"{UPSTREAM}{RUN}/artifacts/",
        "",
    ),
    Case(
        "tasksrunsartifactsdownloadcreate",
        "POST",
        f"{EXPOSED}/{RUN}/artifacts/download",
        "",
        {"storage_path": "a/b.txt"},
        f"{UPSTREAM}{RUN}/artifacts/download/",
        "",
    ),
    Case(
        "tasksrunsartifactsfinalizeuploadcreate",
        "POST",
        f"{EXPOSED}/{RUN}/artifacts/finalize-upload",
        "",
        {"uploads": ["u1"]},
        f"{UPSTREAM}{RUN}/artifacts/finalize_upload/",
        "",
    ),
    Case(
        "tasksrunsartifactsprepareuploadcreate",
        "POST",
        f"{EXPOSED}/{RUN}/artifacts/prepare-upload",
        "",
        {"files": [{"name": "x.bin", "size": 12}]},
        f"{UPSTREAM}{RUN}/artifacts/prepare_upload/",
        "",
    ),
    Case(
        "tasksrunsartifactspresigncreate",
        "POST",
        f"{EXPOSED}/{RUN}/artifacts/presign",
        "",
        {"storage_path": "k"},
        f"{UPSTREAM}{RUN}/artifacts/presign/",
        "",
    ),
    Case(
        "tasksrunscommandcreate",
        "POST",
        f"{EXPOSED}/{RUN}/command",
        "",
        {"command": "stop", "force": True},
        f"{UPSTREAM}{RUN}/command/",
        "",
    ),
    Case(
        "tasksrunsconnectiontokenretrieve",
        "GET",
        f"{EXPOSED}/{RUN}/connection-token",
        "",
        None,
        f"{UPSTREAM}{RUN}/connection_token/",
        "",
    ),
    Case(
        "tasksrunslogsretrieve",
        "GET",
        f"{EXPOSED}/{RUN}/logs",
        "",
        None,
        f"{UPSTREAM}{RUN}/logs/",
        "",
    ),
    Case(
        "tasksrunsrelaymessagecreate",
        "POST",
        f"{EXPOSED}/{RUN}/relay-message",
        "",
        {"text": "hello"},
        f"{UPSTREAM}{RUN}/relay_message/",
        "",
    ),
    Case(
        "tasksrunsresumeincloudcreate",
        "POST",
        f"{EXPOSED}/{RUN}/resume-in-cloud",
        "",
        None,
        f"{UPSTREAM}{RUN}/resume_in_cloud/",
        "",
    ),
    Case(
        "tasksrunssessionlogsretrieve",
        "GET",
        f"{EXPOSED}/{RUN}/session-logs",
        # the caller's order differs from the declared one on purpose
        "offset=3&limit=50&exclude_types=debug&event_types=a,b&after=2026-01-01",
        None,
        f"{UPSTREAM}{RUN}/session_logs/",
        "after=2026-01-01&event_types=a%2Cb&exclude_types=debug&limit=50&offset=3",
    ),
    Case(
        "tasksrunssetoutputpartialupdate",
        "PATCH",
        f"{EXPOSED}/{RUN}/set-output",
        "",
        {"output": {"pr_url": "https://example.invalid/pr/1"}},
        f"{UPSTREAM}{RUN}/set_output/",
        "",
    ),
    Case(
        "tasksrunsstartcreate",
        "POST",
        f"{EXPOSED}/{RUN}/start",
        "",
        {"mode": "background"},
        f"{UPSTREAM}{RUN}/start/",
        "",
    ),
    Case(
        "tasksrunsstreamretrieve",
        "GET",
        f"{EXPOSED}/{RUN}/stream",
        "",
        None,
        f"{UPSTREAM}{RUN}/stream/",
        "",
    ),
]


# ---------------------------------------------------------------------------------------------
# Fixtures


@dataclass
class Seen:
    method: str
    raw_uri: str
    raw_path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Upstream:
    """A recording upstream on 127.0.0.1; answers with whatever ``reply`` returns."""

    def __init__(self, server: HTTPServer):
        self.server = server
        self.seen: list[Seen] = []
        self.reply = lambda request: Response(
            json.dumps({"ok": True, "path": request.path}),
            status=201 if request.method == "POST" else 200,
            content_type="application/json",
        )
        server.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    def _handle(self, request: Request) -> Response:
        raw_uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI", "")
        raw_path, _, query = raw_uri.partition("?")
        self.seen.append(
            Seen(
                request.method,
                raw_uri,
                raw_path,
                query,
                {k.lower(): v for k, v in request.headers.items()},
                request.get_data(),
            )
        )
        return self.reply(request)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@pytest.fixture()
def upstream(httpserver_ipv4: HTTPServer) -> Upstream:
    return Upstream(httpserver_ipv4)


@pytest.fixture()
def rest(load):  # type: ignore[no-untyped-def]
    return load("posthog_task_runs.rest")


def make_client(rest, upstream: Upstream, **extra: str):  # type: ignore[no-untyped-def]
    env = {BASE_ENV: upstream.url, KEY_ENV: SECRET, **extra}
    return rest.create_app(env).test_client()


@pytest.fixture(scope="module")
def shared_app(generated_tree: Path, make_httpserver_ipv4: HTTPServer):  # type: ignore[no-untyped-def]
    """One app for the module (building one costs ~0.25 s); the upstream is per test."""
    rest = load_module(generated_tree, "posthog_task_runs.rest")
    url = f"http://127.0.0.1:{make_httpserver_ipv4.port}"
    return rest.create_app({BASE_ENV: url, KEY_ENV: SECRET})


@pytest.fixture()
def client(shared_app, upstream):  # type: ignore[no-untyped-def]
    return shared_app.test_client()


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(client, method: str, path: str, query: str = "", body: Any = None, **kw: Any):  # type: ignore[no-untyped-def]
    url = path + (f"?{query}" if query else "")
    if body is not None:
        kw["json"] = body
    return client.open(url, method=method, **kw)


def assert_problem(response, status: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    assert "json" in response.headers["Content-Type"]
    document = response.get_json(force=True)
    assert document["status"] == status
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    assert SECRET not in text
    return document


# ---------------------------------------------------------------------------------------------
# Every operation


def test_table_covers_every_operation(rest) -> None:  # type: ignore[no-untyped-def]
    rules = {
        (method, rule.endpoint.rsplit(".", 1)[-1])
        for rule in rest.create_app(
            {BASE_ENV: "http://x.invalid", KEY_ENV: SECRET}
        ).url_map.iter_rules()
        if rule.endpoint.startswith("posthog_task_runs_rest.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert len(rules) == 19
    assert {(c.method, c.op) for c in CASES} == rules


@pytest.mark.parametrize("case", CASES, ids=[c.op for c in CASES])
def test_operation_reaches_upstream(case: Case, client, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    response = call(client, case.method, case.path, case.query, case.body)

    assert len(upstream.seen) == 1
    seen = upstream.seen[0]
    assert seen.method == case.method
    assert seen.raw_path == case.raw_path
    assert seen.query == case.upstream_query
    assert seen.headers["authorization"] == f"Bearer {SECRET}"
    if case.body is None:
        assert seen.body == b""
    else:
        assert seen.headers["content-type"].startswith("application/json")
        assert seen.json() == case.body

    expected_status = 201 if case.method == "POST" else 200
    assert response.status_code == expected_status
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.get_json() == {"ok": True, "path": case.raw_path}
    assert SECRET not in response.get_data(as_text=True)
    assert all(SECRET not in v for v in response.headers.values())


def test_optional_body_may_be_omitted(client, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    response = client.post(EXPOSED)
    assert response.status_code == 201
    assert upstream.seen[0].body == b""
    assert upstream.seen[0].raw_path == UPSTREAM


def test_required_body_missing_is_400_without_upstream_call(client, upstream) -> None:  # type: ignore[no-untyped-def]
    response = client.post(f"{EXPOSED}/{RUN}/command")
    document = assert_problem(response, 400)
    assert "body" in document["detail"]
    assert upstream.seen == []


def test_session_logs_query_values_are_encoded(client, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    query = "after=2026-01-01T00:00:00%2B02:00&event_types=a%26b%3Dc"
    response = client.get(f"{EXPOSED}/{RUN}/session-logs?{query}")
    assert response.status_code == 200
    assert parse_qsl(upstream.seen[0].query) == [
        ("after", "2026-01-01T00:00:00+02:00"),
        ("event_types", "a&b=c"),
    ]


def test_unicode_body_forwarded_verbatim(client, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    body = {"text": "héllo — 日本語 🚀", "nested": {"list": [1, 2.5, None, False]}, "empty": {}}
    response = client.post(f"{EXPOSED}/{RUN}/relay-message", json=body)
    assert response.status_code == 201
    seen = upstream.seen[0]
    assert seen.json() == body
    assert "héllo — 日本語 🚀".encode() in seen.body  # UTF-8 on the wire, not re-escaped


# ---------------------------------------------------------------------------------------------
# Upstream answers passed through


@pytest.mark.parametrize("status", [404, 500])
def test_upstream_error_passed_through(client, upstream: Upstream, status: int) -> None:  # type: ignore[no-untyped-def]
    payload = {"detail": f"run gone ({status})", "code": "x"}
    upstream.reply = lambda request: Response(
        json.dumps(payload), status=status, content_type="application/json"
    )
    response = client.get(f"{EXPOSED}/{RUN}")
    assert response.status_code == status
    assert "json" in response.headers["Content-Type"]
    assert response.get_json() == payload
    assert len(upstream.seen) == 1


def test_retry_after_passed_through_on_429(client, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.reply = lambda request: Response(
        '{"detail":"slow down"}',
        status=429,
        content_type="application/json",
        headers={"Retry-After": "7"},
    )
    response = client.get(f"{EXPOSED}/{RUN}/logs")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.get_json() == {"detail": "slow down"}


def test_upstream_html_is_502_json(client, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.reply = lambda request: Response(
        "<html><body>login</body></html>", status=200, content_type="text/html"
    )
    response = client.get(f"{EXPOSED}/{RUN}/logs")
    document = assert_problem(response, 502)
    assert "JSON" in document["title"] + document["detail"]
    assert "<html>" not in response.get_data(as_text=True)


def test_upstream_empty_204(client, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.reply = lambda request: Response(b"", status=204)
    response = client.post(f"{EXPOSED}/{RUN}/start", json={})
    assert response.status_code == 204
    assert response.get_data() == b""


def test_upstream_unreachable_is_502(rest) -> None:  # type: ignore[no-untyped-def]
    port = closed_port()
    app = rest.create_app({BASE_ENV: f"http://127.0.0.1:{port}", KEY_ENV: SECRET})
    started = time.monotonic()
    response = app.test_client().get(f"{EXPOSED}/{RUN}")
    assert time.monotonic() - started < 5
    document = assert_problem(response, 502)
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert "reach" in document["detail"]


def test_upstream_timeout_is_504(rest, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(2.0)
        return Response("{}", content_type="application/json")

    upstream.reply = slow
    client = make_client(rest, upstream, CAPGEN_UPSTREAM_TIMEOUT="0.5")
    started = time.monotonic()
    try:
        response = client.get(f"{EXPOSED}/{RUN}")
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert elapsed < 1.8
    document = assert_problem(response, 504)
    assert "time" in document["detail"]
    # let the upstream finish its (abandoned) answer before the next test clears it
    deadline = time.monotonic() + 3
    while len(upstream.server.log) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)


def test_same_app_recovers_after_failures(client, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.reply = lambda request: Response("boom", status=500, content_type="text/plain")
    assert client.get(f"{EXPOSED}/{RUN}").status_code == 500
    upstream.reply = lambda request: Response("<p>", status=200, content_type="text/html")
    assert client.get(f"{EXPOSED}/{RUN}").status_code == 502
    upstream.reply = lambda request: Response('{"id":"ok"}', content_type="application/json")
    response = client.get(f"{EXPOSED}/{RUN}")
    assert response.status_code == 200
    assert response.get_json() == {"id": "ok"}


# ---------------------------------------------------------------------------------------------
# Caller errors: nothing goes upstream


def test_undeclared_method_is_405(client, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    response = client.delete(f"{EXPOSED}/{RUN}")
    assert_problem(response, 405)
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "PATCH"} <= allowed
    assert "DELETE" not in allowed
    assert upstream.seen == []


@pytest.mark.parametrize("value", ["abc", "1.5", "", "9x"])
def test_non_integer_limit_is_400(client, upstream: Upstream, value: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"{EXPOSED}?limit={value}")
    document = assert_problem(response, 400)
    assert "limit" in document["detail"]
    assert upstream.seen == []


def test_non_object_body_is_rejected(client, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    response = client.post(f"{EXPOSED}/{RUN}/command", json=[1, 2])
    assert_problem(response, 400)
    response = client.post(
        f"{EXPOSED}/{RUN}/command", data="{not json", content_type="application/json"
    )
    assert_problem(response, 400)
    assert upstream.seen == []


def test_unknown_route_is_404_json(client, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/v1/nothing/here")
    assert_problem(response, 404)
    assert upstream.seen == []


# ---------------------------------------------------------------------------------------------
# Hostile path values


@pytest.mark.parametrize(
    "raw_segment",
    ["..", "%2e%2e", "%2E%2E", ".%2e", "."],
    ids=["dotdot", "enc-lower", "enc-upper", "mixed", "dot"],
)
def test_dot_segments_rejected_without_upstream_call(client, upstream, raw_segment: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/v1/api/projects/{PROJECT}/tasks/{raw_segment}/runs/{RUN}")
    assert response.status_code in (400, 404)
    assert "json" in response.headers["Content-Type"]
    assert upstream.seen == []


@pytest.mark.parametrize("segment", ["..%2F..%2Fadmin", "a%2Fb", "%2F"])
def test_encoded_slash_matches_no_route(client, upstream: Upstream, segment: str) -> None:  # type: ignore[no-untyped-def]
    # the WSGI path is decoded before routing, so %2F splits the segment: no route, no call
    response = client.get(f"/v1/api/projects/{PROJECT}/tasks/{segment}/runs/{RUN}/logs")
    assert_problem(response, 404)
    assert upstream.seen == []


def test_dotdot_run_id_is_400(client, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"{EXPOSED}/..")
    assert_problem(response, 400)
    assert upstream.seen == []


@pytest.mark.parametrize(
    ("caller_segment", "upstream_segment"),
    [
        ("a%20b", "a%20b"),
        ("a b", "a%20b"),
        ("x%3Fy%3D1", "x%3Fy%3D1"),
        ("x%23frag", "x%23frag"),
        ("%252e%252e", "%252e%252e"),
        ("..%252F..%252Fadmin", "..%252F..%252Fadmin"),
        ("caf%C3%A9", "caf%C3%A9"),
        ("100%25", "100%25"),
    ],
)
def test_hostile_values_stay_in_their_segment(  # type: ignore[no-untyped-def]
    client, upstream: Upstream, caller_segment: str, upstream_segment: str
) -> None:
    response = client.get(f"/v1/api/projects/{PROJECT}/tasks/{caller_segment}/runs/{RUN}/logs")
    assert response.status_code == 200
    assert len(upstream.seen) == 1
    seen = upstream.seen[0]
    assert seen.raw_path == f"/api/projects/{PROJECT}/tasks/{upstream_segment}/runs/{RUN}/logs/"
    assert seen.query == ""


# ---------------------------------------------------------------------------------------------
# Credentials


def test_caller_credentials_not_forwarded(client, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    response = client.get(
        f"{EXPOSED}/{RUN}",
        headers={
            "Authorization": "Bearer caller-token-123",
            "Cookie": "sessionid=caller-cookie-456",
            "X-Forwarded-For": "10.0.0.1",
        },
    )
    assert response.status_code == 200
    seen = upstream.seen[0]
    assert seen.headers["authorization"] == f"Bearer {SECRET}"
    assert "cookie" not in seen.headers
    assert "caller-token-123" not in json.dumps(seen.headers)
    assert "caller-cookie-456" not in json.dumps(seen.headers)


def test_secret_never_in_responses(rest, client, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    bodies = []
    bodies.append(client.get(f"{EXPOSED}/{RUN}"))
    bodies.append(client.get(f"{EXPOSED}?limit=no"))
    bodies.append(client.delete(EXPOSED))
    bodies.append(client.get("/openapi.json"))
    bodies.append(client.get("/healthz"))
    upstream.reply = lambda request: Response("<html>", content_type="text/html")
    bodies.append(client.get(f"{EXPOSED}/{RUN}"))
    dead = rest.create_app({BASE_ENV: f"http://127.0.0.1:{closed_port()}", KEY_ENV: SECRET})
    bodies.append(dead.test_client().get(f"{EXPOSED}/{RUN}"))
    for response in bodies:
        assert SECRET not in response.get_data(as_text=True)
        assert all(SECRET not in value for value in response.headers.values())


# ---------------------------------------------------------------------------------------------
# Configuration


def test_missing_api_key(rest, load) -> None:  # type: ignore[no-untyped-def]
    rt = load("_runtime")
    base = "http://127.0.0.1:1/private-base-Zq8"
    with pytest.raises(rt.ConfigurationError) as caught:
        rest.create_app({BASE_ENV: base})
    message = str(caught.value)
    assert KEY_ENV in message
    assert BASE_ENV not in message
    assert base not in message


def test_empty_api_key_counts_as_missing(rest, load) -> None:  # type: ignore[no-untyped-def]
    rt = load("_runtime")
    with pytest.raises(rt.ConfigurationError) as caught:
        rest.create_app({BASE_ENV: "http://127.0.0.1:1", KEY_ENV: "  "})
    assert KEY_ENV in str(caught.value)


def test_missing_base_url(rest, load) -> None:  # type: ignore[no-untyped-def]
    rt = load("_runtime")
    with pytest.raises(rt.ConfigurationError) as caught:
        rest.create_app({KEY_ENV: SECRET})
    message = str(caught.value)
    assert BASE_ENV in message
    assert SECRET not in message
    assert KEY_ENV not in message


def test_both_missing_named_together(rest, load) -> None:  # type: ignore[no-untyped-def]
    rt = load("_runtime")
    with pytest.raises(rt.ConfigurationError) as caught:
        rest.create_app({})
    message = str(caught.value)
    assert KEY_ENV in message
    assert BASE_ENV in message


# ---------------------------------------------------------------------------------------------
# Service routes


def test_healthz(client, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert upstream.seen == []


def test_openapi_json_is_the_generated_document(client, generated_tree: Path) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    expected = (generated_tree / "posthog_task_runs" / "openapi.json").read_bytes()
    assert response.get_data() == expected
    document = json.loads(expected)
    assert "/v1/api/projects/{project-id}/tasks/{task-id}/runs" in document["paths"]
    assert SECRET not in expected.decode()
