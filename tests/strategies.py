"""Hypothesis strategies: random but valid capability documents with hostile names and text.

``capability_documents()`` draws a :class:`Doc`: the document as plain data plus the facts the
properties check against (which text went where).  ``dump()`` writes it as YAML the way a
person's editor would (block style, UTF-8), quoting every string that a YAML 1.2 reader would
otherwise take for a number, boolean or null.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from hypothesis import strategies as st

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# Python keywords, builtins and names the generated modules use themselves.
KEYWORDS = (
    "class", "from", "in", "self", "request", "json", "def", "import", "return", "None", "True",
    "lambda", "async", "await", "global", "type", "id", "app", "blueprint", "client", "inputs",
    "answer", "path", "body", "rt", "os", "sys", "Any", "Mapping", "environ", "settings", "query",
    "headers", "__init__", "_", "print", "list", "dict",
)

_NON_ASCII_LETTERS = "äöüßéçñÅøæ每页数量ДжзΩλπ"

_hyphenated = st.from_regex(r"[a-z][a-z0-9]{0,5}(-[a-z0-9]{1,5}){1,2}", fullmatch=True)
_digit_first = st.from_regex(r"[0-9][a-z0-9_-]{0,6}", fullmatch=True)
_brackets = st.from_regex(r"[a-z]{1,5}\[[a-z0-9]{1,5}\]", fullmatch=True)
_dotted = st.from_regex(r"[a-z]{1,5}\.[a-z]{1,5}", fullmatch=True)
_snake = st.from_regex(r"[a-z][a-z0-9]{0,4}_[a-z0-9]{1,4}", fullmatch=True)
_non_ascii = st.text(alphabet="abc" + _NON_ASCII_LETTERS, min_size=1, max_size=6)
_upper = st.from_regex(r"[A-Z][A-Za-z0-9]{0,6}", fullmatch=True)

# Query names: anything people put in query strings.
QUERY_NAMES = st.one_of(
    st.sampled_from(KEYWORDS), _hyphenated, _digit_first, _brackets, _dotted, _snake, _non_ascii, _upper
)
# Header names must be HTTP tokens (RFC 9110), and differ in more than case.
HEADER_NAMES = st.one_of(
    st.sampled_from([k for k in KEYWORDS if k.strip("_")]),
    _hyphenated,
    st.from_regex(r"[0-9][a-z0-9-]{0,6}", fullmatch=True),
    _dotted,
    _upper,
    st.sampled_from(("X-Api-Key", "X-Request-Id", "Accept-Language", "If-Match")),
)
# Path placeholders (RFC 6570 variable names allow letters, digits, `_`, `.`, percent escapes;
# OpenAPI and real specs also use `-`): keywords, hyphens, digits first, non-ASCII.
PATH_NAMES = st.one_of(
    st.sampled_from(KEYWORDS), _hyphenated, _digit_first, _snake, _non_ascii, _upper
)

# Free text: anything, plus the payloads that break code generators.
PAYLOADS = (
    '"', "'", '"""', "'''", "\\", "\\n", "\n", "\r\n", "\r", "\t", "{{ x }}", "{% raw %}", "{%",
    "}}", "{0}", "%s", "%(x)s", "{__import__('os').system('touch /tmp/capgen_prop')}",
    "\\N{BULLET}", "\\x4", "\\u00", "# comment", "*/", "`", "${x}", "</script>", "\x00", "\u2028",
    "\x85", "\ufeff", "🍎", "é", " ", "null", "true", "on", "1.0", "0o17", "1e5", ": ", "- ", "&a",
    "*a", "!tag", "|", ">",
)
TEXT = st.one_of(
    st.text(max_size=20),
    st.tuples(
        st.text(max_size=6), st.sampled_from(PAYLOADS), st.text(max_size=6), st.sampled_from(PAYLOADS)
    ).map("".join),
)
NONEMPTY_TEXT = TEXT.map(lambda s: s if s.strip() else "x" + s)

TOOL_NAMES = st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True)


@dataclass
class Param:
    name: str
    location: str
    required: bool
    description: str


@dataclass
class Operation:
    index: int
    method: str
    params: list[Param]
    description: str  # consumed operation
    rest_label: str
    rest_description: str
    tool_name: str
    tool_label: str
    tool_description: str

    @property
    def name(self) -> str:
        return f"op{self.index}"


@dataclass
class Doc:
    namespace: str
    label: str
    description: str
    mcp_description: str
    rest_port: int
    mcp_port: int
    operations: list[Operation]
    data: dict[str, Any] = field(default_factory=dict)


