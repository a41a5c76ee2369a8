"""Command line: ``capgen generate`` and ``capgen validate``.

Exit codes: 0 success (warnings allowed), 1 ``--check`` found drift, 2 invalid input,
3 internal error (a bug in capgen: please report it with the input file).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from generator import write
from generator.diagnostics import Diagnostics
from generator.inputs import collect

EXIT_OK, EXIT_DRIFT, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3


def _report(diagnostics: Diagnostics, quiet: bool) -> None:
    for diagnostic in diagnostics:
        if quiet and diagnostic.severity.value == "warning":
            continue
        click.echo(diagnostic.render(), err=True)
    errors, warnings = len(diagnostics.errors), len(diagnostics.warnings)
    if errors or (warnings and not quiet):
        click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001  # pragma: no cover - only reached through bugs
            click.echo(
                f"capgen: internal error ({type(exc).__name__}: {exc}). This is a bug in capgen; "
                "please report it together with the input file.",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("0.1.0", prog_name="capgen")
def main() -> None:
    """capgen compiles Naftiko capability documents (YAML) into Flask REST adapters,
    MCP servers and OpenAPI documents.

    \b
    Typical use:
      capgen validate capabilities/
      capgen generate capabilities --out generated
      capgen generate capabilities --out generated --check   # in CI
    """


_paths = click.argument(
    "paths", nargs=-1, type=click.Path(exists=True, path_type=Path), required=False
)
_strict = click.option(
    "--strict",
    is_flag=True,
    help="Treat every schema violation as an error (default: naming and unknown-key issues are warnings).",
)
_quiet = click.option("-q", "--quiet", is_flag=True, help="Print errors only, not warnings.")


@main.command()
@_paths
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("generated"),
    show_default=True,
    help="Output folder (a Python package).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 if the output folder differs from what would be generated.",
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="With --check (or alone): print a unified diff of what would change; writes nothing.",
)
@click.option(
    "--openapi-version",
    type=click.Choice(["3.1.0", "3.0.3"]),
    default="3.1.0",
    show_default=True,
    help="OpenAPI version of the generated documents.",
)
@click.option(
    "--formatter",
    type=click.Choice(["auto", "black", "ruff"]),
    default="auto",
    show_default=True,
    help="Python formatter: black, or ruff's black-compatible formatter (much faster); auto = ruff if installed.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite files in the output folder that capgen did not write (not in its manifest).",
)
@_strict
@_quiet
def generate(
    paths: tuple[Path, ...],
    out: Path,
    check: bool,
    show_diff: bool,
    openapi_version: str,
    formatter: str,
    force: bool,
    strict: bool,
    quiet: bool,
) -> None:
    """Generate adapters from capability files (default: ./capabilities).

    PATHS are capability files or folders holding them (*.yaml, *.yml). Nothing is written
    when any file has an error.
    """
    started = time.perf_counter()
    searched = list(paths) or [Path("capabilities")]
    files = collect(searched)
    if not files:
        where = ", ".join(str(p) for p in searched)
        click.echo(f"capgen: no capability files (*.yaml, *.yml) found in {where}", err=True)
        sys.exit(EXIT_INVALID)
    root = out.resolve().name
    if not root.isidentifier():
        click.echo(
            f"capgen: the output folder name {root!r} must be a valid Python package name "
            "(generated code is imported as <folder>.<capability>)",
            err=True,
        )
        sys.exit(EXIT_INVALID)
    options = f"{strict}|{openapi_version}|{formatter}|{root}"
    if not show_diff and write.up_to_date(out, files, options):
        # Same inputs, same capgen, output intact: nothing to compile, nothing to write.
        if not quiet:
            click.echo(f"capgen: {out} is up to date", err=True)
        return
    from generator.pipeline import compile_paths  # deferred: the fast path above skips it

    compilation = compile_paths(files, strict=strict, openapi_version=openapi_version, root=root)
    _report(compilation.diagnostics, quiet)
    if compilation.diagnostics.has_errors():
        click.echo("capgen: nothing was written", err=True)
        sys.exit(EXIT_INVALID)
    imports = compilation.imports
    inputs = write.fingerprint(files, options, imports)
    result = write.plan(
        out, compilation.files, compilation.preformatted, formatter, inputs, imports
    )
    if result.foreign and not force and not (check or show_diff):
        click.echo(
            f"capgen: these files in {out} were not written by capgen and would be overwritten; "
            "move them away or pass --force:",
            err=True,
        )
        for path in result.foreign:
            click.echo(f"  {out / path}", err=True)
        click.echo("capgen: nothing was written", err=True)
        sys.exit(EXIT_INVALID)
    if check or show_diff:
        if show_diff:
            click.echo(write.diff(result), nl=False)
        if result.drift:
            click.echo(
                f"capgen: {out} is out of date: {len(result.added)} added, {len(result.changed)} changed, "
                f"{len(result.removed)} removed; run the same command without --check/--diff",
                err=True,
            )
            for path in (*result.added, *result.changed, *result.removed):
                click.echo(f"  {out / path}", err=True)
            sys.exit(EXIT_DRIFT)
        if not quiet:
            click.echo(f"capgen: {out} is up to date ({len(result.texts)} files)", err=True)
        return
    write.apply(result)
    elapsed = time.perf_counter() - started
    if not quiet:
        click.echo(
            f"capgen: {len(compilation.capabilities)} "
            f"{'capability' if len(compilation.capabilities) == 1 else 'capabilities'} -> {out}: "
            f"{len(result.added)} added, {len(result.changed)} changed, {len(result.removed)} removed, "
            f"{len(result.texts) - len(result.added) - len(result.changed)} unchanged "
            f"({result.formatted} formatted) in {elapsed:.2f} s",
            err=True,
        )


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path), required=True)
@_strict
@_quiet
def validate(paths: tuple[Path, ...], strict: bool, quiet: bool) -> None:
    """Check capability files and print every problem; write nothing."""
    from generator.pipeline import compile_paths

    files = collect(list(paths))
    compilation = compile_paths(files, strict=strict)
    _report(compilation.diagnostics, quiet)
    if compilation.diagnostics.has_errors():
        sys.exit(EXIT_INVALID)
    if not quiet:
        click.echo(f"capgen: {len(files)} file(s) OK", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
