"""Protocol-neutral helpers shared by every generated capability package.

Written by capgen; do not edit (regenerate instead).  Needs only ``httpx2`` (installed with
the ``mcp`` SDK).  REST glue lives in ``_rest.py``, MCP glue in ``_mcp.py``.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import math
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx2

log = logging.getLogger("capgen.upstream")
# The outcome of the last upstream call in this context (for the REST request log line).
LAST_UPSTREAM_STATUS: contextvars.ContextVar[int | str | None] = contextvars.ContextVar(
    "capgen_last_upstream_status", default=None
)

DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 5.0
EXCERPT = 500


# ---------------------------------------------------------------------------------------------
# Errors


class ConfigurationError(Exception):
    """The adapter cannot start: settings are missing (named, never their values)."""

    def __init__(self, problems: Sequence[str]):
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


class InvalidInput(Exception):
    """The caller's request is wrong (HTTP 400 / MCP tool error); nothing was sent upstream."""

    def __init__(self, detail: str, status: int = 400):
        super().__init__(detail)
        self.detail = detail
        self.status = status


class UpstreamFailure(Exception):
    """The upstream could not be asked or did not answer usefully (HTTP 502/503/504)."""

    def __init__(self, status: int, title: str, detail: str):
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


# ---------------------------------------------------------------------------------------------
# Settings


def read_settings(
    environ: Mapping[str, str],
    required: Iterable[str],
    optional: Mapping[str, str],
    urls: Iterable[str] = (),
) -> dict[str, str]:
    """Read environment variables; report every missing or empty required one at once.

    The variables named in ``urls`` must hold absolute http(s) base URLs without a query
    string or fragment (a path is fine).
    """
    values: dict[str, str] = {}
    missing: list[str] = []
    for name in required:
        value = environ.get(name, "")
        if value.strip() == "":
            missing.append(name)
        else:
            values[name] = value
    for name, default in optional.items():
        values[name] = environ.get(name, "") or default
    problems: list[str] = []
    if missing:
        plural = "s" if len(missing) > 1 else ""
        problems.append(f"missing environment variable{plural}: {', '.join(missing)}")
    for name in urls:
        value = values.get(name, "")
        split = urlsplit(value)
        if value and (
            split.scheme not in ("http", "https")
            or not split.netloc
            or split.query
            or split.fragment
            or "?" in value
            or "#" in value
        ):
            problems.append(f"{name} must be an http(s) URL without a query string or fragment")
    if problems:
        raise ConfigurationError(problems)
    return values


def seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name, "")
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigurationError([f"{name} must be a number of seconds, not {text!r}"]) from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError([f"{name} must be a positive number of seconds"])
    return value


def timeout_from(environ: Mapping[str, str]) -> httpx2.Timeout:
    read = seconds(environ, "CAPGEN_UPSTREAM_TIMEOUT", DEFAULT_TIMEOUT)
    connect = seconds(
        environ, "CAPGEN_UPSTREAM_CONNECT_TIMEOUT", min(DEFAULT_CONNECT_TIMEOUT, read)
    )
    return httpx2.Timeout(read, connect=connect)


# ---------------------------------------------------------------------------------------------
# Values


