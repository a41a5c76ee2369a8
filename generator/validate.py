"""Stage 2 — validate: recognise the dialect, then check the document against our JSON Schema.

Leniency (see DECISIONS.md): real capability files break the official schema in harmless ways
(empty ``baseUri``, underscores in names, extra ``type``/``description``/``required`` keys, a
``description`` on the REST adapter).  So violations of *naming patterns* and *unknown
properties* are warnings; wrong types, bad enum values and missing required properties are
errors.  ``strict=True`` makes every schema violation an error.

Semantic checks (unknown ``call`` targets, placeholders with no source, duplicate names) need
the resolved document and live in :mod:`generator.build`.
"""

from __future__ import annotations

import functools
import json
from enum import Enum
from importlib import resources
from typing import Any

import jsonschema

from generator.diagnostics import DocPath, Reporter

ACCEPTED_VERSIONS = ("1.0.0-alpha1", "1.0.0-alpha2", "1.0.0-alpha3")
ACCEPTED_TEXT = "capgen accepts Naftiko capability documents with `naftiko: 1.0.0-alpha1`, `-alpha2` or `-alpha3`"


class DocumentKind(Enum):
    CAPABILITY = "capability"
    SHARED_CONSUMES = "shared consumes file"
    REFUSED = "refused"


@functools.cache
def capability_schema() -> dict[str, Any]:
    text = resources.files("generator").joinpath("schema/capability.schema.json").read_text("utf-8")
    return json.loads(text)


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    schema = capability_schema()
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


OFFICIAL_PARAM_KEYS = (
    "`type`/`description`/`required` on a consumed parameter are not in the official Naftiko schema"
)
_LENIENT_KEYWORDS = {"pattern", "additionalProperties", "propertyNames"}


def classify(data: Any, report: Reporter) -> DocumentKind:
    """Say what kind of document this is; refuse anything that is not a capability we accept."""
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "empty"
        report.error(
            (),
            f"not a capability document: the top level is {kind}, not a mapping; {ACCEPTED_TEXT}",
        )
        return DocumentKind.REFUSED
    if "ikanos" in data:
        report.error(
            ("ikanos",),
            f"unsupported: the Ikanos dialect (`ikanos: {data.get('ikanos')}`) at ikanos; {ACCEPTED_TEXT}",
        )
        return DocumentKind.REFUSED
    version = data.get("naftiko")
    if version is None:
        if "capability" in data:
            report.error((), f"missing the `naftiko` version key; {ACCEPTED_TEXT}")
        else:
            keys = ", ".join(sorted(map(str, data))[:5]) or "none"
            report.error(
                (),
                f"not a Naftiko capability document (no `naftiko` key; top-level keys: {keys}); {ACCEPTED_TEXT}",
            )
        return DocumentKind.REFUSED
    if str(version) not in ACCEPTED_VERSIONS:
        text = str(version)
        what = (
            "a pre-1.0 Naftiko document"
            if text.startswith("0.")
            else "an unsupported Naftiko version"
        )
        report.error(("naftiko",), f"`naftiko: {text}` is {what}; {ACCEPTED_TEXT}")
        return DocumentKind.REFUSED
    if "capability" not in data:
        if "consumes" in data:
            return DocumentKind.SHARED_CONSUMES
        report.error((), "the document has no `capability`; nothing to generate")
        return DocumentKind.REFUSED
    return DocumentKind.CAPABILITY


def _describe(error: jsonschema.ValidationError) -> tuple[DocPath, str]:
    path: DocPath = tuple(error.absolute_path)
    value = error.instance
    keyword = error.validator
    shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, (dict, list)) else None
    if keyword == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else expected
        return path, f"{shown or type(value).__name__} is not of type {expected_text}"
    if keyword == "enum":
        options = ", ".join(str(v) for v in error.validator_value)
        return path, f"{shown} is not one of {options}"
    if keyword == "const":
        return path, f"{shown} must be {json.dumps(error.validator_value)}"
    if keyword == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return path, f"missing required property {missing!r}"
    if keyword == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extras = (
            sorted(str(k) for k in value if k not in allowed) if isinstance(value, dict) else []
        )
        first = extras[0] if extras else "?"
        names = ", ".join(repr(e) for e in extras)
        return (*path, first), f"unknown property {names} (not in the schema; ignored)"
    if keyword == "pattern":
        return path, f"{shown} does not match the pattern {error.validator_value}"
    if keyword == "propertyNames":
        return path, f"a key does not match the expected pattern ({error.message})"
    if keyword in ("minimum", "maximum"):
        return path, f"{shown} is out of range ({keyword} {error.validator_value})"
    return path, error.message


def _pattern_key(path: DocPath, error: jsonschema.ValidationError) -> tuple[str, ...]:
    shape = tuple("[]" if isinstance(p, int) else str(p) for p in path)
    return (str(error.validator), *shape)


def check_schema(data: dict[str, Any], report: Reporter, *, strict: bool) -> None:
    """Report every schema violation: errors, or warnings for the lenient classes.

    Lenient warnings of the same kind at the same place in repeated structures (the same
    unknown key on 55 parameters) are reported once, with a count.
    """
    grouped: dict[tuple[str, ...], list[tuple[DocPath, str]]] = {}
    if strict:
        for path in _typed_consumed_params(data):
            report.error(path, OFFICIAL_PARAM_KEYS)
    for error in _validator().iter_errors(data):
        path, message = _describe(error)
        if not strict and error.validator in _LENIENT_KEYWORDS:
            grouped.setdefault(_pattern_key(path, error), []).append((path, message))
        else:
            report.error(path, message)
    for path in [] if strict else _typed_consumed_params(data):
        # capgen reads these (types, descriptions, required); the official schema has no room
        # for them, so they are reported like the other lenient deviations.
        key = ("official", "consumed-param-metadata")
        grouped.setdefault(key, []).append((path, f"{OFFICIAL_PARAM_KEYS} (capgen reads them)"))
    for occurrences in grouped.values():
        path, message = occurrences[0]
        if len(occurrences) > 1:
            message += f" (and {len(occurrences) - 1} more like it)"
        report.warning(path, message)


def _typed_consumed_params(data: dict[str, Any]) -> list[DocPath]:
    """Paths of consumed parameters carrying ``type``/``description``/``required``."""
    found: list[DocPath] = []
    holders: list[tuple[DocPath, Any]] = [(("consumes",), data.get("consumes"))]
    capability = data.get("capability")
    if isinstance(capability, dict):
        holders.append((("capability", "consumes"), capability.get("consumes")))

    def params(base: DocPath, owner: Any) -> None:
        if not isinstance(owner, dict) or not isinstance(owner.get("inputParameters"), list):
            return
        for i, param in enumerate(owner["inputParameters"]):
            if isinstance(param, dict) and {"type", "description", "required"} & set(param):
                key = next(k for k in ("type", "description", "required") if k in param)
                found.append((*base, "inputParameters", i, key))

    for base, entries in holders:
        for c, entry in enumerate(entries if isinstance(entries, list) else []):
            params((*base, c), entry)
            resources = entry.get("resources") if isinstance(entry, dict) else None
            for r, resource in enumerate(resources if isinstance(resources, list) else []):
                params((*base, c, "resources", r), resource)
                operations = resource.get("operations") if isinstance(resource, dict) else None
                for o, operation in enumerate(operations if isinstance(operations, list) else []):
                    params((*base, c, "resources", r, "operations", o), operation)
    return found
