"""``capgen generate`` as a build step: idempotent writes, ``--check``/``--diff`` drift detection,
cleanup of files it owns only, reproducible bytes whatever the locale, and the CLI surface."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import main
from generator.write import MANIFEST

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
PYTHON = ROOT / ".venv" / "bin" / "python"
if not PYTHON.exists():  # pragma: no cover - running outside the project venv
    PYTHON = Path(sys.executable)

DOC = """\
naftiko: 1.0.0-alpha2
info:
  label: {label}
  description: A tiny capability — with non-ASCII text (Äpfel, 每页).
capability:
  consumes:
  - type: http
    namespace: {ns}
    baseUri: http://upstream.test
    resources:
    - name: things
      path: /things/{{thing_id}}
      operations:
      - name: getthing
        method: GET
        inputParameters:
        - name: thing_id
          in: path
        - name: q
          in: query
  exposes:
  - type: rest
    namespace: {ns}-rest
    port: {port}
    resources:
    - path: /v1/things/{{thing_id}}
      name: things
      operations:
      - method: GET
        name: getthing
        call: {ns}.getthing
        with:
          q: rest.q
  - type: mcp
    namespace: {ns}-mcp
    port: {mcp_port}
    transport: http
    tools:
    - name: get-thing
      description: Get a thing.
      call: {ns}.getthing
"""


def doc(ns: str, label: str = "Tiny API", port: int = 8080) -> str:
    return DOC.format(ns=ns, label=label, port=port, mcp_port=port + 1000)


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(out)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A folder with two capability files, ``caps/alpha.yaml`` and ``caps/beta-two.yaml``."""
    caps = tmp_path / "caps"
    caps.mkdir()
    (caps / "alpha.yaml").write_text(doc("alpha"), encoding="utf-8")
    (caps / "beta-two.yaml").write_text(doc("beta", "Beta API", 8082), encoding="utf-8")
    return tmp_path


def test_first_run_writes_then_second_run_writes_nothing(project: Path) -> None:
    out = project / "generated"
    first = invoke("generate", project / "caps", "--out", out)
    assert first.exit_code == 0, first.output
    assert "2 capabilities" in first.stderr
    expected = {
        "__init__.py", "_runtime.py", "_rest.py", "_mcp.py", MANIFEST,
        *(f"{pkg}/{name}" for pkg in ("alpha", "beta_two") for name in (
            "__init__.py", "settings.py", "upstream.py", "rest.py", "mcp_server.py",
            "openapi.json", "openapi.yaml", "README.md", "requirements.txt",
        )),
    }
    assert set(snapshot(out)) == expected
    manifest = json.loads((out / MANIFEST).read_text("utf-8"))
    assert set(manifest["files"]) == expected - {MANIFEST}
    before = snapshot(out)

    # Same inputs: the fast path (manifest fingerprint) writes nothing at all.
    second = invoke("generate", project / "caps", "--out", out)
    assert second.exit_code == 0, second.output
    assert "up to date" in second.stderr or "0 added, 0 changed, 0 removed" in second.stderr
    assert snapshot(out) == before  # same bytes and same mtimes, manifest included

    # A comment added to an input: a full compile that still changes no generated file.
    with (project / "caps" / "alpha.yaml").open("a", encoding="utf-8") as handle:
        handle.write("# a comment changes nothing generated\n")
    third = invoke("generate", project / "caps", "--out", out)
    assert third.exit_code == 0, third.output
    assert "0 added, 0 changed, 0 removed" in third.stderr, third.stderr
    assert "(0 formatted)" in third.stderr  # the formatter is not run again on unchanged sources
    after = snapshot(out)
    assert {k: v for k, v in after.items() if k != MANIFEST} == {
        k: v for k, v in before.items() if k != MANIFEST
    }
    fourth = invoke("generate", project / "caps", "--out", out)
    assert fourth.exit_code == 0
    assert snapshot(out) == after
    assert not [p for p in out.rglob("*.tmp")]


