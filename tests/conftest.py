"""Shared test fixtures.

``generated_tree`` compiles the PostHog capability and every valid fixture of ours into one
temporary ``generated/`` package (the generated code imports ``generated._runtime``), puts it
first on ``sys.path`` and returns its folder.  Functional tests import from it, so they test what
the generator produces now; ``test_committed.py`` checks that the committed tree is identical.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

from generator import write
from generator.pipeline import compile_paths

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
POSTHOG = ROOT / "capabilities" / "posthog-task-runs.yaml"
SHARED = ROOT.parent / "shared"

# Fixtures that must generate; the others are failure cases.
VALID_FIXTURES = (
    "aggregates.yaml",
    "apikey_query_basic.yaml",
    "bodies.yaml",
    "duplicates_ok.yaml",
    "empty_baseuri.yaml",
    "env_params.yaml",
    "forward.yaml",
    "forward_only.yaml",
    "hints_schema.yaml",
    "hostile_text.yaml",
    "imports.yaml",
    "kebab_paths.yaml",
    "keywords.yaml",
    "odd_names.yaml",
    "outputs.yaml",
    "query_header_auth_apikey.yaml",
    "unsupported.yaml",
)


@pytest.fixture(scope="session")
def generated_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("tree")
    out = base / "generated"
    compilation = compile_paths([POSTHOG, *(FIXTURES / name for name in VALID_FIXTURES)])
    errors = [d.render() for d in compilation.diagnostics.errors]
    assert not errors, errors
    write.apply(write.plan(out, compilation.files))
    for name in list(sys.modules):
        if name == "generated" or name.startswith("generated."):
            del sys.modules[name]
    sys.path.insert(0, str(base))
    return out


def load_module(tree: Path, dotted: str) -> ModuleType:
    """Import ``generated.<dotted>`` from the session's generated tree."""
    assert tree.exists()
    return importlib.import_module(f"generated.{dotted}")


@pytest.fixture()
def load(generated_tree: Path):  # type: ignore[no-untyped-def]
    def _load(dotted: str) -> ModuleType:
        return load_module(generated_tree, dotted)

    return _load


@pytest.fixture()
def upstream(httpserver):  # type: ignore[no-untyped-def]
    """A recording upstream on pytest-httpserver (``tests.helpers_upstream.Recorder``)."""
    from tests.helpers_upstream import Recorder

    return Recorder(httpserver)
