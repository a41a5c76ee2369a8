"""The committed generated/ tree is exactly what the generator produces, and is clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from generator import write
from tests.conftest import ROOT


def test_committed_tree_equals_fresh_generation(generated_tree: Path) -> None:
    committed = ROOT / "generated"
    manifest = write.read_manifest(committed)
    assert manifest, "generated/.capgen-manifest.json is missing: run `make generate`"
    for relative in manifest:
        if relative.startswith("posthog_task_runs/") or "/" not in relative:
            fresh = (generated_tree / relative).read_bytes()
            assert (committed / relative).read_bytes() == fresh, relative


def test_generated_code_is_ruff_and_black_clean(generated_tree: Path) -> None:
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--line-length", "100", str(generated_tree)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    black = subprocess.run(
        [sys.executable, "-m", "black", "--check", "-q", "-l", "100", str(generated_tree)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert black.returncode == 0, black.stdout + black.stderr


def test_ruff_formatter_matches_black_on_generated_code(generated_tree: Path) -> None:
    sources = [p.read_text("utf-8") for p in sorted(generated_tree.rglob("*.py"))]
    assert sources
    assert write.format_sources(sources, "ruff") == write.format_sources(sources, "black")


def test_runtime_templates_are_black_clean() -> None:
    folder = ROOT / "templates" / "runtime"
    for path in sorted(folder.glob("*.py")):
        text = path.read_text("utf-8")
        assert write.format_sources([text], "black") == [text], path.name
