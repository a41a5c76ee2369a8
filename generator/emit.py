"""Stage 4 — emit: the IR becomes file texts, ``{relative path: text}``.

Python files come from the Jinja templates in ``templates/``; the OpenAPI document is built as
data (:mod:`generator.openapi`) and dumped as JSON/YAML.

Every string that comes from a capability document reaches Python source through exactly one
filter, :func:`py` (a Python literal built by ``repr``, so quotes, backslashes, newlines and
``{{``/``{%`` in the input are inert).  The templates never place document text anywhere
else: not in comments, not in docstrings, not in f-strings.  ``expr``/``shape`` render IR
values as Python expressions and use :func:`py` for every literal inside them.
"""

from __future__ import annotations

import functools
import json
import math
import os
from pathlib import Path
from typing import Any

import jinja2
import yaml

from generator import ir
from generator.openapi import build_openapi

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
RUNTIME_FILES = ("_runtime.py", "_rest.py", "_mcp.py")


def py(value: Any) -> str:
    """A Python literal for a JSON-like value (the only way document text enters code)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else 'float("-inf")'
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(py(v) for v in value)
        if isinstance(value, tuple):
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        return f"[{inner}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py(str(k))}: {py(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no literal for {type(value).__name__}")


def expr(value: ir.ValueExpr | ir.TemplatePart, settings: str = "client.settings") -> str:
    """A Python expression computing a bound value from ``inputs`` and settings."""
    if isinstance(value, ir.Const):
        return py(value.value)
    if isinstance(value, (ir.FromInput, ir.InputRef)):
        return f"inputs.get({py(value.name)})"
    if isinstance(value, (ir.FromSetting, ir.SettingRef)):
        return f"{settings}.{value.attr}"
    if isinstance(value, ir.Text):
        return py(value.text)
    if isinstance(value, ir.Template):
        parts = ", ".join(expr(p, settings) for p in value.parts)
        return f"rt.join(({parts},))"
    if isinstance(value, ir.ObjectExpr):
        members = ", ".join(f"{py(k)}: {expr(v, settings)}" for k, v in value.items)
        return f"rt.compact({{{members}}})"
    if isinstance(value, ir.ArrayExpr):
        return "[" + ", ".join(expr(v, settings) for v in value.items) + "]"
    raise TypeError(type(value).__name__)


def concat(template: ir.Template, settings: str = "settings") -> str:
    """A settings-only template as string concatenation (values are never absent)."""
    pieces = [expr(p, settings) for p in template.parts] or ['""']
    return " + ".join(pieces)


def step(value: ir.Step) -> str:
    return "rt.ALL" if isinstance(value, ir.Wildcard) else py(value)


def steps(values: tuple[ir.Step, ...]) -> str:
    inner = ", ".join(step(s) for s in values)
    return f"({inner},)" if len(values) == 1 else f"({inner})"


def shape(value: ir.OutputShape) -> str:
    """A runtime output-shape constructor."""
    if isinstance(value, ir.Whole):
        return "rt.Whole()"
    if isinstance(value, ir.Raw):
        return "rt.Raw()"
    if isinstance(value, ir.Pick):
        return f"rt.Pick({steps(value.steps)})"
    if isinstance(value, ir.Fields):
        items = ", ".join(f"({py(name)}, {shape(sub)})" for name, sub in value.items)
        return f"rt.Fields(({items},))" if len(value.items) == 1 else f"rt.Fields(({items}))"
    if isinstance(value, ir.Each):
        return f"rt.Each({steps(value.steps)}, {shape(value.item)})"
    if isinstance(value, ir.Static):
        return f"rt.Static(lambda inputs: {expr(value.value)})"
    raise TypeError(type(value).__name__)


PY_TYPES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "array": "list[Any]",
    "object": "dict[str, Any]",
}


def pytype(schema: dict[str, Any]) -> str:
    return PY_TYPES.get(str(schema.get("type")), "Any")


def path_expr(operation: ir.UpstreamOp) -> str:
    """The upstream path as a concatenation of literals and encoded segments."""
    wire = {p.ident: p.wire_name for p in operation.params}
    pieces: list[str] = []
    for part in operation.path:
        if isinstance(part, ir.Text):
            pieces.append(py(part.text))
        else:
            pieces.append(f"rt.segment({py(wire[part.ident])}, {part.ident})")
    return " + ".join(pieces) or '""'


def upper(ident: str) -> str:
    return ident.upper()


def param_items(schema: dict[str, Any]) -> str | None:
    items = schema.get("items")
    if isinstance(items, dict) and isinstance(items.get("type"), str):
        return str(items["type"])
    return None


def env_names(settings: tuple[ir.Setting, ...]) -> dict[str, list[ir.Setting]]:
    required = [s for s in settings if s.default is None]
    optional = [s for s in settings if s.default is not None]
    return {"required": required, "optional": optional}


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates are cached per user (they only depend on the template files)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "capgen" / f"jinja-{jinja2.__version__}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(
        py=py,
        expr=expr,
        concat=concat,
        shape=shape,
        pytype=pytype,
        path_expr=path_expr,
        upper=upper,
        param_items=param_items,
    )
    env.globals.update(env_names=env_names)
    return env


def _render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def markdown_text(value: str | None) -> str:
    """Document text for the generated README: one line, table-safe, HTML inert."""
    if not value:
        return ""
    text = " ".join(value.split())
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def stdio_config(adapter: ir.McpAdapter, capability: ir.Capability, root: str) -> str:
    """A client configuration snippet (JSON) that starts this MCP server over stdio."""
    env = {s.env_name: "…" for s in capability.settings if s.default is None}
    server: dict[str, Any] = {
        "command": "python",
        "args": ["-m", f"{root}.{capability.package}.{adapter.module}", "--stdio"],
    }
    if env:
        server["env"] = env
    return json.dumps({"mcpServers": {adapter.namespace: server}}, ensure_ascii=False)


def http_config(adapter: ir.McpAdapter) -> str:
    """A client configuration snippet (JSON) for the streamable HTTP transport."""
    url = f"http://{adapter.address}:{adapter.port}/mcp"
    return json.dumps({"mcpServers": {adapter.namespace: {"url": url}}}, ensure_ascii=False)


def tool_arguments(tool: ir.Tool) -> str:
    """A tool's arguments for the README: ``**name**`` (required) / ``name``, with types."""
    shown = []
    for item in tool.entry.inputs:
        name = markdown_text(item.name).replace("`", "")
        text = f"`{name}`: {item.schema.get('type', 'any')}"
        shown.append(f"**{text}**" if item.required else text)
    return ", ".join(shown) or "none"


