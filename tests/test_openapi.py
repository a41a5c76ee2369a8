"""OpenAPI documents: valid (3.1 and 3.0.3), and in exact agreement with the Flask routes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from generator import build, openapi
from generator.pipeline import compile_paths
from tests.conftest import FIXTURES, POSTHOG, VALID_FIXTURES

METHODS = {"get", "post", "put", "patch", "delete"}
ENV = {"POSTHOG_TASK_RUNS_BASE_URL": "http://127.0.0.1:9", "POSTHOG_API_KEY": "k"}


def _documents(tree: Path) -> list[Path]:
    return sorted(tree.rglob("openapi*.json"))


def test_every_generated_document_is_valid_openapi_31(generated_tree: Path) -> None:
    documents = _documents(generated_tree)
    assert len(documents) >= len(VALID_FIXTURES)
    for path in documents:
        document = json.loads(path.read_text("utf-8"))
        assert document["openapi"] == "3.1.0"
        validate(document)
        yaml_twin = path.with_suffix(".yaml")
        assert yaml.safe_load(yaml_twin.read_text("utf-8")) == document


@pytest.mark.parametrize("name", ["posthog", *VALID_FIXTURES])
def test_openapi_303_option_is_valid(name: str) -> None:
    source = POSTHOG if name == "posthog" else FIXTURES / name
    compilation = compile_paths([source], openapi_version="3.0.3")
    assert not compilation.diagnostics.has_errors()
    documents = [json.loads(t) for p, t in compilation.files.items() if p.endswith(".json")]
    assert documents
    for document in documents:
        assert document["openapi"] == "3.0.3"
        validate(document)


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_posthog_document_shape(generated_tree: Path) -> None:
    document = json.loads((generated_tree / "posthog_task_runs" / "openapi.json").read_text("utf-8"))
    operations = _operations(document)
    assert len(document["paths"]) == 17
    assert len(operations) == 19
    assert document["info"]["title"] == "PostHog API — task-runs"
    assert document["servers"] == [{"url": "http://localhost:8080"}]
    ids = [op["operationId"] for _, _, op in operations]
    assert len(set(ids)) == 19
    for path, _method, operation in operations:
        placeholders = re.findall(r"\{([^}]+)\}", path)
        declared = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
        assert sorted(declared) == sorted(placeholders), path
        assert len(declared) == len(set(declared))
        assert all(p["required"] for p in operation["parameters"] if p["in"] == "path")
        assert operation["responses"]["502"] == {"$ref": "#/components/responses/Problem"}
    listing = document["paths"]["/v1/api/projects/{project-id}/tasks/{task-id}/runs"]["get"]
    query = {p["name"]: p for p in listing["parameters"] if p["in"] == "query"}
    assert query["limit"]["schema"] == {"type": "integer"}
    assert query["limit"]["required"] is False
    create = document["paths"]["/v1/api/projects/{project-id}/tasks/{task-id}/runs"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"type": "object"}


def _flask_rule_to_openapi(rule: str, names: dict[str, str]) -> str:
    return re.sub(r"<(?:[^>:]+:)?([^>]+)>", lambda m: "{" + names[m.group(1)] + "}", rule)


@pytest.mark.parametrize("package", ["posthog_task_runs", *(n.removesuffix(".yaml") for n in VALID_FIXTURES)])
def test_routes_and_document_agree(generated_tree: Path, load, package: str) -> None:  # type: ignore[no-untyped-def]
    folder = generated_tree / package
    for module_file in sorted(folder.glob("rest*.py")):
        rest = load(f"{package}.{module_file.stem}")
        stem = "openapi" if module_file.stem == "rest" else "openapi_" + module_file.stem.removeprefix("rest_")
        document = json.loads((folder / f"{stem}.json").read_text("utf-8"))
        app = rest.create_app(_env_for(rest), client=object())
        routed: set[tuple[str, str]] = set()
        for rule in app.url_map.iter_rules():
            if rule.endpoint in ("static", "healthz", "openapi_json") or rule.endpoint.startswith("docs"):
                continue
            view = app.view_functions[rule.endpoint]
            constant = getattr(rest, f"{view.__name__.upper()}_INPUTS")
            path_names = [p.name for p in constant if p.location == "path"]
            idents = list(rule.arguments)
            order = [m.group(1) for m in re.finditer(r"<(?:[^>:]+:)?([^>]+)>", rule.rule)]
            mapping = dict(zip(order, path_names))
            assert set(idents) == set(order)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routed.add((_flask_rule_to_openapi(rule.rule, mapping), method.lower()))
                operation = document["paths"][_flask_rule_to_openapi(rule.rule, mapping)][method.lower()]
                documented = {(p["name"], p["in"]) for p in operation.get("parameters", [])}
                declared = {(p.name, p.location) for p in constant if p.location != "body"}
                assert documented == declared
                assert ("requestBody" in operation) == any(p.location == "body" for p in constant)
        documented_ops = {(path, method) for path, method, _ in _operations(document)}
        assert routed == documented_ops


def _env_for(module: Any) -> dict[str, str]:
    settings = __import__(module.__name__.rsplit(".", 1)[0] + ".settings", fromlist=["REQUIRED"])
    return {name: "http://127.0.0.1:9" if name.endswith("_BASE_URL") else "secret" for name in settings.REQUIRED}


def test_hostile_descriptions_are_verbatim(generated_tree: Path) -> None:
    source = yaml.safe_load((FIXTURES / "hostile_text.yaml").read_text("utf-8"))
    document = json.loads((generated_tree / "hostile_text" / "openapi.json").read_text("utf-8"))
    assert document["info"]["title"] == source["info"]["label"]
    assert document["info"].get("description", "") == source["info"].get("description", "")
    exposed = [op for e in source["capability"]["exposes"] if e["type"] == "rest" for r in e["resources"] for op in r["operations"]]
    documented = [op for _, _, op in _operations(document)]
    for declared in exposed:
        if "description" in declared:
            assert declared["description"] in [op.get("description") for op in documented]


def test_problem_schema_is_shared() -> None:
    assert openapi.PROBLEM_REF == {"$ref": "#/components/responses/Problem"}
    assert build.PLACEHOLDER.pattern


def test_docs_page_is_served_from_local_assets(load) -> None:  # type: ignore[no-untyped-def]
    rest = load("posthog_task_runs.rest")
    client = rest.create_app(ENV).test_client()
    page = client.get("/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/openapi.json" in html
    assert "unpkg" not in html and "cdn" not in html.lower()  # works without internet access
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert asset in html
        served = client.get(f"/docs/{asset}")
        assert served.status_code == 200 and len(served.data) > 1000
    assert client.get("/openapi.json").get_json()["openapi"] == "3.1.0"
