"""Stage 1 — load: read a YAML file as YAML 1.2 would, keeping a position for every node.

* Files are decoded as UTF-8 whatever the locale (a BOM is allowed).
* Only ``true``/``false`` are booleans and only ``null``/``~``/empty are null: ``on``, ``off``,
  ``yes``, ``no`` and dates stay strings, as YAML 1.2's core schema says.
* Duplicate keys are errors.
* Every value is mapped to its ``(line, column)`` (1-based) by document path, so later stages
  can locate their diagnostics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from generator.diagnostics import Diagnostic, Diagnostics, DocPath, Severity

try:  # the C parser is several times faster; the pure-Python one behaves the same
    _BaseLoader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader

MAX_NODES = 500_000  # guards against alias ("billion laughs") expansion


class _Yaml12Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """A safe loader whose implicit scalar types follow the YAML 1.2 core schema."""


_Yaml12Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        (
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        "-+0123456789.",
    ),
):
    _Yaml12Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


@dataclass(frozen=True)
class LoadedDocument:
    """A parsed YAML file: plain Python data plus a position for each document path."""

    file: str
    data: Any
    positions: dict[DocPath, tuple[int, int]]


class _Builder:
    def __init__(self, file: str, sink: Diagnostics):
        self.file = file
        self.sink = sink
        self.positions: dict[DocPath, tuple[int, int]] = {}
        self.count = 0

    def error(self, node: yaml.Node, path: DocPath, message: str) -> None:
        mark = node.start_mark
        self.sink.add(
            Diagnostic(self.file, mark.line + 1, mark.column + 1, Severity.ERROR, message, path)
        )

    def build(self, node: yaml.Node, path: DocPath, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES or depth > 200:
            raise _TooLarge(node)
        self.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.scalar_key(key_node, path)
                if key is None:
                    continue
                child = (*path, key)
                if key in result:
                    first = self.positions.get(child, (0, 0))[0]
                    self.error(
                        key_node, child, f"duplicate key {key!r} (first defined on line {first})"
                    )
                    continue
                if not isinstance(value_node, yaml.ScalarNode):
                    mark = key_node.start_mark
                    self.positions[child] = (mark.line + 1, mark.column + 1)
                result[key] = self.build(value_node, child, depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def scalar_key(self, node: yaml.Node, path: DocPath) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self.error(node, path, "mapping keys must be plain scalars")
            return None
        value = self.scalar(node)
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else str(value)

    def scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        text = node.value
        if tag == "tag:yaml.org,2002:bool":
            return text.lower() == "true"
        if tag == "tag:yaml.org,2002:null":
            return None
        if tag == "tag:yaml.org,2002:int":
            try:
                return int(text, 0) if text.startswith(("0o", "0x")) else int(text)
            except ValueError:
                return text
        if tag == "tag:yaml.org,2002:float":
            lowered = text.lower()
            if lowered.endswith("inf"):
                return float("-inf") if lowered.startswith("-") else float("inf")
            if lowered == ".nan":
                return float("nan")
            return float(text)
        return text


class _TooLarge(Exception):
    def __init__(self, node: yaml.Node):
        self.node = node


_HINTS = {
    "mapping values are not allowed": (
        "a plain value may not contain ': '; put the value in quotes"
    ),
    "cannot start any token": "YAML indentation must use spaces, not tabs",
    "tab character": "YAML indentation must use spaces, not tabs",
}


def _decode(file: str, raw: bytes, sink: Diagnostics) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        sink.add(
            Diagnostic(
                file, line, column, Severity.ERROR, f"file is not valid UTF-8 ({exc.reason})"
            )
        )
        return None


def load_text(file: str, text: str, sink: Diagnostics) -> LoadedDocument | None:
    """Parse ``text`` (the content of ``file``); problems go to ``sink``."""
    loader = _Yaml12Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        message = f"YAML syntax error: {problem}"
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            message += f" ({exc.context} on line {exc.context_mark.line + 1})"
        for needle, hint in _HINTS.items():
            if needle in problem:
                message += f"; hint: {hint}"
        sink.add(Diagnostic(file, line, column, Severity.ERROR, message))
        return None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line, column = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        char = exc.character
        shown = f"U+{char:04X}" if isinstance(char, int) else f"U+{ord(char):04X}"
        message = f"YAML error: character {shown} is not allowed ({exc.reason})"
        sink.add(Diagnostic(file, line, column, Severity.ERROR, message))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        sink.add(Diagnostic(file, line, column, Severity.ERROR, f"YAML error: {problem}"))
        return None
    finally:
        loader.dispose()
    if root is None:
        sink.add(
            Diagnostic(file, 1, 1, Severity.ERROR, "the file is empty; expected a YAML mapping")
        )
        return None
    builder = _Builder(file, sink)
    try:
        data = builder.build(root, ())
    except _TooLarge as exc:
        mark = exc.node.start_mark
        sink.add(
            Diagnostic(
                file,
                mark.line + 1,
                mark.column + 1,
                Severity.ERROR,
                "document too large or too deeply nested (alias expansion?)",
            )
        )
        return None
    return LoadedDocument(file, data, builder.positions)


def load_file(path: Path, sink: Diagnostics, display: str | None = None) -> LoadedDocument | None:
    """Read and parse one capability file."""
    file = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        sink.add(Diagnostic(file, 1, 1, Severity.ERROR, f"cannot read file: {exc.strerror}"))
        return None
    text = _decode(file, raw, sink)
    if text is None:
        return None
    return load_text(file, text, sink)
