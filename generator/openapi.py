"""The OpenAPI document of a REST adapter, built from the same IR as the Flask routes.

Because routes and document come from the same :class:`~generator.ir.Route` objects, they
cannot disagree: every ``{x}`` in a path has exactly one required path parameter ``x``; query,
header, cookie parameters and the request body come from the route's inputs; errors use one
shared ``application/problem+json`` schema.
"""

from __future__ import annotations

import copy
from typing import Any

from generator import ir

PROBLEM_REF = {"$ref": "#/components/responses/Problem"}


def _schema(schema: dict[str, Any], version: str) -> dict[str, Any]:
    result = copy.deepcopy(schema)
    if version.startswith("3.0"):
        _downgrade(result)
    return result


def _downgrade(schema: Any) -> None:
    """3.1 -> 3.0: an empty ``items`` is not allowed there."""
    if isinstance(schema, dict):
        if schema.get("type") == "array" and not schema.get("items"):
            schema["items"] = {}
        for value in schema.values():
            _downgrade(value)


def _parameters(route: ir.Route, version: str) -> list[dict[str, Any]]:
    parameters = []
    for item in route.entry.inputs:
        if item.location == "body":
            continue
        parameter: dict[str, Any] = {"name": item.name, "in": item.location}
        if item.description is not None:
            parameter["description"] = item.description
        parameter["required"] = True if item.location == "path" else item.required
        parameter["schema"] = _schema(item.schema, version)
        if item.schema.get("type") == "array" and item.location == "query":
            parameter["style"] = "form"
            parameter["explode"] = True
        parameters.append(parameter)
    return parameters


def _request_body(route: ir.Route, version: str) -> dict[str, Any] | None:
    body = [i for i in route.entry.inputs if i.location == "body"]
    if not body:
        return None
    if len(body) == 1 and body[0].schema.get("type") in ("object", "array"):
        only = body[0]
        schema = _schema(only.schema, version)
        result: dict[str, Any] = {"required": only.required}
        if only.description is not None:
            result["description"] = only.description
        result["content"] = {"application/json": {"schema": schema}}
        return result
    properties: dict[str, Any] = {}
    required: list[str] = []
    for item in body:
        prop = _schema(item.schema, version)
        if item.description is not None:
            prop["description"] = item.description
        properties[item.name] = prop
        if item.required:
            required.append(item.name)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {
        "required": bool(required),
        "content": {"application/json": {"schema": schema}},
    }


def _success(route: ir.Route, version: str) -> dict[str, Any]:
    entry = route.entry
    if isinstance(entry.output, ir.Raw):
        return {"description": "The upstream answer, passed through with its content type"}
    schema = _schema(entry.output_schema, version) if entry.output_schema else {}
    return {
        "description": "The upstream answer, shaped by the capability's output mapping",
        "content": {"application/json": {"schema": schema}},
    }


def _operation(route: ir.Route, version: str) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": route.operation_id, "tags": [route.tag]}
    if route.summary is not None:
        operation["summary"] = route.summary
    if route.description is not None:
        operation["description"] = route.description
    parameters = _parameters(route, version)
    if parameters:
        operation["parameters"] = parameters
    body = _request_body(route, version)
    if body is not None:
        operation["requestBody"] = body
    responses: dict[str, Any] = {"200": _success(route, version)}
    for status in ("400", "404", "502", "504"):
        responses[status] = PROBLEM_REF
    operation["responses"] = responses
    return operation


def _security(auth: ir.Auth | None) -> tuple[dict[str, Any], list[dict[str, list[str]]]]:
    if auth is None:
        return {}, []
    if auth.kind == "bearer":
        return {"bearerAuth": {"type": "http", "scheme": "bearer"}}, [{"bearerAuth": []}]
    if auth.kind == "basic":
        return {"basicAuth": {"type": "http", "scheme": "basic"}}, [{"basicAuth": []}]
    if auth.kind == "digest":
        return {"digestAuth": {"type": "http", "scheme": "digest"}}, [{"digestAuth": []}]
    scheme = {"type": "apiKey", "name": auth.key, "in": auth.placement or "header"}
    return {"apiKeyAuth": scheme}, [{"apiKeyAuth": []}]


def build_openapi(
    capability: ir.Capability, adapter: ir.RestAdapter, version: str = "3.1.0"
) -> dict[str, Any]:
    info: dict[str, Any] = {"title": capability.title, "version": capability.version}
    if capability.description:
        info["description"] = capability.description
    host = "localhost" if adapter.address in ("", "0.0.0.0", "::") else adapter.address
    paths: dict[str, dict[str, Any]] = {}
    for route in adapter.routes:
        for method in route.methods:
            operation = _operation(route, version)
            if route.forward is not None:
                operation["operationId"] = f"{route.operation_id}-{method.lower()}"
            paths.setdefault(route.path, {})[method.lower()] = operation
    tags = sorted({route.tag for route in adapter.routes})
    schemes, security = _security(adapter.auth)
    components: dict[str, Any] = {
        "schemas": {
            "Problem": {
                "type": "object",
                "description": "An error (RFC 9457 problem details)",
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                },
                "required": ["title", "status"],
            }
        },
        "responses": {
            "Problem": {
                "description": "An error: invalid input (400), unknown path (404), upstream unreachable or not JSON (502), upstream timeout (504)",
                "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                },
            }
        },
    }
    if schemes:
        components["securitySchemes"] = schemes
    document: dict[str, Any] = {
        "openapi": version,
        "info": info,
        "servers": [{"url": f"http://{host}:{adapter.port}"}],
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": components,
    }
    if security:
        document["security"] = security
    return document
