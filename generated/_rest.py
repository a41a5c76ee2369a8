"""Flask glue shared by every generated REST adapter.

Written by capgen; do not edit (regenerate instead).  Reads caller inputs (path, query,
header, cookie, JSON body) with type checks, turns upstream answers into responses, and maps
every failure to an ``application/problem+json`` body without tracebacks or secrets.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from ._runtime import (
    LAST_UPSTREAM_STATUS,
    ConfigurationError,
    Connection,
    InvalidInput,
    Result,
    UpstreamFailure,
    problem,
    sub_path,
)

log = logging.getLogger("capgen.rest")

DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Param:
    """One caller input of a route."""

    name: str
    location: str
    type: str = "string"
    required: bool = False
    items: str | None = None


def _convert(param: Param, raw: str, kind: str | None = None) -> Any:
    kind = kind or param.type
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise InvalidInput(
                f"{param.location} parameter {param.name!r} must be an integer"
            ) from None
    if kind == "number":
        try:
            return float(raw) if any(c in raw for c in ".eE") else int(raw)
        except ValueError:
            raise InvalidInput(
                f"{param.location} parameter {param.name!r} must be a number"
            ) from None
    if kind == "boolean":
        lowered = raw.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise InvalidInput(f"{param.location} parameter {param.name!r} must be true or false")
    if kind in ("object", "array"):
        try:
            return json.loads(raw)
        except ValueError:
            raise InvalidInput(f"{param.location} parameter {param.name!r} must be JSON") from None
    return raw


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _json_body() -> Any:
    data = request.get_data(cache=True)
    if not data:
        return None
    kind = (request.mimetype or "").lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise InvalidInput(
            f"the request body must be JSON (Content-Type: application/json), not {kind or 'unspecified'}",
            415,
        )
    try:
        return json.loads(data)
    except ValueError:
        raise InvalidInput("the request body is not valid JSON") from None


def _check_type(param: Param, value: Any) -> Any:
    allowed = _JSON_TYPES.get(param.type)
    wrong_bool = isinstance(value, bool) and param.type in ("integer", "number")
    if allowed and (not isinstance(value, allowed) or wrong_bool):
        raise InvalidInput(f"body {param.name!r} must be of type {param.type}")
    return value


def read_inputs(params: Sequence[Param], path_values: Mapping[str, str]) -> dict[str, Any]:
    """The caller's inputs by name; absent optional inputs are left out."""
    inputs: dict[str, Any] = {}
    body_params = [p for p in params if p.location == "body"]
    whole_body = len(body_params) == 1 and body_params[0].type in ("object", "array")
    body: Any = None
    if body_params:
        body = _json_body()
    for param in params:
        value: Any = None
        if param.location == "path":
            value = path_values.get(param.name)
            if value is not None and param.type in ("integer", "number", "boolean"):
                value = _convert(param, value)
        elif param.location == "query":
            values = request.args.getlist(param.name)
            if values:
                if param.type == "array":
                    value = [_convert(param, v, param.items or "string") for v in values]
                else:
                    value = _convert(param, values[0])
        elif param.location == "header":
            raw = request.headers.get(param.name)
            value = None if raw is None else _convert(param, raw)
        elif param.location == "cookie":
            raw = request.cookies.get(param.name)
            value = None if raw is None else _convert(param, raw)
        elif param.location == "body":
            if whole_body:
                value = None if body is None else _check_type(param, body)
            elif isinstance(body, dict):
                value = body.get(param.name)
                if value is not None:
                    _check_type(param, value)
            elif body is not None:
                raise InvalidInput("the request body must be a JSON object")
        if value is None:
            if param.required:
                what = (
                    "request body"
                    if param.location == "body" and whole_body
                    else f"{param.location} parameter {param.name!r}"
                )
                raise InvalidInput(f"missing required {what}")
            continue
        inputs[param.name] = value
    return inputs


def relay(
    connection: Connection,
    path: str,
    *,
    trusted_headers: Sequence[str],
    headers: Mapping[str, str],
    query: Mapping[str, str],
) -> Result:
    """A ``forward`` route: the caller's request relayed as it is; only trusted headers pass.

    ``headers``/``query`` are the consumed API's own fixed parameters; they win over the
    caller's, like the upstream credentials.
    """
    passed = {name: request.headers[name] for name in trusted_headers if name in request.headers}
    headers = {**passed, **headers}
    body = request.get_data() or None
    if body is not None and request.content_type:
        headers["Content-Type"] = request.content_type
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k not in query]
    pairs.extend(query.items())
    answer = connection.exchange(request.method, "/" + sub_path(path), pairs, headers, body)
    return Result(answer.status, raw=answer)


