"""The pipeline: load -> validate -> build -> emit, for a set of capability files.

Nothing here writes files; :mod:`generator.write` does, and only when there are no errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from generator import ir
from generator.build import build_capability
from generator.diagnostics import Diagnostic, Diagnostics, Reporter, Severity
from generator.emit import RUNTIME_FILES, emit_capability, emit_shared
from generator.inputs import CAPABILITY_SUFFIXES, collect  # noqa: F401  (re-exported)
from generator.load import load_file
from generator.validate import DocumentKind, check_schema, classify


@dataclass
class Compilation:
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    capabilities: list[ir.Capability] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    preformatted: set[str] = field(default_factory=set)  # static, already black-clean

    @property
    def imports(self) -> list[str]:
        """Files read through `import` (as displayed), for the up-to-date check."""
        return sorted({name for capability in self.capabilities for name in capability.imports})


def display_name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def compile_file(
    path: Path, sink: Diagnostics, *, strict: bool = False
) -> ir.Capability | None | str:
    """One file -> its IR, ``None`` when it has errors, or ``"skip"`` for a shared consumes file."""
    file = display_name(path)
    document = load_file(path, sink, file)
    if document is None:
        return None
    report = Reporter(file, document.positions, sink)
    kind = classify(document.data, report)
    if kind is DocumentKind.REFUSED:
        return None
    check_schema(document.data, report, strict=strict)
    if kind is DocumentKind.SHARED_CONSUMES:
        report.warning(
            (), "a shared consumes file (an import target); nothing is generated from it"
        )
        return "skip"
    had_errors = sink.errors_in(file)
    try:
        capability = build_capability(document.data, report, path)
    except Exception:
        # The document already has errors that the builder does not expect; those errors
        # are what the user needs to fix first.  A valid document never gets here.
        if had_errors:
            return None
        raise
    return None if had_errors else capability


def compile_paths(
    paths: Iterable[Path],
    *,
    strict: bool = False,
    openapi_version: str = "3.1.0",
    root: str = "generated",
) -> Compilation:
    result = Compilation()
    owners: dict[str, str] = {}
    for path in paths:
        capability = compile_file(path, result.diagnostics, strict=strict)
        if capability == "skip":
            continue
        if capability is None or isinstance(capability, str):
            continue
        if capability.package in owners:
            result.diagnostics.add(
                Diagnostic(
                    display_name(path),
                    1,
                    1,
                    Severity.ERROR,
                    f"this file's package `{capability.package}` collides with the one of "
                    f"{owners[capability.package]}; rename one of the files",
                )
            )
            continue
        owners[capability.package] = display_name(path)
        result.capabilities.append(capability)
    if result.diagnostics.has_errors():
        return result
    if result.capabilities:
        result.files.update(emit_shared())
        result.preformatted.update(RUNTIME_FILES)
    for capability in result.capabilities:
        result.files.update(emit_capability(capability, openapi_version, root))
    return result
