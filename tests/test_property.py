"""Property tests (hypothesis): random valid documents with hostile names and text always compile
to safe, valid Python whose descriptions round-trip verbatim; random invalid documents always
give located diagnostics, never an exception.

Examples per property: 500 in the default run (``make test``, CI); ``make nightly`` runs the
``nightly`` profile (20,000); ``CAPGEN_HYPOTHESIS_EXAMPLES=N`` sets any other number.
Everything runs in memory except the one YAML input file per example.
"""

from __future__ import annotations

import ast
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from generator.diagnostics import Severity
from generator.pipeline import compile_paths
from tests.strategies import METHODS, Doc, capability_documents, dump

PROFILE_EXAMPLES = {"default": 500, "nightly": 20_000}
EXAMPLES = int(
    os.environ.get(
        "CAPGEN_HYPOTHESIS_EXAMPLES",
        PROFILE_EXAMPLES.get(os.environ.get("CAPGEN_HYPOTHESIS_PROFILE", "default"), 500),
    )
)
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
PACKAGE = "prop"
FORBIDDEN_CALLS = {"system", "__import__", "eval", "exec", "popen"}


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="capgen-prop-") as name:
        yield Path(name)


def compile_doc(workdir: Path, data: dict[str, Any], *, in_hypothesis: bool = True):  # type: ignore[no-untyped-def]
    path = workdir / f"{PACKAGE}.yaml"
    text = dump(data)
    if in_hypothesis:
        note(text)
    path.write_text(text, encoding="utf-8")
    return compile_paths([path])


def _is_main_guard(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
        and len(node.test.comparators) == 1
        and isinstance(node.test.comparators[0], ast.Constant)
        and node.test.comparators[0].value == "__main__"
    )


def check_module(name: str, source: str) -> ast.Module:
    compile(source, name, "exec", dont_inherit=True)
    tree = ast.parse(source, name)
    for index, statement in enumerate(tree.body):
        if index == 0 and isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # docstring
        allowed = (
            ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.FunctionDef,
            ast.AsyncFunctionDef, ast.ClassDef,
        )
        assert isinstance(statement, allowed) or _is_main_guard(statement), (
            name, statement.lineno, ast.dump(statement)[:200],
        )
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            assert called not in FORBIDDEN_CALLS, (name, node.lineno, ast.unparse(node)[:200])
    return tree


def mcp_tools(tree: ast.Module) -> dict[str, dict[str, Any]]:
    """Tool name -> {title, description, input_schema} read from the module's AST."""
    schemas: dict[str, Any] = {}
    for statement in tree.body:
        target = value = None
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            target, value = statement.target.id, statement.value
        elif isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
            target, value = statement.targets[0].id, statement.value
        if target and target.endswith("_SCHEMA") and value is not None:
            schemas[target] = ast.literal_eval(value)
    tools: dict[str, dict[str, Any]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "ToolSpec":
            keywords = {k.arg: k.value for k in node.keywords}
            name = ast.literal_eval(keywords["name"])
            schema_node = keywords["input_schema"]
            schema = (
                schemas[schema_node.id] if isinstance(schema_node, ast.Name) else ast.literal_eval(schema_node)
            )
            tools[name] = {
                "title": ast.literal_eval(keywords["title"]),
                "description": ast.literal_eval(keywords["description"]),
                "input_schema": schema,
            }
    return tools


def module_constant(tree: ast.Module, name: str) -> Any:
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in statement.targets
        ):
            return ast.literal_eval(statement.value)
    raise AssertionError(f"no module constant {name}")


def find_operation(openapi: dict[str, Any], operation_id: str) -> dict[str, Any]:
    found = [
        op
        for item in openapi["paths"].values()
        for method, op in item.items()
        if method in {m.lower() for m in METHODS} and op.get("operationId") == operation_id
    ]
    assert len(found) == 1, (operation_id, list(openapi["paths"]))
    return found[0]


@PROPERTY_SETTINGS
@given(doc=capability_documents())
def test_valid_documents_compile_to_safe_code_that_keeps_text(workdir: Path, doc: Doc) -> None:
    compilation = compile_doc(workdir, doc.data)
    errors = [d.render() for d in compilation.diagnostics.errors]
    assert not errors, errors

    trees: dict[str, ast.Module] = {}
    for path, source in compilation.files.items():
        if path.startswith(f"{PACKAGE}/") and path.endswith(".py"):
            trees[path] = check_module(path, source)
    assert {f"{PACKAGE}/rest.py", f"{PACKAGE}/mcp_server.py", f"{PACKAGE}/upstream.py"} <= set(trees)

    # OpenAPI: every text verbatim.
    openapi = json.loads(compilation.files[f"{PACKAGE}/openapi.json"])
    assert openapi["info"]["title"] == doc.label
    assert openapi["info"]["description"] == doc.description
    for op in doc.operations:
        operation = find_operation(openapi, op.name)
        if op.rest_description:
            assert operation.get("description") == op.rest_description
        if op.rest_label:
            assert operation.get("summary") == op.rest_label
        parameters = {(p["in"], p["name"]): p for p in operation.get("parameters", [])}
        for param in op.params:
            assert (param.location, param.name) in parameters, (param, sorted(parameters))
            got = parameters[(param.location, param.name)]
            assert got.get("description") == param.description, (param.name, got)
            assert got.get("required", False) == param.required, (param.name, got)

    # MCP: tool names, titles, descriptions and parameter descriptions verbatim.
    mcp = trees[f"{PACKAGE}/mcp_server.py"]
    instructions = module_constant(mcp, "INSTRUCTIONS")
    assert instructions == (doc.mcp_description or None) or instructions == doc.mcp_description
    tools = mcp_tools(mcp)
    assert sorted(tools) == sorted(op.tool_name for op in doc.operations)
    for op in doc.operations:
        tool = tools[op.tool_name]
        assert tool["description"] == op.tool_description
        assert tool["title"] == (op.tool_label or None) or tool["title"] == op.tool_label
        schema = tool["input_schema"]
        properties = schema["properties"]
        for param in op.params:
            assert param.name in properties, (param.name, sorted(properties))
            assert properties[param.name].get("description") == param.description
            assert (param.name in schema.get("required", [])) == param.required, (param.name, schema)


