"""Output shapes: a capability's ``outputParameters`` compiled to IR shapes and a JSON Schema.

``mapping: $.`` is the whole upstream JSON, ``$.a.b`` a subtree; an ``object`` with
``properties`` maps each property from the upstream root (as the reference engine does); an
``array`` with ``items`` maps each element (item mappings relative to the element); a static
``value`` is a mock answer.  Several outputs build one object keyed by their names.  A
non-JSON ``outputRawFormat`` passes the upstream body through.
"""

from __future__ import annotations

from typing import Any

from generator import ir
from generator.bindings import InputResolver
from generator.consumed import TYPES, BuildAbort
from generator.diagnostics import DocPath
from generator.jsonpath import JsonPathError, compile_jsonpath


def output_shape(
    outputs: list[Any], path: DocPath, raw_format: str, resolver: InputResolver
) -> tuple[ir.OutputShape, dict[str, Any] | None]:
    """The shape of an entry point's answer and its JSON Schema (``None`` when unknown)."""
    if raw_format != "json":
        return ir.Raw(), None
    valid = [(i, o) for i, o in enumerate(outputs) if isinstance(o, dict)]
    if not valid:
        return ir.Whole(), None
    if len(valid) == 1:
        i, only = valid[0]
        return shape_of(only, (*path, i), resolver)
    items: list[tuple[str, ir.OutputShape]] = []
    properties: dict[str, Any] = {}
    for i, output in valid:
        name = str(output.get("name") or f"value{i}")
        shape, schema = shape_of(output, (*path, i), resolver)
        items.append((name, shape))
        properties[name] = schema or {}
    return ir.Fields(tuple(items)), {"type": "object", "properties": properties}


def shape_of(
    output: dict[str, Any], path: DocPath, resolver: InputResolver
) -> tuple[ir.OutputShape, dict[str, Any] | None]:
    kind = output.get("type") if output.get("type") in TYPES else None
    schema: dict[str, Any] = {"type": kind} if kind else {}
    if "value" in output and "mapping" not in output:
        value = output["value"]
        if isinstance(value, str) and value.startswith("$"):
            steps = _steps(value, (*path, "value"), resolver)
            return (ir.Whole() if not steps else ir.Pick(steps)), schema or None
        static = resolver.value(value, (*path, "value"), None)
        if _reads_settings(static):
            resolver.report.error(
                (*path, "value"),
                "a static output value may not use a bound variable (it would reveal a "
                "setting or secret to the caller)",
            )
            raise BuildAbort
        return ir.Static(static), schema or None
    mapping = output.get("mapping")
    steps: tuple[ir.Step, ...] = ()
    if isinstance(mapping, str):
        steps = _steps(mapping, (*path, "mapping"), resolver)
    properties = output.get("properties")
    if kind == "array" and isinstance(output.get("items"), dict):
        item_shape, item_schema = shape_of(output["items"], (*path, "items"), resolver)
        schema["items"] = item_schema or {}
        return ir.Each(steps, item_shape), schema
    if isinstance(properties, dict) and properties:
        fields: list[tuple[str, ir.OutputShape]] = []
        props_schema: dict[str, Any] = {}
        for key, sub in properties.items():
            if not isinstance(sub, dict):
                continue
            sub_shape, sub_schema = shape_of(sub, (*path, "properties", key), resolver)
            fields.append((str(key), sub_shape))
            props_schema[str(key)] = sub_schema or {}
        schema = {"type": "object", "properties": props_schema}
        return ir.Fields(tuple(fields)), schema
    if not steps and mapping is None and kind == "object":
        return ir.Whole(), schema
    if kind == "array":
        schema["items"] = {}
    if not steps:
        return ir.Whole(), schema or None
    return ir.Pick(steps), schema or None


def _steps(expression: str, path: DocPath, resolver: InputResolver) -> tuple[ir.Step, ...]:
    try:
        return compile_jsonpath(expression)
    except JsonPathError as exc:
        resolver.report.error(path, str(exc))
        raise BuildAbort from None


def _reads_settings(value: ir.ValueExpr) -> bool:
    if isinstance(value, ir.FromSetting):
        return True
    if isinstance(value, ir.Template):
        return any(isinstance(part, ir.SettingRef) for part in value.parts)
    if isinstance(value, ir.ObjectExpr):
        return any(_reads_settings(item) for _, item in value.items)
    if isinstance(value, ir.ArrayExpr):
        return any(_reads_settings(item) for item in value.items)
    return False
