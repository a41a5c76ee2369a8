"""Stage 5 — write: format, compare, and replace files atomically; or report drift.

* Python files are formatted with black.  A manifest (``.capgen-manifest.json``) records, per
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
import tempfile
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = ".capgen-manifest.json"
PARALLEL_THRESHOLD = 24  # files to format before a process pool pays for itself


def sha(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def _black(source: str) -> str:
    import black

    mode = black.Mode(line_length=100, target_versions={black.TargetVersion.PY311})
    return black.format_str(source, mode=mode)


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

    @property
    def drift(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def manifest_text(self) -> str:
        entries = {
            path: {"sha256": sha(self.texts[path]), "source": self.sources[path]}
            for path in sorted(self.texts)
        }
        return json.dumps({"generator": "capgen", "files": entries}, indent=2, sort_keys=True) + "\n"


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


def plan(out: Path, rendered: Mapping[str, str]) -> Plan:
    """Format what needs formatting and compare everything with the tree in ``out``."""
    previous = read_manifest(out)
    texts: dict[str, str] = {}
    sources = {path: sha(text) for path, text in rendered.items()}
    to_format: list[str] = []
    on_disk: dict[str, bytes | None] = {path: _read(out / path) for path in rendered}
    for path, text in rendered.items():
        if not path.endswith(".py"):
            texts[path] = text
            continue
        entry = previous.get(path, {})
        disk = on_disk[path]
        if disk is not None and entry.get("source") == sources[path] and entry.get("sha256") == sha(disk):
            texts[path] = disk.decode("utf-8")
        else:
            to_format.append(path)
    sources_to_format = [rendered[p] for p in to_format]
    if len(to_format) >= PARALLEL_THRESHOLD and (os.cpu_count() or 1) > 1:
        with ProcessPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            results = list(pool.map(_black, sources_to_format, chunksize=8))
    else:
        results = [_black(s) for s in sources_to_format]
    texts.update(zip(to_format, results))
    result = Plan(out, dict(sorted(texts.items())), sources, formatted=len(to_format))
    for path, text in result.texts.items():
        disk = on_disk[path]
        if disk is None:
            result.added.append(path)
        elif disk != text.encode("utf-8"):
            result.changed.append(path)
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
