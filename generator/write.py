"""Stage 5 — write: format, compare, and replace files atomically; or report drift.

* Python files are formatted in black's style (``ruff format``, or black itself).  A manifest (``.capgen-manifest.json``) records, per
  file the generator owns, the hash of the unformatted text and of the written bytes; when both
  still match, the file on disk is reused and black is not run again.
* Files are replaced atomically (temporary file + ``os.replace``); unchanged files are not
  touched (their mtime is kept); a run that changes nothing writes nothing.
* Files the previous manifest owned and this run does not produce are deleted; a file the
  generator never wrote is never deleted.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = ".capgen-manifest.json"
PARALLEL_THRESHOLD = 24  # files to format before a process pool pays for itself


def sha(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


LINE_LENGTH = 100


def _black(source: str) -> str:
    import black

    mode = black.Mode(line_length=LINE_LENGTH, target_versions={black.TargetVersion.PY311})
    return black.format_str(source, mode=mode)


def _ruff_binary() -> str | None:
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError:
        return None
    try:
        return os.fsdecode(find_ruff_bin())
    except FileNotFoundError:
        return None


def format_sources(sources: Sequence[str], formatter: str = "auto") -> list[str]:
    """Format Python sources in one batch.

    ``black`` is the reference style.  ``ruff`` (``ruff format``, black-compatible, about 100x
    faster) formats all files with one process; ``auto`` uses ruff when it is installed.  The
    test suite checks that both give the same bytes on our output, and ``make check`` runs
    ``black --check`` on the committed tree.
    """
    if not sources:
        return []
    binary = _ruff_binary() if formatter in ("auto", "ruff") else None
    if binary is None:
        if formatter == "ruff":
            raise RuntimeError("ruff is not installed; use --formatter black")
        if len(sources) >= PARALLEL_THRESHOLD and (os.cpu_count() or 1) > 1:
            with ProcessPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
                return list(pool.map(_black, sources, chunksize=8))
        return [_black(s) for s in sources]
    with tempfile.TemporaryDirectory(prefix="capgen-format-") as folder:
        paths = [Path(folder) / f"m{i}.py" for i in range(len(sources))]
        for path, source in zip(paths, sources):
            path.write_text(source, encoding="utf-8")
        subprocess.run(
            [
                binary,
                "format",
                "--isolated",
                "--no-cache",
                "--quiet",
                "--line-length",
                str(LINE_LENGTH),
                "--target-version",
                "py311",
                folder,
            ],
            check=True,
            capture_output=True,
        )
        return [path.read_text(encoding="utf-8") for path in paths]


@dataclass
class Plan:
    """What a run would write: final texts, and what changes on disk."""

    out: Path
    texts: dict[str, str]
    sources: dict[str, str]
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    formatted: int = 0
    foreign: list[str] = field(default_factory=list)  # existing files capgen did not write

    @property
    def drift(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    inputs: str = ""
    imports: list[str] = field(default_factory=list)

    def manifest_text(self) -> str:
        entries = {
            path: {"sha256": sha(self.texts[path]), "source": self.sources[path]}
            for path in sorted(self.texts)
        }
        data = {
            "generator": "capgen",
            "inputs": self.inputs,
            "imports": sorted(set(self.imports)),
            "files": entries,
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def fingerprint(inputs: Sequence[Path], options: str, imports: Sequence[str] = ()) -> str:
    """A hash of everything the output depends on: the input files (which, and their bytes),
    the files they import (as the last run recorded them), the options, and capgen itself."""
    digest = hashlib.sha256(options.encode("utf-8"))
    package = Path(__file__).resolve().parent
    own = sorted(package.glob("*.py")) + sorted(package.glob("schema/*.json"))
    own += sorted(
        p for p in (package.parent / "templates").rglob("*") if "__pycache__" not in p.parts
    )
    named = [(f"input:{path}", path) for path in inputs]
    named += [(f"import:{name}", Path(name)) for name in sorted(set(imports))]
    named += [(str(path.relative_to(package.parent)), path) for path in own]
    for name, path in named:
        content = _read(path) if path.is_file() else None
        digest.update(name.encode("utf-8") + b"\0" + (content or b"(missing)") + b"\0")
    return digest.hexdigest()


def up_to_date(out: Path, inputs: Sequence[Path], options: str) -> bool:
    """True when the last run had the same inputs (and imports) and every file it wrote is
    intact, so compiling again would change nothing."""
    try:
        data = json.loads((out / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    imports = data.get("imports", [])
    if not isinstance(imports, list) or data.get("inputs") != fingerprint(inputs, options, imports):
        return False
    files = data.get("files", {})
    return all(
        (disk := _read(out / path)) is not None and sha(disk) == entry.get("sha256")
        for path, entry in files.items()
    )


def read_manifest(out: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads((out / MANIFEST).read_text("utf-8"))
        files = data.get("files", {})
        return files if isinstance(files, dict) else {}
    except (OSError, ValueError):
        return {}


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def plan(
    out: Path,
    rendered: Mapping[str, str],
    preformatted: Collection[str] = (),
    formatter: str = "auto",
    inputs: str = "",
    imports: Sequence[str] = (),
) -> Plan:
    """Format what needs formatting and compare everything with the tree in ``out``.

    ``preformatted`` names files that are black-clean already (the static runtime).
    """
    previous = read_manifest(out)
    texts: dict[str, str] = {}
    sources = {path: sha(text) for path, text in rendered.items()}
    to_format: list[str] = []
    on_disk: dict[str, bytes | None] = {path: _read(out / path) for path in rendered}
    for path, text in rendered.items():
        if not path.endswith(".py") or path in preformatted:
            texts[path] = text
            continue
        entry = previous.get(path, {})
        disk = on_disk[path]
        if (
            disk is not None
            and entry.get("source") == sources[path]
            and entry.get("sha256") == sha(disk)
        ):
            texts[path] = disk.decode("utf-8")
        else:
            to_format.append(path)
    results = format_sources([rendered[p] for p in to_format], formatter)
    texts.update(zip(to_format, results))
    result = Plan(
        out, dict(sorted(texts.items())), sources, formatted=len(to_format), inputs=inputs
    )
    for path, text in result.texts.items():
        disk = on_disk[path]
        if disk is None:
            result.added.append(path)
        elif disk != text.encode("utf-8"):
            result.changed.append(path)
            if path not in previous:
                result.foreign.append(path)
    for path in sorted(previous):
        if path not in rendered and (out / path).exists():
            result.removed.append(path)
    return result


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def apply(result: Plan) -> None:
    out = result.out
    for path in (*result.added, *result.changed):
        _atomic_write(out / path, result.texts[path].encode("utf-8"))
    for path in result.removed:
        target = out / path
        target.unlink(missing_ok=True)
        parent = target.parent
        while parent != out and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    manifest = result.manifest_text().encode("utf-8")
    if _read(out / MANIFEST) != manifest:
        _atomic_write(out / MANIFEST, manifest)


def diff(result: Plan) -> str:
    chunks: list[str] = []
    for path in (*result.added, *result.changed):
        old = (_read(result.out / path) or b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = result.texts[path].splitlines(keepends=True)
        chunks.extend(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}"))
    for path in result.removed:
        old = (_read(result.out / path) or b"").decode("utf-8", "replace").splitlines(keepends=True)
        chunks.extend(difflib.unified_diff(old, [], f"a/{path}", "/dev/null"))
    return "".join(chunks)