def test_check_and_diff(project: Path) -> None:
    out = project / "generated"
    assert invoke("generate", project / "caps", "--out", out).exit_code == 0
    before = snapshot(out)

    clean = invoke("generate", project / "caps", "--out", out, "--check")
    assert clean.exit_code == 0, clean.output
    assert "up to date" in clean.stderr
    assert clean.stdout == ""
    assert snapshot(out) == before

    rest = out / "alpha" / "rest.py"
    edited = rest.read_text("utf-8").replace('NAMESPACE = "alpha-rest"', 'NAMESPACE = "hacked"')
    assert edited != rest.read_text("utf-8")
    rest.write_text(edited, encoding="utf-8")
    after_edit = snapshot(out)

    drift = invoke("generate", project / "caps", "--out", out, "--check")
    assert drift.exit_code == 1, drift.output
    assert "1 changed" in drift.stderr
    assert str(out / "alpha" / "rest.py") in drift.stderr
    assert snapshot(out) == after_edit  # nothing written; the edit stays

    diff = invoke("generate", project / "caps", "--out", out, "--check", "--diff")
    assert diff.exit_code == 1
    assert "--- a/alpha/rest.py\n+++ b/alpha/rest.py\n" in diff.stdout
    assert '-NAMESPACE = "hacked"\n' in diff.stdout
    assert '+NAMESPACE = "alpha-rest"\n' in diff.stdout
    assert "beta_two" not in diff.stdout
    assert snapshot(out) == after_edit

    only_diff = invoke("generate", project / "caps", "--out", out, "--diff")
    assert only_diff.exit_code == 1
    assert only_diff.stdout == diff.stdout
    assert snapshot(out) == after_edit

    # A plain run repairs the edit and touches only that file.
    repair = invoke("generate", project / "caps", "--out", out)
    assert repair.exit_code == 0
    assert "0 added, 1 changed, 0 removed" in repair.stderr
    assert snapshot(out)["alpha/rest.py"][0] == before["alpha/rest.py"][0]
    assert invoke("generate", project / "caps", "--out", out, "--check").exit_code == 0


def test_check_reports_deleted_and_missing_files(project: Path) -> None:
    out = project / "generated"
    empty = invoke("generate", project / "caps", "--out", out, "--check")
    assert empty.exit_code == 1
    assert not out.exists()
    assert invoke("generate", project / "caps", "--out", out).exit_code == 0
    (out / "beta_two" / "openapi.json").unlink()
    missing = invoke("generate", project / "caps", "--out", out, "--check", "--diff")
    assert missing.exit_code == 1
    assert "1 added" in missing.stderr
    assert "+++ b/beta_two/openapi.json" in missing.stdout


def test_removed_capability_is_cleaned_up_but_user_files_stay(project: Path) -> None:
    out = project / "generated"
    assert invoke("generate", project / "caps", "--out", out).exit_code == 0
    user_files = {
        out / "NOTES.md": "my notes\n",
        out / "beta_two" / "custom_views.py": "# mine\n",
        out / "alpha" / "extra.json": "{}\n",
    }
    for path, text in user_files.items():
        path.write_text(text, encoding="utf-8")

    (project / "caps" / "beta-two.yaml").unlink()
    check = invoke("generate", project / "caps", "--out", out, "--check")
    assert check.exit_code == 1
    assert "9 removed" in check.stderr
    assert (out / "beta_two" / "rest.py").exists()

    result = invoke("generate", project / "caps", "--out", out)
    assert result.exit_code == 0, result.output
    assert "0 added, 0 changed, 9 removed" in result.stderr
    assert "1 capability ->" in result.stderr
    remaining = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert not [p for p in remaining if p.startswith("beta_two/") and p != "beta_two/custom_views.py"]
    for path, text in user_files.items():
        assert path.read_text("utf-8") == text
    assert "alpha/rest.py" in remaining
    manifest = json.loads((out / MANIFEST).read_text("utf-8"))
    assert not [p for p in manifest["files"] if p.startswith("beta_two/")]
    assert invoke("generate", project / "caps", "--out", out, "--check").exit_code == 0

    # With the user's file gone too, the emptied package folder disappears.
    (project / "caps" / "alpha.yaml").rename(project / "caps" / "gamma.yaml")
    (out / "beta_two" / "custom_views.py").unlink()
    assert invoke("generate", project / "caps", "--out", out).exit_code == 0
    assert (out / "alpha" / "extra.json").exists()
    assert not (out / "alpha" / "rest.py").exists()
    assert (out / "gamma" / "rest.py").exists()


def test_a_user_file_where_a_generated_file_goes_is_reported(project: Path) -> None:
    """A file the manifest does not own but the generator wants to write shows as drift."""
    out = project / "generated"
    (out / "alpha").mkdir(parents=True)
    (out / "alpha" / "rest.py").write_text("# mine\n", encoding="utf-8")
    check = invoke("generate", project / "caps", "--out", out, "--check")
    assert check.exit_code == 1
    assert str(out / "alpha" / "rest.py") in check.stderr


