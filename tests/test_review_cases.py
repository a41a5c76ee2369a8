"""Regression tests: names that collide inside generated code, settings that must not leak,
malformed-but-schema-valid shapes, and imports edited after generation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner

from generator.cli import main
from generator.pipeline import compile_paths


def _doc(**capability: object) -> dict[str, object]:
    return {
        "naftiko": "1.0.0-alpha2",
        "info": {"label": "Review case", "description": "d"},
        "capability": capability,
    }


def _consumes(
    namespace: str, op: str = "get-item", path: str = "/items", base: str = "http://up.test"
) -> dict:
    return {
        "type": "http",
        "namespace": namespace,
        "baseUri": base,
        "resources": [
            {"name": "items", "path": path, "operations": [{"name": op, "method": "GET"}]}
        ],
    }


def _rest(path: str, call: str, **operation: object) -> dict:
    return {
        "type": "rest",
        "namespace": "review-rest",
        "port": 8200,
        "resources": [
            {
                "path": path,
                "operations": [{"method": "GET", "name": "op", "call": call, **operation}],
            }
        ],
    }


def _compile(tmp_path: Path, document: dict, name: str = "review.yaml"):  # type: ignore[no-untyped-def]
    source = tmp_path / name
    source.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    return compile_paths([source])


def test_namespace_and_operation_with_one_name_stay_distinct(tmp_path: Path) -> None:
    document = _doc(consumes=[_consumes("api", op="api")], exposes=[_rest("/v1/items", "api.api")])
    compilation = _compile(tmp_path, document)
    assert not compilation.diagnostics.has_errors()
    upstream = compilation.files["review/upstream.py"]
    assert "self.api = rt.Connection(" in upstream
    assert "def api_2(" in upstream


def test_repeated_path_placeholder_is_an_error(tmp_path: Path) -> None:
    document = _doc(
        consumes=[_consumes("up", path="/a/{x}/b/{x}")],
        exposes=[_rest("/a/{x}/b/{x}", "up.get-item")],
    )
    errors = _compile(tmp_path, document).diagnostics.errors
    assert any("repeated placeholder" in d.message and "'x'" in d.message for d in errors)


def test_secret_named_like_a_settings_helper(tmp_path: Path) -> None:
    consumes = _consumes("up")
    consumes["authentication"] = {"type": "bearer", "token": "{{FIELD}}"}
    document = _doc(consumes=[consumes], exposes=[_rest("/v1/items", "up.get-item")])
    document["binds"] = [{"namespace": "env", "keys": {"FIELD": "FIELD"}}]
    compilation = _compile(tmp_path, document)
    settings = compilation.files["review/settings.py"]
    assert "    field_2: str = field(repr=False)" in settings
    assert "    field: str" not in settings  # the class body must not shadow dataclasses.field


def test_namespaces_sharing_a_base_url_variable(tmp_path: Path) -> None:
    document = _doc(
        consumes=[_consumes("pay-api"), _consumes("pay_api", base="http://other.test")],
        exposes=[_rest("/v1/items", "pay-api.get-item")],
    )
    errors = _compile(tmp_path, document).diagnostics.errors
    assert any("would share the environment variable PAY_API_BASE_URL" in d.message for d in errors)


def test_static_output_may_not_reveal_a_secret(tmp_path: Path) -> None:
    document = _doc(
        consumes=[_consumes("up")],
        exposes=[
            {
                "type": "rest",
                "namespace": "review-rest",
                "port": 8200,
                "resources": [
                    {
                        "path": "/where",
                        "operations": [
                            {
                                "method": "GET",
                                "name": "where",
                                "outputParameters": [
                                    {"name": "region", "type": "string", "value": "r-{{REGION}}"}
                                ],
                            }
                        ],
                    }
                ],
            }
        ],
    )
    document["binds"] = [{"namespace": "env", "keys": {"REGION": "REGION"}}]
    errors = _compile(tmp_path, document).diagnostics.errors
    assert any("may not use a bound variable" in d.message for d in errors)


def test_malformed_aggregates_and_forward_are_schema_errors(tmp_path: Path) -> None:
    document = _doc(
        consumes=[_consumes("up")],
        aggregates=[{"namespace": "agg", "functions": True}],
        exposes=[
            {
                "type": "rest",
                "namespace": "review-rest",
                "port": 8200,
                "resources": [
                    {"path": "/fw", "forward": {"targetNamespace": "up", "trustedHeaders": True}}
                ],
            }
        ],
    )
    diagnostics = _compile(tmp_path, document).diagnostics
    paths = {d.doc_path for d in diagnostics.errors}
    assert ("capability", "aggregates", 0, "functions") in paths
    assert ("capability", "exposes", 0, "resources", 0, "forward", "trustedHeaders") in paths


def test_edited_import_two_folders_down_is_noticed(tmp_path: Path) -> None:
    deep = tmp_path / "caps" / "shared" / "deep"
    deep.mkdir(parents=True)
    shared = {"naftiko": "1.0.0-alpha2", "consumes": [_consumes("up")]}
    (deep / "s.yaml").write_text(yaml.safe_dump(shared), "utf-8")
    document = _doc(
        consumes=[{"import": "up", "location": "./shared/deep/s.yaml"}],
        exposes=[_rest("/v1/items", "up.get-item")],
    )
    (tmp_path / "caps" / "main.yaml").write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    out = tmp_path / "generated"
    runner = CliRunner()
    assert (
        runner.invoke(
            main, ["generate", str(tmp_path / "caps" / "main.yaml"), "--out", str(out), "-q"]
        ).exit_code
        == 0
    )
    shared["consumes"][0]["baseUri"] = "http://moved.test"
    (deep / "s.yaml").write_text(yaml.safe_dump(shared), "utf-8")
    check = runner.invoke(
        main, ["generate", str(tmp_path / "caps" / "main.yaml"), "--out", str(out), "--check"]
    )
    assert check.exit_code == 1, check.output
    assert (
        runner.invoke(
            main, ["generate", str(tmp_path / "caps" / "main.yaml"), "--out", str(out), "-q"]
        ).exit_code
        == 0
    )
    assert "http://moved.test" in (out / "main" / "settings.py").read_text("utf-8")


def test_problems_in_an_imported_file_point_into_it(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    consumes = _consumes("up")
    consumes["resources"][0]["operations"][0]["inputParameters"] = [{"name": "ghost", "in": "path"}]
    (tmp_path / "shared" / "s.yaml").write_text(
        yaml.safe_dump({"naftiko": "1.0.0-alpha2", "consumes": [consumes]}), "utf-8"
    )
    document = _doc(
        consumes=[{"import": "up", "location": "./shared/s.yaml"}],
        exposes=[_rest("/v1/items", "up.get-item")],
    )
    diagnostics = list(_compile(tmp_path, document).diagnostics)
    ghost = [d for d in diagnostics if "ghost" in d.message]
    assert ghost and ghost[0].file.endswith("s.yaml") and ghost[0].line > 1


def test_python_can_import_the_settings_helper_name() -> None:
    done = subprocess.run([sys.executable, "-c", "import generator.build"], check=False)
    assert done.returncode == 0