def respond(result: Result) -> Response:
    """The caller's response for an upstream answer."""
    if result.raw is not None:
        raw = result.raw
        response = Response(raw.body, status=raw.status)
        if raw.content_type:
            response.headers["Content-Type"] = raw.content_type
        for name, value in raw.headers.items():
            response.headers[name] = value
        return response
    if not result.has_data:
        return Response(b"", status=result.status)
    body = json.dumps(result.data, ensure_ascii=False)
    return Response(body, status=result.status, mimetype="application/json")


def problem_response(status: int, title: str, detail: str) -> Response:
    body = json.dumps(problem(status, title, detail), ensure_ascii=False)
    return Response(body, status=status, mimetype=PROBLEM)


def _handle_invalid(exc: InvalidInput) -> Response:
    title = "Unsupported media type" if exc.status == 415 else "Invalid request"
    return problem_response(exc.status, title, exc.detail)


def _handle_upstream(exc: UpstreamFailure) -> Response:
    return problem_response(exc.status, exc.title, exc.detail)


def _handle_http(exc: HTTPException) -> Response:
    status = exc.code or 500
    detail = {
        404: "no route matches this path",
        405: "this path does not accept this method",
        413: "the request body is too large",
    }.get(status, exc.name)
    response = problem_response(status, exc.name, detail)
    allow = exc.get_response().headers.get("Allow") if status == 405 else None
    if allow:
        response.headers["Allow"] = allow
    return response


def _handle_unexpected(exc: Exception) -> Response:
    log.error("unhandled %s while serving %s %s", type(exc).__name__, request.method, request.path)
    return problem_response(500, "Internal error", "the adapter failed while handling this request")


def _start_timer() -> None:
    g.capgen_started = time.perf_counter()
    LAST_UPSTREAM_STATUS.set(None)


def _log_request(response: Response) -> Response:
    started = g.get("capgen_started")
    elapsed = (time.perf_counter() - started) * 1000 if started else 0.0
    log.info(
        "method=%s path=%s status=%s duration_ms=%.1f upstream_status=%s",
        request.method,
        request.path,
        response.status_code,
        elapsed,
        LAST_UPSTREAM_STATUS.get() or "-",
    )
    return response


def build_app(
    name: str,
    blueprint: Blueprint,
    extension_key: str,
    client: Any,
    openapi_file: Path,
    environ: Mapping[str, str] | None = None,
) -> Flask:
    """A Flask app serving ``blueprint``, ``/healthz``, ``/openapi.json`` and ``/docs``."""
    environ = os.environ if environ is None else environ
    app = Flask(name)
    # An encoded slash (``..%2f``) decodes to ``//``; never answer it with a redirect (HTML,
    # outside the problem+json handlers) to a merged path such as ``/tasks/../runs``.
    app.url_map.merge_slashes = False
    try:
        limit = int(environ.get("CAPGEN_MAX_REQUEST_BYTES", "") or DEFAULT_MAX_REQUEST_BYTES)
    except ValueError:
        raise ConfigurationError(
            ["CAPGEN_MAX_REQUEST_BYTES must be a whole number of bytes"]
        ) from None
    app.config["MAX_CONTENT_LENGTH"] = limit
    app.extensions[extension_key] = client
    app.register_blueprint(blueprint)
    app.register_error_handler(InvalidInput, _handle_invalid)
    app.register_error_handler(UpstreamFailure, _handle_upstream)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
    app.before_request(_start_timer)
    app.after_request(_log_request)
    document = openapi_file.read_bytes() if openapi_file.exists() else b"{}"

    @app.get("/healthz")
    def healthz() -> Response:
        return Response(b'{"status":"ok"}', mimetype="application/json")

    @app.get("/openapi.json")
    def openapi_json() -> Response:
        return Response(document, mimetype="application/json")

    _mount_docs(app)
    return app


def _mount_docs(app: Flask) -> None:
    """Interactive docs at ``/docs`` from the locally installed Swagger UI (no internet)."""
    try:
        from flask_swagger_ui import get_swaggerui_blueprint
    except ImportError:

        @app.get("/docs")
        def docs() -> Response:
            page = (
                "<!doctype html><title>API docs</title><p>Install <code>flask-swagger-ui</code> "
                'for the interactive page; the document is at <a href="/openapi.json">/openapi.json</a>.'
            )
            return Response(page, mimetype="text/html")

        return
    app.register_blueprint(get_swaggerui_blueprint("/docs", "/openapi.json"), name="docs")


def serve(
    create_app: Any, default_port: int, default_host: str, argv: Sequence[str] | None = None
) -> None:
    """``python -m <out>.<package>.rest [--host H] [--port P]`` (development server)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        description="Serve this REST adapter (Flask development server)."
    )
    parser.add_argument("--host", default=default_host)
    parser.add_argument("--port", type=int, default=default_port)
    options = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        app = create_app()
    except ConfigurationError as exc:
        print(f"error: cannot start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    app.run(host=options.host, port=options.port)
