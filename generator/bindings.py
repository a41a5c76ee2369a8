"""Caller inputs of one entry point (REST route or MCP tool) and how they bind to the
parameters of the upstream operation it calls.

DECISIONS.md in code: ``rest.x``/``tools.x``/``mcp.x``/``<namespace>.x`` are the caller's input
``x``; ``{{x}}`` is a template over inputs and bound variables; anything else a constant.
Inputs are found by exact name, then by normalised name (``project-id`` = ``project_id``).
Without declared ``inputParameters``, inputs are derived from the ``with`` sources, unfilled
path placeholders and unfilled required parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from generator import ir, names
from generator.consumed import (
    INPUT_PREFIXES,
    TEMPLATE_VAR,
    BuildAbort,
    ConsumedOp,
    schema_of,
    text_or_none,
)
from generator.diagnostics import DocPath, Reporter, format_doc_path

if TYPE_CHECKING:
    from generator.build import Builder


class InputResolver:
    """Caller inputs of one entry point, and how they bind to upstream parameters."""

    def __init__(self, builder: Builder, kind: str, adapter_namespace: str, path: DocPath):
        self.builder = builder
        self.kind = kind
        self.adapter_namespace = adapter_namespace
        self.path = path
        self.inputs: dict[str, ir.Input] = {}
        self.declared = False
        self.derived: set[str] = set()
        self.wire_names: set[str] = set()  # the exact names of the bound operation's parameters
        self.idents = names.Namer()

    @property
    def report(self) -> Reporter:
        return self.builder.report

    def add(self, item: ir.Input) -> None:
        self.inputs[item.name] = item
        self.idents.taken.add(item.ident)

    def frozen(self) -> tuple[ir.Input, ...]:
        return tuple(self.inputs.values())

    def declare(self, param: dict[str, Any], path: DocPath) -> None:
        self.declared = True
        name = str(param["name"])
        location = str(param.get("in") or "query")
        if location not in ("path", "query", "header", "cookie", "body"):
            location = "query"
        existing = self.lookup(name)
        if existing is not None and existing.location == "path":
            schema = schema_of(param)
            self.inputs[existing.name] = ir.Input(
                existing.name,
                existing.ident,
                "path",
                schema,
                True,
                text_or_none(param.get("description")),
            )
            return
        if location == "path" and self.kind == "rest":
            self.report.warning(
                path,
                f"path parameter {name!r} has no placeholder in the exposed path; it is read from the query",
            )
            location = "query"
        required = param.get("required")
        self.add(
            ir.Input(
                name,
                self.idents.claim(name, fallback="param"),
                location,  # type: ignore[arg-type]
                schema_of(param),
                True if not isinstance(required, bool) else required,
                text_or_none(param.get("description")),
            )
        )

    def lookup(self, name: str) -> ir.Input | None:
        """An input by exact name, else by normalised name (``task_id`` finds ``{task-id}``).

        Inputs derived from an explicit reference match by exact name only, so ``tools.a_0``
        and ``tools.a-0`` stay two inputs.
        """
        if name in self.inputs:
            return self.inputs[name]
        key = names.normalise(name)
        matches = [
            i
            for i in self.inputs.values()
            if names.normalise(i.name) == key and i.name not in self.derived
            # `Thing_ID` must not take the input of another parameter named exactly `thing_id`
            and not (i.name in self.wire_names and name in self.wire_names)
        ]
        return matches[0] if matches else None

    def reference(self, text: str) -> str | None:
        """``rest.x`` / ``tools.x`` / ``mcp.x`` / ``<namespace>.x`` -> ``x``."""
        if "." not in text:
            return None
        prefix, name = text.split(".", 1)
        if (
            prefix in INPUT_PREFIXES
            or prefix == self.adapter_namespace
            or prefix in self.builder.exposes_namespaces
        ):
            return name
        return None

    def need(self, name: str, feeding: ir.UpstreamParam | None, path: DocPath) -> ir.Input:
        existing = self.lookup(name)
        if existing is not None:
            return existing
        if self.declared:
            known = ", ".join(self.inputs) or "none"
            self.report.error(
                path, f"no input parameter named {name!r} is declared (declared: {known})"
            )
            raise BuildAbort
        location = feeding.location if feeding else "query"
        if location == "path" and self.kind == "rest":
            self.report.error(
                path,
                f"{name!r} fills an upstream path placeholder, but the exposed path has no "
                "matching placeholder; add it to the path or map a value with `with`",
            )
            raise BuildAbort
        schema = dict(feeding.schema) if feeding else {"type": "string"}
        required = True if location == "path" else bool(feeding and feeding.required)
        item = ir.Input(
            name,
            self.idents.claim(name, fallback="param"),
            location,  # type: ignore[arg-type]
            schema,
            required,
            feeding.description if feeding else None,
        )
        self.add(item)
        self.derived.add(name)
        return item

    def value(self, raw: Any, path: DocPath, feeding: ir.UpstreamParam | None) -> ir.ValueExpr:
        if isinstance(raw, str):
            ref = self.reference(raw.strip())
            if ref is not None and "{{" not in raw:
                return ir.FromInput(self.need(ref, feeding, path).name)
            if "{{" in raw:
                whole = TEMPLATE_VAR.fullmatch(raw.strip())
                if whole:
                    part = self.template_part(whole.group(1), path, feeding)
                    if isinstance(part, ir.InputRef):
                        return ir.FromInput(part.name)
                    if isinstance(part, ir.SettingRef):
                        return ir.FromSetting(part.attr)
                parts: list[ir.TemplatePart] = []
                position = 0
                for match in TEMPLATE_VAR.finditer(raw):
                    if match.start() > position:
                        parts.append(ir.Text(raw[position : match.start()]))
                    parts.append(self.template_part(match.group(1), path, None))
                    position = match.end()
                if position < len(raw):
                    parts.append(ir.Text(raw[position:]))
                return ir.Template(tuple(parts))
            return ir.Const(raw)
        if isinstance(raw, dict):
            return ir.ObjectExpr(
                tuple((str(k), self.value(v, (*path, str(k)), None)) for k, v in raw.items())
            )
        if isinstance(raw, list):
            return ir.ArrayExpr(tuple(self.value(v, (*path, i), None) for i, v in enumerate(raw)))
        return ir.Const(raw)

    def template_part(
        self, variable: str, path: DocPath, feeding: ir.UpstreamParam | None
    ) -> ir.TemplatePart:
        ref = self.reference(variable)
        if ref is not None:
            return ir.InputRef(self.need(ref, feeding, path).name)
        existing = self.lookup(variable)
        if existing is not None:
            return ir.InputRef(existing.name)
        secret = self.builder.secret(variable, path, declared_only=True)
        if secret is not None:
            return secret
        if "." in variable:
            self.report.error(path, f"placeholder {{{{{variable}}}}} has no source")
            raise BuildAbort
        return ir.InputRef(self.need(variable, feeding, path).name)

    def bind(self, op: ConsumedOp, with_map: Any, path: DocPath) -> tuple[ir.Binding, ...]:
        assert op.ir_op is not None
        params = op.ir_op.params
        bindings: dict[str, ir.Binding] = {}
        body = op.ir_op.body
        template_vars: set[str] = set()
        if body.kind in ("json", "form", "text") and body.ident and op.body is not None:
            template_vars = set(TEMPLATE_VAR.findall(repr(self.builder.consumed_body_template(op))))
        if not isinstance(with_map, dict):
            with_map = {}
        self.wire_names = {p.wire_name for p in params}
        for key, raw in with_map.items():
            key = str(key)
            wpath = (*path, key)
            candidates = [p for p in params if p.wire_name == key] or [
                p
                for p in params
                if names.normalise(p.wire_name) == names.normalise(key) and p.wire_name != "(body)"
            ]
            if len(candidates) > 1:
                where = " and ".join(p.location for p in candidates)
                self.report.error(
                    wpath,
                    f"`{key}` is ambiguous: {op.upstream_ns}.{op.name} has {key!r} in {where} "
                    f"({format_doc_path(op.doc_path)})",
                )
                raise BuildAbort
            if not candidates:
                if key in template_vars or any(v.split(".")[-1] == key for v in template_vars):
                    self.value(raw, wpath, None)
                    continue
                known = ", ".join(p.wire_name for p in params if p.wire_name != "(body)") or "none"
                self.report.error(
                    wpath,
                    f"`{key}` is not an input parameter of {op.upstream_ns}.{op.name} (it has: {known})",
                )
                raise BuildAbort
            param = candidates[0]
            bindings[param.ident] = ir.Binding(param.ident, self.value(raw, wpath, param))
        consumed_by_name = {(p.name, p.location): p for p in op.params}
        for param in params:
            if param.ident in bindings:
                continue
            if param.wire_name == "(body)":
                data = self.builder.consumed_body_template(op)
                bindings[param.ident] = ir.Binding(
                    param.ident, self.value(data, (*op.doc_path, "body"), None)
                )
                continue
            source = consumed_by_name.get((param.wire_name, param.location))
            if source is not None and source.has_value:
                bindings[param.ident] = ir.Binding(
                    param.ident, self.value(source.value, (*source.path, "value"), param)
                )
                continue
            existing = self.lookup(param.wire_name)
            if existing is not None:
                bindings[param.ident] = ir.Binding(param.ident, ir.FromInput(existing.name))
                continue
            if param.location == "path" or (param.required and not self.declared):
                if param.location == "path" and self.declared:
                    (op.reporter or self.report).error(
                        (*op.doc_path[:-2], "path"),
                        f"the placeholder {{{param.wire_name}}} in {op.path_text!r} has no source: "
                        f"no `with` entry or input parameter of {format_doc_path(self.path)} supplies {param.wire_name!r}",
                    )
                    raise BuildAbort
                if param.location == "path" and self.kind == "rest":
                    (op.reporter or self.report).error(
                        (*op.doc_path[:-2], "path"),
                        f"the placeholder {{{param.wire_name}}} in {op.path_text!r} has no source: "
                        "the exposed path has no matching placeholder and no `with` entry maps it",
                    )
                    raise BuildAbort
                item = self.need(param.wire_name, param, path)
                bindings[param.ident] = ir.Binding(param.ident, ir.FromInput(item.name))
        for param in params:
            binding = bindings.get(param.ident)
            if isinstance(binding, ir.Binding) and isinstance(binding.value, ir.FromInput):
                self.inherit_description(binding.value.name, param)
        ordered = [bindings[p.ident] for p in params if p.ident in bindings]
        return tuple(ordered)

    def inherit_description(self, name: str, param: ir.UpstreamParam) -> None:
        """A route's path input documents itself with the upstream parameter it fills."""
        item = self.inputs.get(name)
        if item is None or item.description is not None or param.description is None:
            return
        if item.location == "path" and param.location == "path":
            self.inputs[name] = ir.Input(
                item.name, item.ident, item.location, param.schema, item.required, param.description
            )
