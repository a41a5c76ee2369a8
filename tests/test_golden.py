"""Golden snapshots of every generated file (syrupy, one text file per snapshot).

Update after an intended change with ``pytest tests/test_golden.py --snapshot-update`` and
review the diff of ``tests/__snapshots__``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from tests.conftest import FIXTURES, POSTHOG, VALID_FIXTURES

GOLDEN_FIXTURES = ("keywords", "query_header_auth_apikey", "apikey_query_basic", "bodies", "outputs", "hints_schema")


class TextSnapshot(SingleFileSnapshotExtension):
    _write_mode = WriteMode.TEXT
    file_extension = "txt"


@pytest.fixture()
def snapshot_text(snapshot):  # type: ignore[no-untyped-def]
    return snapshot.use_extension(TextSnapshot)


def _files(tree: Path, package: str) -> list[str]:
    return sorted(str(p.relative_to(tree)) for p in (tree / package).rglob("*") if p.is_file() and "__pycache__" not in p.parts)


PACKAGES = ["posthog_task_runs", *GOLDEN_FIXTURES]


def test_golden_fixtures_exist() -> None:
    assert POSTHOG.exists()
    for name in GOLDEN_FIXTURES:
        assert f"{name}.yaml" in VALID_FIXTURES and (FIXTURES / f"{name}.yaml").exists()


@pytest.mark.parametrize("package", PACKAGES)
def test_generated_package_matches_snapshot(generated_tree: Path, package: str, snapshot_text) -> None:  # type: ignore[no-untyped-def]
    files = _files(generated_tree, package)
    assert f"{package}/rest.py" in files or any(f.startswith(f"{package}/rest_") for f in files)
    for relative in files:
        text = (generated_tree / relative).read_text("utf-8")
        assert text == snapshot_text(name=relative.replace("/", "__"))


@pytest.mark.parametrize("name", ["_runtime.py", "_rest.py", "_mcp.py", "__init__.py"])
def test_shared_runtime_matches_snapshot(generated_tree: Path, name: str, snapshot_text) -> None:  # type: ignore[no-untyped-def]
    assert (generated_tree / name).read_text("utf-8") == snapshot_text(name=f"shared__{name}")