def text(value: Any) -> str:
    """A value as it goes on the wire: booleans lower case, JSON for containers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def segment(name: str, value: Any) -> str:
    """One path segment, percent-encoded (``/``, ``?``, ``#``, ``%`` included)."""
    if value is None:
        raise InvalidInput(f"missing path parameter {name!r}")
    rendered = text(value)
    if rendered in ("", ".", ".."):
        raise InvalidInput(f"path parameter {name!r} may not be {rendered!r}")
    return quote(rendered, safe="")


def join(parts: Sequence[Any]) -> str | None:
    """A template's parts joined; ``None`` (absent) when any part is absent."""
    if any(part is None for part in parts):
        return None
    return "".join(text(part) for part in parts)


def drop_absent(fields: Mapping[str, Any]) -> dict[str, Any] | None:
    present = {key: value for key, value in fields.items() if value is not None}
    return present or None


# ---------------------------------------------------------------------------------------------
# Upstream calls


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    content_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_json(self) -> bool:
        kind = self.content_type.split(";", 1)[0].strip().lower()
        return kind == "application/json" or kind.endswith("+json")

    def json(self) -> Any:
        return json.loads(self.body)

    def excerpt(self) -> str:
        shown = self.body[:EXCERPT].decode("utf-8", "replace")
        return shown + ("…" if len(self.body) > EXCERPT else "")


PASSED_HEADERS = ("retry-after", "location", "etag", "last-modified", "cache-control")


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process (building one costs ~0.1 s); system CA store."""
    return ssl.create_default_context()


class Connection:
    """One upstream API: its base URL, credentials and a pooled HTTP client."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        timeout: httpx2.Timeout,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        auth: httpx2.Auth | tuple[str, str] | None = None,
    ):
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.auth_headers = dict(headers or {})
        self.auth_query = dict(query or {})
        self.client = httpx2.Client(
            verify=tls_context() if self.base_url.startswith("https:") else False,
            timeout=timeout,
            auth=auth,
            follow_redirects=False,
            trust_env=False,
            limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20),
        )

    def close(self) -> None:
        self.client.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, Any]] = (),
        headers: Sequence[tuple[str, Any]] = (),
        cookies: Sequence[tuple[str, Any]] = (),
        json_body: Any = None,
        form: Mapping[str, Any] | None = None,
        content: str | None = None,
        media_type: str = "application/json",
    ) -> UpstreamResponse:
        """Build one request from typed values (absent ones left out) and send it."""
        params: list[tuple[str, str]] = []
        for key, value in query:
            if value is None:
                continue
            if isinstance(value, (list, tuple)):
                params.extend((key, text(item)) for item in value if item is not None)
            else:
                params.append((key, text(value)))
        request_headers = {key: text(value) for key, value in headers if value is not None}
        cookie_pairs = [
            f"{key}={quote(text(value), safe='')}" for key, value in cookies if value is not None
        ]
        if cookie_pairs:
            request_headers["Cookie"] = "; ".join(cookie_pairs)
        body: bytes | None = None
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            request_headers["Content-Type"] = "application/json"
        elif form is not None:
            fields = [(k, text(v)) for k, v in form.items() if v is not None]
            body = urlencode(fields).encode("ascii")
            request_headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif content is not None:
            body = content.encode("utf-8")
            request_headers["Content-Type"] = f"{media_type}; charset=utf-8"
        return self.exchange(method, path, params, request_headers, body)

    def exchange(
        self,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]],
        request_headers: Mapping[str, str],
        body: bytes | None,
    ) -> UpstreamResponse:
        """Add the credentials, send, and map transport failures to ``UpstreamFailure``.

        ``send`` builds typed requests through it; ``forward`` routes call it directly with the
        caller's request as it came.
        """
        if not self.base_url:
            raise UpstreamFailure(
                503, "Upstream not configured", f"the base URL of {self.name} is not configured"
            )
        params = [*params, *self.auth_query.items()]
        request_headers = {**request_headers, **self.auth_headers}
        url = self.base_url + path
        started = time.perf_counter()
        outcome: int | str = "error"
        try:
            answer = self.client.request(
                method, url, params=params, headers=request_headers, content=body
            )
            outcome = answer.status_code
        except httpx2.TimeoutException:
            outcome = "timeout"
            raise UpstreamFailure(
                504, "Upstream timeout", f"{self.name} did not answer in time"
            ) from None
        except httpx2.InvalidURL:
            outcome = "invalid-url"
            raise UpstreamFailure(
                503, "Upstream not configured", f"the base URL of {self.name} is not a valid URL"
            ) from None
        except httpx2.HTTPError as exc:
            outcome = f"unreachable:{type(exc).__name__}"
            raise UpstreamFailure(
                502, "Upstream unreachable", f"{self.name} could not be reached"
            ) from None
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            LAST_UPSTREAM_STATUS.set(outcome)
            # key=value pairs; the URL never carries its query string (it may hold a key).
            log.log(
                logging.INFO if isinstance(outcome, int) else logging.WARNING,
                "upstream=%s method=%s url=%s status=%s duration_ms=%.1f",
                self.name,
                method,
                url,
                outcome,
                elapsed,
            )
        kept = {k: answer.headers[k] for k in PASSED_HEADERS if k in answer.headers}
        return UpstreamResponse(
            answer.status_code, answer.headers.get("content-type", ""), answer.content, kept
        )


