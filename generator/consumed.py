"""The consumed side of a document as the builder reads it, plus helpers shared by the
builder (:mod:`generator.build`) and the input resolver (:mod:`generator.bindings`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from generator import ir
from generator.diagnostics import DocPath, Reporter

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}|\{([^{}]+)\}")
TEMPLATE_VAR = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
INPUT_PREFIXES = ("rest", "tools", "mcp")
TYPES = ("string", "number", "integer", "boolean", "array", "object")


class BuildAbort(Exception):
    """An entry point cannot be built; its diagnostics were reported already."""


@dataclass
class Bind:
    env_name: str
    namespace: str


@dataclass
class ConsumedParam:
    name: str
    location: str
    schema: dict[str, Any]
    required: bool | None
    description: str | None
    value: Any
    has_value: bool
    path: DocPath


@dataclass
class ConsumedOp:
    upstream_ns: str
    name: str
    method: str
    path_text: str
    params: list[ConsumedParam]
    body: Any
    raw_format: str
    description: str | None
    doc_path: DocPath
    ir_op: ir.UpstreamOp | None = None
    reporter: Reporter | None = None  # set when the operation comes from an imported file


@dataclass
class ConsumedApi:
    namespace: str
    attr: str
    ops: list[ConsumedOp] = field(default_factory=list)
    ir_upstream: ir.Upstream | None = None
    shared_params: list[ConsumedParam] = field(default_factory=list)
    reporter: Reporter | None = None  # the file this entry was read from (imports)


def schema_of(declared: dict[str, Any]) -> dict[str, Any]:
    kind = declared.get("type")
    if kind not in TYPES:
        kind = "string"
    schema: dict[str, Any] = {"type": kind}
    if kind == "array":
        items = declared.get("items")
        schema["items"] = schema_of(items) if isinstance(items, dict) else {}
    return schema


def port_or(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def has_static_value(output: Any) -> bool:
    """Whether an output declares a static ``value`` anywhere (a mock operation)."""
    if isinstance(output, dict):
        if "value" in output:
            return True
        return any(
            has_static_value(v) for v in (output.get("properties") or {}).values()
        ) or has_static_value(output.get("items"))
    return False


def text_or_none(value: Any) -> str | None:
    """Document text as ``str`` (numbers and booleans written as text), or ``None``."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)
