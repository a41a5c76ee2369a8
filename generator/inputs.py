"""Which files a run reads (kept light: the up-to-date fast path imports only this)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

CAPABILITY_SUFFIXES = (".yaml", ".yml")


def collect(paths: Sequence[Path]) -> list[Path]:
    """Capability files named, or found directly inside named folders (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.iterdir() if p.is_file() and p.suffix in CAPABILITY_SUFFIXES)
            )
        else:
            found.append(path)
    unique: dict[Path, Path] = {}
    for path in found:  # the same file named twice is read once
        unique.setdefault(path.resolve(), path)
    return list(unique.values())
