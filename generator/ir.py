"""Stage 3 — the intermediate representation.

Frozen dataclasses holding everything the emitters need, already decided: Python identifiers
are sanitized and unique, wire names are exact, every reference is resolved.  Templates and the
OpenAPI builder only format these objects.

The central idea: a REST route and an MCP tool are both an :class:`EntryPoint` — caller inputs,
bound to the parameters of one upstream operation, whose answer is shaped by an output shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Location = Literal["path", "query", "header", "cookie", "body"]
JsonSchema = dict[str, Any]

# ---------------------------------------------------------------------------------------------
# Values: what a parameter receives


@dataclass(frozen=True)
class Text:
    """Literal text inside a template."""

    text: str


@dataclass(frozen=True)
class InputRef:
    """The caller's input with this (wire) name."""

    name: str


@dataclass(frozen=True)
class SettingRef:
    """A value read from the environment at start-up (``Settings.<attr>``)."""

    attr: str


TemplatePart = Text | InputRef | SettingRef


@dataclass(frozen=True)
class Const:
    """A constant JSON value."""

    value: Any


@dataclass(frozen=True)
class FromInput:
    """The caller's input, passed on unchanged (absent stays absent)."""

    name: str


@dataclass(frozen=True)
class FromSetting:
    """A setting's value, passed on unchanged."""

    attr: str


@dataclass(frozen=True)
class Template:
    """A string assembled from parts; absent when an input it names is absent."""

    parts: tuple[TemplatePart, ...]


@dataclass(frozen=True)
class ObjectExpr:
    """A JSON object whose members are values (used for templated request bodies)."""

    items: tuple[tuple[str, ValueExpr], ...]


@dataclass(frozen=True)
class ArrayExpr:
    items: tuple[ValueExpr, ...]


ValueExpr = Const | FromInput | FromSetting | Template | ObjectExpr | ArrayExpr

# ---------------------------------------------------------------------------------------------
# Settings and upstreams


@dataclass(frozen=True)
class Setting:
    """One environment variable the generated adapters read at start-up."""

    attr: str
    env_name: str
    kind: Literal["base_url", "secret"]
    default: str | None
    description: str


@dataclass(frozen=True)
class Auth:
    kind: Literal["bearer", "apikey", "basic", "digest"]
    placement: Literal["header", "query"] | None = None
    key: str = ""
    value: Template | None = None
    username: Template | None = None
    password: Template | None = None


@dataclass(frozen=True)
class PathVar:
    """A placeholder in an upstream path, filled from the method argument ``ident``."""

    ident: str


@dataclass(frozen=True)
class UpstreamParam:
    wire_name: str
    ident: str
    location: Location
    schema: JsonSchema
    required: bool
    description: str | None


@dataclass(frozen=True)
class RequestBody:
    """How an upstream operation's request body is built from its method arguments.

    ``kind``: ``json`` (one argument is the whole JSON body), ``fields`` (a JSON object of the
    given arguments), ``form`` (form-encoded fields), ``text`` (a rendered text template sent
    with ``media_type``), or ``none``.
    """

    kind: Literal["none", "json", "fields", "form", "text"] = "none"
    ident: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    media_type: str = "application/json"


@dataclass(frozen=True)
class UpstreamOp:
    name: str
    ident: str
    method: str
    path: tuple[Text | PathVar, ...]
    params: tuple[UpstreamParam, ...]
    body: RequestBody
    raw_format: str
    description: str | None
    defaults: tuple[tuple[str, ValueExpr], ...] = ()  # param ident -> value from the document


@dataclass(frozen=True)
class Upstream:
    namespace: str
    attr: str
    base_url: Template
    base_url_setting: Setting
    auth: Auth | None
    operations: tuple[UpstreamOp, ...]


# ---------------------------------------------------------------------------------------------
# Outputs


@dataclass(frozen=True)
class Wildcard:
    """``[*]`` in a JSONPath: every element."""


Step = str | int | Wildcard


@dataclass(frozen=True)
class Whole:
    """The whole upstream JSON document."""


@dataclass(frozen=True)
class Pick:
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Fields:
    items: tuple[tuple[str, OutputShape], ...]


@dataclass(frozen=True)
class Each:
    steps: tuple[Step, ...]
    item: OutputShape


@dataclass(frozen=True)
class Static:
    value: ValueExpr


@dataclass(frozen=True)
class Raw:
    """The upstream body passed through as it is, with its content type."""


OutputShape = Whole | Pick | Fields | Each | Static | Raw


# ---------------------------------------------------------------------------------------------
# Entry points: REST routes and MCP tools


@dataclass(frozen=True)
class Input:
    """One value the caller supplies."""

    name: str  # as the caller writes it (path variable, query key, header, property)
    ident: str  # a safe Python identifier (Flask path variables)
    location: Location
    schema: JsonSchema
    required: bool
    description: str | None


@dataclass(frozen=True)
class Binding:
    param_ident: str
    value: ValueExpr


@dataclass(frozen=True)
class EntryPoint:
    inputs: tuple[Input, ...]
    upstream: Upstream | None
    operation: UpstreamOp | None
    bindings: tuple[Binding, ...]
    output: OutputShape
    output_schema: JsonSchema | None


FORWARD_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Forward:
    """A ``forward`` resource: any method and sub-path, relayed to one upstream as it is."""

    upstream: Upstream
    trusted_headers: tuple[str, ...]
    headers: tuple[tuple[str, Template], ...] = ()  # consumes-level header parameters
    query: tuple[tuple[str, Template], ...] = ()  # consumes-level query parameters


@dataclass(frozen=True)
class Route:
    ident: str
    rule: str  # Flask rule: /v1/items/<item_id>
    path: str  # as exposed: /v1/items/{item-id}
    method: str
    operation_id: str
    tag: str
    summary: str | None
    description: str | None
    entry: EntryPoint
    forward: Forward | None = None

    @property
    def methods(self) -> tuple[str, ...]:
        return FORWARD_METHODS if self.forward else (self.method,)

    @property
    def path_inputs(self) -> tuple[Input, ...]:
        return tuple(i for i in self.entry.inputs if i.location == "path")


@dataclass(frozen=True)
class RestAdapter:
    namespace: str
    module: str
    port: int
    address: str
    description: str | None
    routes: tuple[Route, ...]
    auth: Auth | None = None


@dataclass(frozen=True)
class Tool:
    name: str
    ident: str
    title: str | None
    description: str
    annotations: dict[str, bool] | None
    input_schema: JsonSchema
    entry: EntryPoint


@dataclass(frozen=True)
class McpAdapter:
    namespace: str
    module: str
    port: int
    address: str
    transport: Literal["http", "stdio"]
    description: str | None
    tools: tuple[Tool, ...]


@dataclass(frozen=True)
class Capability:
    source: str
    package: str
    title: str
    description: str
    version: str
    naftiko: str
    settings: tuple[Setting, ...]
    upstreams: tuple[Upstream, ...]
    rest_adapters: tuple[RestAdapter, ...]
    mcp_adapters: tuple[McpAdapter, ...]
    imports: tuple[str, ...] = ()  # files read through `import`, as displayed