def emit_capability(
    capability: ir.Capability, openapi_version: str, root: str = "generated"
) -> dict[str, str]:
    """All files of one capability package, keyed by path relative to the output folder.

    ``root`` is the output folder's package name (``generated``), used in run instructions;
    generated modules import each other relatively, so any folder name works.
    """
    files: dict[str, str] = {}
    package = capability.package
    context = {
        "capability": capability,
        "md": markdown_text,
        "root": root,
        "tool_arguments": tool_arguments,
        "stdio_config": lambda adapter: stdio_config(adapter, capability, root),
        "http_config": http_config,
    }
    files[f"{package}/__init__.py"] = _render("package/__init__.py.j2", **context)
    files[f"{package}/settings.py"] = _render("package/settings.py.j2", **context)
    upstream_uses_any = any(
        "Any" in pytype(param.schema)
        for upstream in capability.upstreams
        for op in upstream.operations
        for param in op.params
    )
    files[f"{package}/upstream.py"] = _render(
        "package/upstream.py.j2", uses_any=upstream_uses_any, **context
    )
    for adapter in capability.rest_adapters:
        document = build_openapi(capability, adapter, openapi_version)
        stem = (
            "openapi"
            if adapter.module == "rest"
            else f"openapi_{adapter.module.removeprefix('rest_')}"
        )
        files[f"{package}/{adapter.module}.py"] = _render(
            "package/rest.py.j2",
            adapter=adapter,
            openapi_file=f"{stem}.json",
            uses_param=any(route.entry.inputs for route in adapter.routes),
            uses_rt=any(route.forward is None for route in adapter.routes),
            uses_forward=any(route.forward is not None for route in adapter.routes),
            **context,
        )
        files[f"{package}/{stem}.json"] = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        files[f"{package}/{stem}.yaml"] = yaml.safe_dump(
            document, sort_keys=False, allow_unicode=True, width=100
        )
    for mcp in capability.mcp_adapters:
        files[f"{package}/{mcp.module}.py"] = _render(
            "package/mcp_server.py.j2", adapter=mcp, **context
        )
    files[f"{package}/README.md"] = _render("package/README.md.j2", **context)
    files[f"{package}/requirements.txt"] = _render("package/requirements.txt.j2", **context)
    return files


def emit_shared() -> dict[str, str]:
    """Files shared by every capability package: the output package's ``__init__`` and runtime."""
    files = {"__init__.py": _render("package/root_init.py.j2")}
    for name in RUNTIME_FILES:
        files[name] = (TEMPLATES / "runtime" / name).read_text("utf-8")
    return files
