"""Regression tests for problems a first user met (output folder names, base URLs, safety)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.pipeline import compile_paths
from tests.conftest import FIXTURES, POSTHOG, ROOT


def _generate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["generate", *args])
    return result.exit_code, result.output


def test_any_output_package_name_works(tmp_path: Path) -> None:
    out = tmp_path / "my_adapters"
    code, output = _generate(str(POSTHOG), "--out", str(out), "-q")
    assert code == 0, output
    readme = (out / "posthog_task_runs" / "README.md").read_text("utf-8")
    assert "python -m my_adapters.posthog_task_runs.rest" in readme
    script = (
        "from my_adapters.posthog_task_runs.rest import create_app\n"
        "from my_adapters.posthog_task_runs.mcp_server import build_server\n"
        "env = {'POSTHOG_TASK_RUNS_BASE_URL': 'http://127.0.0.1:9', 'POSTHOG_API_KEY': 'k'}\n"
        "print(len(list(create_app(env).url_map.iter_rules())), type(build_server(env)).__name__)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[1] == "Server"


def test_output_folder_must_be_a_package_name(tmp_path: Path) -> None:
    code, output = _generate(str(POSTHOG), "--out", str(tmp_path / "my-adapters"))
    assert code == 2
    assert "valid Python package name" in output
    assert not (tmp_path / "my-adapters").exists()


def test_foreign_files_are_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    out.mkdir()
    (out / "__init__.py").write_text("MY_CODE = 1\n", "utf-8")
    code, output = _generate(str(POSTHOG), "--out", str(out))
    assert code == 2
    assert "were not written by capgen" in output and "__init__.py" in output
    assert (out / "__init__.py").read_text("utf-8") == "MY_CODE = 1\n"
    assert not (out / "posthog_task_runs").exists()
    code, output = _generate(str(POSTHOG), "--out", str(out), "--force", "-q")
    assert code == 0, output
    assert (out / "__init__.py").read_text("utf-8") != "MY_CODE = 1\n"


def test_subset_of_a_folder_is_not_mistaken_for_up_to_date(tmp_path: Path) -> None:
    caps = tmp_path / "caps"
    caps.mkdir()
    for name in ("keywords.yaml", "outputs.yaml"):
        (caps / name).write_text((FIXTURES / name).read_text("utf-8"), "utf-8")
    out = tmp_path / "generated"
    assert _generate(str(caps), "--out", str(out), "-q")[0] == 0
    code, output = _generate(str(caps / "keywords.yaml"), "--out", str(out), "--check")
    assert code == 1, output
    assert "removed" in output


def test_base_uri_with_a_query_string_is_an_error(tmp_path: Path) -> None:
    source = (FIXTURES / "keywords.yaml").read_text("utf-8")
    document = tmp_path / "q.yaml"
    lines = [
        line.replace(line.split("baseUri:")[1], " http://upstream.test/api?x=1") if "baseUri:" in line else line
        for line in source.splitlines()
    ]
    document.write_text("\n".join(lines) + "\n", "utf-8")
    compilation = compile_paths([document])
    errors = [d for d in compilation.diagnostics.errors if "query string" in d.message]
    assert errors and errors[0].doc_path[-1] == "baseUri"


@pytest.mark.parametrize("value", ["ftp://x", "127.0.0.1:9", "http://h/api?x=1", "http://h/#f"])
def test_bad_base_url_setting_stops_start_up(load, value: str) -> None:  # type: ignore[no-untyped-def]
    rest = load("posthog_task_runs.rest")
    runtime = load("_runtime")
    with pytest.raises(runtime.ConfigurationError) as caught:
        rest.create_app({"POSTHOG_TASK_RUNS_BASE_URL": value, "POSTHOG_API_KEY": "k"})
    assert "POSTHOG_TASK_RUNS_BASE_URL must be an http(s) URL" in str(caught.value)


def test_committed_manifest_root_is_generated() -> None:
    assert (ROOT / "generated" / "__init__.py").exists()


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    source = (FIXTURES / "keywords.yaml").read_text("utf-8")
    assert old in source
    document = tmp_path / "variant.yaml"
    document.write_text(source.replace(old, new, 1), "utf-8")
    return document


def test_unknown_consumed_parameter_type_is_an_error(tmp_path: Path) -> None:
    source = (FIXTURES / "keywords.yaml").read_text("utf-8")
    typed = next(line for line in source.splitlines() if line.strip().startswith("type: string"))
    document = _variant(tmp_path, typed, typed.replace("string", "bool"))
    errors = compile_paths([document]).diagnostics.errors
    assert any('"bool" is not one of string' in d.message for d in errors)


def test_a_capability_that_exposes_nothing_is_warned_about(tmp_path: Path) -> None:
    document = _variant(tmp_path, "  exposes:", "  exposez:")
    diagnostics = list(compile_paths([document]).diagnostics)
    messages = [d.message for d in diagnostics]
    assert any("unknown property 'exposez'" in m for m in messages)
    assert any("exposes no `rest` or `mcp` adapter" in m for m in messages)