@st.composite
def _params(draw: st.DrawFn) -> list[Param]:
    params: list[Param] = []
    used: set[str] = set()
    headers: set[str] = set()
    for _ in range(draw(st.integers(0, 5))):
        location = draw(st.sampled_from(("query", "header", "path")))
        strategy = {"query": QUERY_NAMES, "header": HEADER_NAMES, "path": PATH_NAMES}[location]
        name = draw(strategy)
        if name in used or (location == "header" and name.lower() in headers):
            continue
        used.add(name)
        if location == "header":
            headers.add(name.lower())
        required = True if location == "path" else draw(st.booleans())
        params.append(Param(name, location, required, draw(TEXT)))
    # Names that differ only where a Python identifier cannot (`sort-by` / `sort_by`, `Q` / `q`,
    # `page[size]` / `page_size_`): the generated identifiers must still be distinct.
    if params and draw(st.booleans()):
        base = draw(st.sampled_from(params))
        twin = draw(
            st.sampled_from(
                (
                    base.name.replace("-", "_").replace(".", "_").replace("[", "_").replace("]", "_"),
                    base.name.swapcase(),
                    base.name + "_",
                    "_" + base.name,
                )
            )
        )
        if twin and twin not in used:
            used.add(twin)
            params.append(Param(twin, "query", draw(st.booleans()), draw(TEXT)))
    return params


@st.composite
def capability_documents(draw: st.DrawFn) -> Doc:
    namespace = draw(st.from_regex(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,5})?", fullmatch=True))
    tool_names = draw(st.lists(TOOL_NAMES, min_size=3, max_size=3, unique=True))
    operations = []
    for index in range(draw(st.integers(1, 3))):
        operations.append(
            Operation(
                index=index,
                method=draw(st.sampled_from(METHODS)),
                params=draw(_params()),
                description=draw(TEXT),
                rest_label=draw(TEXT),
                rest_description=draw(TEXT),
                tool_name=tool_names[index],
                tool_label=draw(TEXT),
                tool_description=draw(NONEMPTY_TEXT),
            )
        )
    rest_port = draw(st.integers(1024, 65535))
    mcp_port = 1024 + (rest_port - 1024 + draw(st.integers(1, 60000))) % (65536 - 1024)
    doc = Doc(
        namespace=namespace,
        label=draw(NONEMPTY_TEXT),
        description=draw(NONEMPTY_TEXT),
        mcp_description=draw(TEXT),
        rest_port=rest_port,
        mcp_port=mcp_port,
        operations=operations,
    )
    doc.data = to_data(doc)
    return doc


def _path_suffix(params: list[Param]) -> str:
    return "".join(f"/{{{p.name}}}" for p in params if p.location == "path")


def to_data(doc: Doc) -> dict[str, Any]:
    ns = doc.namespace
    resources = []
    rest_resources = []
    tools = []
    for op in doc.operations:
        suffix = _path_suffix(op.params)
        resources.append(
            {
                "name": f"r{op.index}",
                "path": f"/r{op.index}{suffix}",
                "operations": [
                    {
                        "name": op.name,
                        "method": op.method,
                        "description": op.description,
                        "inputParameters": [
                            {
                                "name": p.name,
                                "in": p.location,
                                "type": "string",
                                "required": p.required,
                                "description": p.description,
                            }
                            for p in op.params
                        ],
                    }
                ],
            }
        )
        rest_resources.append(
            {
                "path": f"/v1/r{op.index}{suffix}",
                "name": f"r{op.index}",
                "operations": [
                    {
                        "method": op.method,
                        "name": op.name,
                        "label": op.rest_label,
                        "description": op.rest_description,
                        "call": f"{ns}.{op.name}",
                        "with": {p.name: f"rest.{p.name}" for p in op.params},
                    }
                ],
            }
        )
        tools.append(
            {
                "name": op.tool_name,
                "label": op.tool_label,
                "description": op.tool_description,
                "call": f"{ns}.{op.name}",
                "with": {p.name: f"tools.{p.name}" for p in op.params},
            }
        )
    return {
        "naftiko": "1.0.0-alpha2",
        "info": {"label": doc.label, "description": doc.description},
        "capability": {
            "consumes": [
                {"type": "http", "namespace": ns, "baseUri": "http://upstream.test", "resources": resources}
            ],
            "exposes": [
                {"type": "rest", "namespace": f"{ns}-rest", "port": doc.rest_port, "resources": rest_resources},
                {
                    "type": "mcp",
                    "namespace": f"{ns}-mcp",
                    "port": doc.mcp_port,
                    "transport": "http",
                    "description": doc.mcp_description,
                    "tools": tools,
                },
            ],
        },
    }


# Plain scalars that a YAML 1.2 core-schema reader resolves to something other than a string.
_NOT_A_STRING = re.compile(
    r"true|True|TRUE|false|False|FALSE|~|null|Null|NULL|"
    r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|"
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # NEL and the Unicode line/paragraph separators are written raw by PyYAML's plain and
    # single-quoted styles, and its reader then folds them as line breaks (YAML 1.1): escape them.
    breaks = any(ch in value for ch in "\x85\u2028\u2029")
    style = '"' if _NOT_A_STRING.fullmatch(value) or value == "" or breaks else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False)