def sub_path(value: str) -> str:
    """A relayed sub-path: every segment encoded; empty, ``.`` and ``..`` segments refused."""
    return "/".join(segment("path", part) for part in value.split("/"))


def basic(username: str, password: str) -> tuple[str, str]:
    return (username, password)


def digest(username: str, password: str) -> httpx2.DigestAuth:
    return httpx2.DigestAuth(username, password)


# ---------------------------------------------------------------------------------------------
# Output shaping (JSONPath compiled to steps at generation time)

ALL = object()  # the [*] step


@dataclass(frozen=True)
class Whole:
    def apply(self, document: Any, inputs: Mapping[str, Any]) -> Any:
        return document


@dataclass(frozen=True)
class Raw:
    """The upstream body passes through untouched, with its content type (see ``shape``)."""


@dataclass(frozen=True)
class Pick:
    steps: tuple[Any, ...]

    def apply(self, document: Any, inputs: Mapping[str, Any]) -> Any:
        return walk(document, self.steps)


@dataclass(frozen=True)
class Fields:
    items: tuple[tuple[str, Any], ...]

    def apply(self, document: Any, inputs: Mapping[str, Any]) -> Any:
        return {name: shape.apply(document, inputs) for name, shape in self.items}


@dataclass(frozen=True)
class Each:
    steps: tuple[Any, ...]
    item: Any

    def apply(self, document: Any, inputs: Mapping[str, Any]) -> Any:
        found = walk(document, self.steps)
        if found is None:
            return None
        if not isinstance(found, list):
            found = [found]
        return [self.item.apply(element, inputs) for element in found]


@dataclass(frozen=True)
class Static:
    value: Callable[[Mapping[str, Any]], Any]

    def apply(self, document: Any, inputs: Mapping[str, Any]) -> Any:
        return self.value(inputs)


def walk(document: Any, steps: Sequence[Any]) -> Any:
    """Follow JSONPath steps; a missing key or index gives ``None``, never an exception."""
    current = document
    for position, step in enumerate(steps):
        if step is ALL:
            if isinstance(current, dict):
                current = list(current.values())
            if not isinstance(current, list):
                return None
            rest = steps[position + 1 :]
            return [walk(element, rest) for element in current]
        if isinstance(step, int) and not isinstance(step, bool):
            if not isinstance(current, list) or not -len(current) <= step < len(current):
                return None
            current = current[step]
        elif isinstance(current, dict):
            current = current.get(step)
        else:
            return None
    return current


@dataclass(frozen=True)
class Result:
    """An upstream answer, decoded and shaped for the caller."""

    status: int
    data: Any = None
    has_data: bool = False
    raw: UpstreamResponse | None = None


def shape(response: UpstreamResponse, output: Any, inputs: Mapping[str, Any]) -> Result:
    """Apply the output mapping to a successful JSON answer; pass anything else through."""
    if response.status >= 400 or isinstance(output, Raw):
        return Result(response.status, raw=response)
    if not response.body:
        return Result(response.status)
    try:
        document = response.json()
    except ValueError:
        kind = response.content_type.split(";", 1)[0] or "no content type"
        raise UpstreamFailure(
            502,
            "Upstream answer is not JSON",
            f"the upstream answered {response.status} with a non-JSON body ({kind})",
        ) from None
    return Result(response.status, output.apply(document, inputs), True)


def mock(output: Any, inputs: Mapping[str, Any]) -> Result:
    """The answer of an operation that calls nothing: its static output values."""
    return Result(200, output.apply(None, inputs), True)


def compact(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON object without the members whose value is absent."""
    return {key: value for key, value in fields.items() if value is not None}


def problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "status": status, "detail": detail}
