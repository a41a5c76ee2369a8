"""Diagnostics: located problems collected over a whole run, printed like a compiler's.

Every stage appends to a :class:`Diagnostics` collector instead of raising, so one run reports
every problem it can find.  A diagnostic renders as::

    capabilities/x.yaml:24:17: error: 'FETCH' is not one of GET, POST, ... [capability.consumes[0]...]
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

DocPath = tuple[str | int, ...]


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


def format_doc_path(path: DocPath) -> str:
    """``("capability", "exposes", 0, "port")`` -> ``capability.exposes[0].port``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            text += f".{part}"
        else:
            text = str(part)
    return text or "(document)"


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int
    column: int
    severity: Severity = field(compare=False)
    message: str
    doc_path: DocPath = field(default=(), compare=False)

    def render(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        suffix = f" [{format_doc_path(self.doc_path)}]" if self.doc_path else ""
        return f"{where}: {self.severity.value}: {self.message}{suffix}"


class Diagnostics:
    """An ordered collection of diagnostics for one run."""

    def __init__(self) -> None:
        self._items: list[Diagnostic] = []
        self._seen: set[tuple[str, int, int, str, str]] = set()

    def add(self, diagnostic: Diagnostic) -> None:
        key = (
            diagnostic.file,
            diagnostic.line,
            diagnostic.column,
            diagnostic.severity.value,
            diagnostic.message,
        )
        if key not in self._seen:
            self._seen.add(key)
            self._items.append(diagnostic)

    def extend(self, diagnostics: Sequence[Diagnostic]) -> None:
        for diagnostic in diagnostics:
            self.add(diagnostic)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(sorted(self._items, key=lambda d: (d.file, d.line, d.column, d.message)))

    def __len__(self) -> int:
        return len(self._items)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self if d.severity is Severity.WARNING]

    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self._items)

    def errors_in(self, file: str) -> bool:
        return any(d.severity is Severity.ERROR and d.file == file for d in self._items)


class Reporter:
    """Adds diagnostics for one document, looking positions up by document path."""

    def __init__(self, file: str, positions: dict[DocPath, tuple[int, int]], sink: Diagnostics):
        self.file = file
        self.positions = positions
        self.sink = sink

    def position(self, path: DocPath) -> tuple[int, int]:
        probe = tuple(path)
        while probe:
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return self.positions.get((), (1, 1))

    def error(self, path: DocPath, message: str) -> None:
        self._add(Severity.ERROR, path, message)

    def warning(self, path: DocPath, message: str) -> None:
        self._add(Severity.WARNING, path, message)

    def _add(self, severity: Severity, path: DocPath, message: str) -> None:
        line, column = self.position(path)
        self.sink.add(Diagnostic(self.file, line, column, severity, message, tuple(path)))
