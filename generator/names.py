"""Names: turning document names into safe, unique Python identifiers and env variable names.

Wire names (what goes over HTTP or appears in a schema) are never changed; only the
identifiers used inside generated Python are derived here.
"""

from __future__ import annotations

import builtins
import hashlib
import keyword
import re
import unicodedata

# Names the generated modules use themselves; an identifier derived from a document never
# takes one of them, so it cannot shadow an import or a helper.
RESERVED = frozenset(
    {
        "annotations",
        "build",
        "build_app",
        "current_app",
        "environ",
        "load_settings",
        "name",
        "path",
        "path_values",
        "read_inputs",
        "respond",
        "serve",
        "tools",
        "upstream_client",
        "version",
        "anyio",
        "app",
        "answer",
        "args",
        "arguments",
        "blueprint",
        "client",
        "create_app",
        "build_server",
        "flask",
        "inputs",
        "json",
        "logging",
        "main",
        "mcp",
        "os",
        "request",
        "response",
        "rt",
        "rest",
        "self",
        "settings",
        "sys",
        "typing",
        "upstream",
        "Any",
        "Client",
        "Settings",
    }
)
_BUILTINS = frozenset(dir(builtins))
MAX_IDENT = 60


def normalise(name: str) -> str:
    """The lookup key under which ``project-id``, ``project_id`` and ``Project_ID`` are equal."""
    return name.replace("-", "_").lower()


def snake(name: str) -> str:
    """Any text -> lower snake case ASCII (may be empty or start with a digit)."""
    text = unicodedata.normalize("NFKD", name)
    text = text.encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    return re.sub(r"_+", "_", text)


def _shorten(text: str, original: str) -> str:
    if len(text) <= MAX_IDENT:
        return text
    digest = hashlib.sha1(original.encode("utf-8")).hexdigest()[:8]
    return f"{text[: MAX_IDENT - 9].rstrip('_')}_{digest}"


def identifier(name: str, *, fallback: str = "value") -> str:
    """A valid, non-reserved Python identifier for ``name`` (not yet unique)."""
    text = snake(name)
    if not text:
        digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:6]
        text = f"{fallback}_{digest}" if name else fallback
    if text[0].isdigit():
        text = f"n{text}"
    text = _shorten(text, name)
    if keyword.iskeyword(text) or keyword.issoftkeyword(text) or text in _BUILTINS:
        text += "_"
    if text in RESERVED:
        text += "_"
    return text


def env_name(name: str) -> str:
    """``posthog-task-runs`` -> ``POSTHOG_TASK_RUNS``."""
    text = snake(name).upper()
    if not text:
        text = "CAPABILITY"
    if text[0].isdigit():
        text = f"X{text}"
    return text


class Namer:
    """Hands out unique identifiers within one scope, deterministically."""

    def __init__(self, taken: set[str] | frozenset[str] = frozenset()) -> None:
        self.taken: set[str] = set(taken)

    def claim(self, name: str, *, fallback: str = "value") -> str:
        base = identifier(name, fallback=fallback)
        candidate = base
        counter = 2
        while candidate in self.taken:
            candidate = f"{base}_{counter}"
            counter += 1
        self.taken.add(candidate)
        return candidate


def package_name(stem: str) -> str:
    """File stem -> package name: ``posthog-task-runs`` -> ``posthog_task_runs``."""
    text = snake(stem) or "capability"
    if text[0].isdigit():
        text = f"c_{text}"
    if keyword.iskeyword(text) or text in _BUILTINS:
        text += "_"
    return text