# --- invalid documents ----------------------------------------------------------------------


def _mutations(doc: Doc) -> st.SearchStrategy[tuple[str, tuple[str | int, ...], Any]]:
    """(what, document path, new value) for one targeted fault."""
    ops = range(len(doc.operations))
    return st.one_of(
        st.tuples(
            st.just("port"),
            st.sampled_from([("capability", "exposes", 0, "port"), ("capability", "exposes", 1, "port")]),
            st.sampled_from(["eighty", "8080x", "", "on", "yes", "12:30", "[8080]"]),
        ),
        st.tuples(
            st.just("method"),
            st.sampled_from(ops).map(lambda i: ("capability", "consumes", 0, "resources", i, "operations", 0, "method")),
            st.sampled_from(["FETCH", "get", "", "GETS", "TRACE", "CONNECT"]),
        ),
        st.tuples(
            st.just("call"),
            st.sampled_from(ops).map(lambda i: ("capability", "exposes", 1, "tools", i, "call")),
            st.sampled_from(["nosuch.op0", f"{doc.namespace}.nosuchop", f"{doc.namespace}.", "op0", f"{doc.namespace}.op9"]),
        ),
        st.tuples(
            st.just("rest call"),
            st.sampled_from(ops).map(
                lambda i: ("capability", "exposes", 0, "resources", i, "operations", 0, "call")
            ),
            st.sampled_from([f"{doc.namespace}.missing", "x.y"]),
        ),
        st.tuples(
            st.just("with"),
            st.sampled_from(ops).map(lambda i: ("capability", "exposes", 1, "tools", i, "with", "not-a-param")),
            st.just("tools.x"),
        ),
        st.tuples(
            st.just("tool name"),
            st.sampled_from(ops).map(lambda i: ("capability", "exposes", 1, "tools", i, "name")),
            st.sampled_from(["has space", "x" * 65, "dot.name", "é"]),
        ),
    )


def _set(data: Any, path: tuple[str | int, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


@PROPERTY_SETTINGS
@given(data=st.data())
def test_invalid_documents_give_located_errors(workdir: Path, data: st.DataObject) -> None:
    doc = data.draw(capability_documents())
    what, path, value = data.draw(_mutations(doc))
    if what == "port" and value == "[8080]":
        value = [8080]
    _set(doc.data, path, value)
    compilation = compile_doc(workdir, doc.data)  # must not raise
    errors = compilation.diagnostics.errors
    assert errors, (what, path, value)
    for error in errors:
        assert error.severity is Severity.ERROR
        assert error.line >= 1 and error.column >= 1
        assert error.doc_path, error.render()
        assert error.file.endswith(f"{PACKAGE}.yaml")
    assert any(tuple(error.doc_path[: len(path)]) == path for error in errors), (
        path, [e.render() for e in errors],
    )
    assert not compilation.files


def test_case_twin_of_a_route_variable_stays_its_own_parameter(workdir: Path) -> None:
    """Found by the property above: a query `Thing_ID` next to the path `thing_id` was bound to
    the route variable on REST (upstream got the path value; the query disappeared)."""
    from tests.strategies import Doc, Operation, Param, to_data

    op = Operation(
        0, "GET", [Param("thing_id", "path", True, "path one"), Param("Thing_ID", "query", False, "query one")],
        "", "", "", "get-thing", "", "Get a thing.",
    )
    doc = Doc("tiny", "Tiny", "Tiny.", "", 8080, 9090, [op])
    compilation = compile_doc(workdir, to_data(doc), in_hypothesis=False)
    assert not compilation.diagnostics.errors
    operation = find_operation(json.loads(compilation.files[f"{PACKAGE}/openapi.json"]), "op0")
    assert {(p["in"], p["name"]) for p in operation["parameters"]} == {("path", "thing_id"), ("query", "Thing_ID")}
    rest = compilation.files[f"{PACKAGE}/rest.py"]
    call = rest[rest.index("client.op0(") :]
    call = call[: call.index("return respond")]
    assert "inputs.get('Thing_ID')" in call or 'inputs.get("Thing_ID")' in call, call
