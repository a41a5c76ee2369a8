"""JSONPath expressions of output mappings, compiled at generation time to plain steps.

Generated code then walks the steps (``_runtime.walk``) without a JSONPath library.  Parsing
uses jsonpath-ng; ``$`` and ``$.`` (what real files write for the whole document) are the root,
and a dotted path with spaces (``$.properties.Participation Status.name``) is read as the
reference engine does.  Supported: field names, ``[n]``, ``[*]``/``.*``.
"""

from __future__ import annotations

import re
from typing import Any

from jsonpath_ng import jsonpath as jp
from jsonpath_ng import parse as parse_jsonpath
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError

from generator import ir


class JsonPathError(ValueError):
    """The expression cannot be compiled; the message says why."""


def compile_jsonpath(expression: str) -> tuple[ir.Step, ...]:
    """``$.data[0].id`` -> ``("data", 0, "id")``; ``$``/``$.`` -> ``()``."""
    text = expression.strip()
    if text in ("$", "$."):
        return ()
    if text.startswith("$.") and text[2:3] == "[":
        text = "$" + text[2:]
    try:
        tree = parse_jsonpath(text)
    except (JsonPathParserError, JsonPathLexerError, ValueError, TypeError, AttributeError):
        simple = text[2:] if text.startswith("$.") else None
        if simple and re.fullmatch(r"[^.\[\]]+(\.[^.\[\]]+)*", simple):
            return tuple(simple.split("."))
        raise JsonPathError(f"cannot read the JSONPath {expression!r}") from None
    steps: list[ir.Step] = []

    def walk(node: Any) -> None:
        if isinstance(node, jp.Root):
            return
        if isinstance(node, jp.Child):
            walk(node.left)
            walk(node.right)
            return
        if isinstance(node, jp.Fields) and len(node.fields) == 1:
            steps.append(ir.Wildcard() if node.fields[0] == "*" else node.fields[0])
            return
        if isinstance(node, jp.Index) and len(node.indices) == 1:
            steps.append(int(node.indices[0]))
            return
        if (
            isinstance(node, jp.Slice)
            and node.start is None
            and node.end is None
            and node.step is None
        ):
            steps.append(ir.Wildcard())
            return
        if type(node).__name__ == "Wildcard":
            steps.append(ir.Wildcard())
            return
        raise JsonPathError(
            f"unsupported: JSONPath {expression!r} uses {type(node).__name__} "
            "(supported: fields, [n], [*])"
        )

    walk(tree)
    return tuple(steps)