def test_invalid_input_leaves_existing_tree_alone(project: Path) -> None:
    out = project / "generated"
    assert invoke("generate", project / "caps", "--out", out).exit_code == 0
    before = snapshot(out)
    (project / "caps" / "alpha.yaml").write_text(doc("alpha").replace("port: 8080", "port: x"), "utf-8")
    result = invoke("generate", project / "caps", "--out", out)
    assert result.exit_code == 2
    assert "nothing was written" in result.stderr
    assert snapshot(out) == before


def _tree_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_byte_identical_across_fresh_runs_and_locales(tmp_path: Path) -> None:
    inputs = [
        ROOT / "capabilities" / "posthog-task-runs.yaml",
        FIXTURES / "hostile_text.yaml",
        FIXTURES / "odd_names.yaml",
        FIXTURES / "keywords.yaml",
    ]
    trees = []
    for name, extra_env in (
        ("a", {}),
        ("b", {"PYTHONHASHSEED": "12345"}),
        ("c", {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": "", "PYTHONHASHSEED": "7"}),
    ):
        out = tmp_path / name / "generated"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "PYTHONUTF8", "PYTHONIOENCODING"))}
        env.update(extra_env)
        proc = subprocess.run(
            [str(PYTHON), "-m", "generator", "generate", *map(str, inputs), "--out", str(out)],
            cwd=ROOT, env=env, check=False, capture_output=True, timeout=120,
        )
        assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
        assert b"Traceback" not in proc.stderr
        trees.append(_tree_bytes(out))
    assert trees[0] == trees[1] == trees[2]
    assert len(trees[0]) > 30
    # the non-ASCII text is written as UTF-8 even under the C locale
    assert "🍎".encode() in trees[2]["hostile_text/openapi.json"]


def test_diff_under_c_locale_does_not_crash(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    fixture = FIXTURES / "hostile_text.yaml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "PYTHONUTF8", "PYTHONIOENCODING"))}
    env.update({"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"})
    command = [str(PYTHON), "-m", "generator", "generate", str(fixture), "--out", str(out), "-q"]
    assert subprocess.run(command, cwd=ROOT, env=env, check=False, capture_output=True, timeout=60).returncode == 0
    openapi = out / "hostile_text" / "openapi.json"
    openapi.write_bytes(openapi.read_bytes().replace("Äpfel".encode(), b"Birnen"))
    proc = subprocess.run([*command, "--diff"], cwd=ROOT, env=env, check=False, capture_output=True, timeout=60)
    assert proc.returncode == 1, proc.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in proc.stderr
    assert b"+    \"title\": " in proc.stdout
    assert "Äpfel".encode() in proc.stdout


def test_openapi_version_303(project: Path) -> None:
    out = project / "generated"
    result = invoke("generate", project / "caps", "--out", out, "--openapi-version", "3.0.3")
    assert result.exit_code == 0, result.output
    document = json.loads((out / "alpha" / "openapi.json").read_text("utf-8"))
    assert document["openapi"] == "3.0.3"
    assert '"openapi": "3.0.3"' in (out / "alpha" / "openapi.json").read_text("utf-8")
    assert "openapi: 3.0.3" in (out / "alpha" / "openapi.yaml").read_text("utf-8")
    # switching back is drift
    assert invoke("generate", project / "caps", "--out", out, "--check").exit_code == 1
    bad = invoke("generate", project / "caps", "--out", out, "--openapi-version", "2.0")
    assert bad.exit_code == 2


@pytest.mark.parametrize("args", [["--help"], ["generate", "--help"], ["validate", "--help"], ["-h"]])
def test_help(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    if "generate" in args:
        for option in ("--out", "--check", "--diff", "--strict", "--openapi-version"):
            assert option in result.output


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert "capgen" in result.output


def test_help_via_console_script() -> None:
    capgen = ROOT / ".venv" / "bin" / "capgen"
    if not capgen.exists():
        pytest.skip("console script not installed")
    proc = subprocess.run([str(capgen), "--help"], check=False, capture_output=True, timeout=60)
    assert proc.returncode == 0
    assert b"generate" in proc.stdout


def test_unknown_option_is_usage_error(project: Path) -> None:
    result = invoke("generate", project / "caps", "--nope")
    assert result.exit_code == 2
    assert "No such option" in result.output


def test_committed_tree_is_up_to_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = invoke("generate", "capabilities", "--out", "generated", "--check")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stderr


def test_default_paths_from_repo_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without PATHS, ./capabilities is used."""
    shutil.copytree(ROOT / "capabilities", tmp_path / "capabilities")
    monkeypatch.chdir(tmp_path)
    result = invoke("validate", "capabilities")
    assert result.exit_code == 0, result.output
    check = invoke("generate", "--out", str(ROOT / "generated"), "--check")
    assert check.exit_code == 0, check.output
