"""Stage 3 — build: a validated document becomes a :class:`~generator.ir.Capability`.

This is where every decision of DECISIONS.md is taken once, for REST routes and MCP tools
alike: ``call`` targets are resolved, ``with`` values parsed (``rest.x``/``tools.x``/
``<namespace>.x`` are caller inputs, ``{{x}}`` is a template, anything else a constant),
caller inputs are derived when none are declared, placeholders are matched by exact then
normalised name (``project-id`` feeds ``project_id``), secrets are routed through ``binds``,
JSONPath output mappings are compiled, and every Python name is made safe and unique.

Problems are reported to the :class:`~generator.diagnostics.Reporter`; the function returns
``None`` when the document cannot be compiled faithfully.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from generator import ir, names
from generator.bindings import InputResolver
from generator.consumed import (
    PLACEHOLDER,
    TEMPLATE_VAR,
    TOOL_NAME,
    Bind,
    BuildAbort,
    ConsumedApi,
    ConsumedOp,
    ConsumedParam,
    has_static_value,
    port_or,
    schema_of,
    text_or_none,
)
from generator.diagnostics import DocPath, Reporter, format_doc_path
from generator.outputs import output_shape


class _Shifted(Reporter):
    """A reporter for a sub-document checked on its own: ``consumes[0]`` -> ``inner_path``."""

    def __init__(self, base: Reporter, inner: DocPath):
        super().__init__(base.file, base.positions, base.sink)
        self.inner = inner

    def _add(self, severity: Any, path: DocPath, message: str) -> None:
        super()._add(severity, (*self.inner, *tuple(path)[2:]), message)


class Builder:
    def __init__(
        self,
        data: dict[str, Any],
        report: Reporter,
        package: str,
        source: str,
        folder: Path | None = None,
    ):
        self.folder = folder or Path(".")
        self.data = data
        self.report = report
        self.package = package
        self.source = source
        self.binds: dict[str, Bind] = {}
        self.bind_namespaces: set[str] = set()
        self.settings: dict[str, ir.Setting] = {}
        self.setting_attrs = names.Namer({"timeout", "environ", "field", "dataclass", "httpx2"})
        self.upstreams: dict[str, ConsumedApi] = {}
        # Connection attributes and operation methods share the `Client` namespace.
        self.client_names = names.Namer({"settings", "close"})
        self.exposes_namespaces: set[str] = set()

    # -- binds and settings ---------------------------------------------------------------

    def read_binds(self) -> None:
        entries: list[tuple[DocPath, Any]] = []
        for base in (("binds",), ("capability", "binds")):
            holder = (
                self.data.get(base[0]) if len(base) == 1 else self.data["capability"].get("binds")
            )
            for i, bind in enumerate(holder or []):
                entries.append(((*base, i), bind))
        for path, bind in entries:
            namespace = str(bind.get("namespace", ""))
            if namespace in self.bind_namespaces:
                self.report.warning(
                    (*path, "namespace"), f"bind namespace {namespace!r} is declared twice"
                )
            self.bind_namespaces.add(namespace)
            if bind.get("location"):
                self.report.warning(
                    (*path, "location"),
                    "bind `location` files are not read by generated adapters; "
                    "the keys are read from environment variables of the same name",
                )
            for variable, provider in (bind.get("keys") or {}).items():
                env = str(provider) if bind.get("location") is None else str(variable)
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
                    env = names.env_name(str(variable))
                self.binds[str(variable)] = Bind(env, namespace)

    def secret(
        self, variable: str, path: DocPath, *, declared_only: bool = False
    ) -> ir.SettingRef | None:
        """The setting for a bound variable (``X``, ``env.X``, ``<bind namespace>.X``)."""
        name = variable
        if "." in name:
            prefix, rest = name.split(".", 1)
            if prefix == "env" or prefix in self.bind_namespaces:
                name = rest
        bind = self.binds.get(name)
        if bind is None:
            if declared_only or not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
                return None
            self.report.warning(
                path,
                f"{{{{{variable}}}}} is not declared in `binds`; it is read from the environment variable {name}",
            )
            bind = Bind(name, "")
            self.binds[name] = bind
        return ir.SettingRef(self.setting(bind.env_name, "secret", None, f"secret `{name}`").attr)

    def setting(
        self, env_name: str, kind: str, default: str | None, description: str
    ) -> ir.Setting:
        existing = self.settings.get(env_name)
        if existing is not None:
            return existing
        attr = self.setting_attrs.claim(env_name.lower(), fallback="setting")
        setting = ir.Setting(attr, env_name, kind, default, description)  # type: ignore[arg-type]
        self.settings[env_name] = setting
        return setting

    def settings_template(self, text: str, path: DocPath) -> ir.Template | None:
        """A template over settings only (auth values, base URLs)."""
        parts: list[ir.TemplatePart] = []
        position = 0
        ok = True
        for match in TEMPLATE_VAR.finditer(text):
            if match.start() > position:
                parts.append(ir.Text(text[position : match.start()]))
            variable = match.group(1)
            ref = self.secret(variable, path)
            if ref is None:
                self.report.error(
                    path,
                    f"placeholder {{{{{variable}}}}} has no source: declare it under `binds` keys",
                )
                ok = False
            else:
                parts.append(ref)
            position = match.end()
        if position < len(text):
            parts.append(ir.Text(text[position:]))
        return ir.Template(tuple(parts)) if ok else None

    # -- consumes ----------------------------------------------------------------------------

    def read_consumes(self) -> None:
        capability = self.data["capability"]
        entries = list(enumerate(capability.get("consumes") or []))
        for index, entry in entries:
            path: DocPath = ("capability", "consumes", index)
            if "import" in entry:
                self.read_imported_consumes(entry, path)
                continue
            self.read_http_consumes(entry, path)

    def read_imported_consumes(self, entry: dict[str, Any], path: DocPath) -> None:
        """``{import: ns, location: ./shared/x.yaml, as: alias}``: a consumes entry of another file.

        The location is resolved relative to this capability's folder and must stay inside it
        (no ``..`` escapes, no absolute paths, no URLs).  The target is a shared consumes file
        (root ``consumes``) or a capability whose ``capability.consumes`` has that namespace.
        """
        from generator.load import load_file  # the loader is only needed for imports
        from generator.validate import check_schema

        wanted = str(entry.get("import"))
        location = str(entry.get("location", ""))
        folder = self.folder.resolve()
        target = (folder / location).resolve() if location else folder
        if (
            not location
            or "://" in location
            or Path(location).is_absolute()
            or not target.is_relative_to(folder)
        ):
            self.report.error(
                (*path, "location"),
                f"import location {location!r} must be a relative path inside the capability's folder",
            )
            return
        if not target.is_file():
            self.report.error((*path, "location"), f"import location {location!r} does not exist")
            return
        display = str(Path(self.report.file).parent / location)
        self.imported.append(display)
        document = load_file(target, self.report.sink, display)
        if document is None:
            self.report.error(
                (*path, "location"), f"import location {location!r} could not be read"
            )
            return
        reporter = Reporter(display, document.positions, self.report.sink)
        data = document.data if isinstance(document.data, dict) else {}
        candidates: list[tuple[DocPath, Any]] = [
            (("consumes", i), c) for i, c in enumerate(data.get("consumes") or [])
        ]
        nested = data.get("capability") if isinstance(data.get("capability"), dict) else {}
        candidates += [
            (("capability", "consumes", i), c) for i, c in enumerate(nested.get("consumes") or [])
        ]
        found = [
            (p, c) for p, c in candidates if isinstance(c, dict) and c.get("namespace") == wanted
        ]
        if not found:
            known = ", ".join(str(c.get("namespace")) for _, c in candidates if isinstance(c, dict))
            self.report.error(
                (*path, "import"),
                f"{location!r} has no consumes namespace {wanted!r} (it has: {known or 'none'})",
            )
            return
        inner_path, imported = found[0]
        if "import" in imported:
            self.report.error((*path, "import"), "imports of imports are not supported")
            return
        check_schema(
            {"naftiko": "1.0.0-alpha2", "consumes": [imported]},
            _Shifted(reporter, inner_path),
            strict=False,
        )
        alias = entry.get("as")
        imported = dict(imported)
        if alias:
            imported["namespace"] = str(alias)
        main_report = self.report
        self.report = reporter
        try:
            self.read_http_consumes(imported, inner_path)
        finally:
            self.report = main_report

    def read_http_consumes(self, entry: dict[str, Any], path: DocPath) -> None:
        namespace = str(entry["namespace"])
        if namespace in self.upstreams:
            self.report.error(
                (*path, "namespace"), f"consumes namespace {namespace!r} is declared twice"
            )
            return
        upstream = ConsumedApi(
            namespace, self.client_names.claim(namespace, fallback="upstream"), reporter=self.report
        )
        self.upstreams[namespace] = upstream
        shared = self.read_params(entry.get("inputParameters"), (*path, "inputParameters"))
        upstream.shared_params = shared
        for r, resource in enumerate(entry.get("resources") or []):
            rpath = (*path, "resources", r)
            resource_params = self.read_params(
                resource.get("inputParameters"), (*rpath, "inputParameters")
            )
            for o, operation in enumerate(resource.get("operations") or []):
                opath = (*rpath, "operations", o)
                own = self.read_params(
                    operation.get("inputParameters"), (*opath, "inputParameters")
                )
                merged: dict[tuple[str, str], ConsumedParam] = {}
                for param in (*shared, *resource_params, *own):
                    merged[(param.name, param.location)] = param
                op_name = str(operation["name"])
                if any(op.name == op_name for op in upstream.ops):
                    self.report.warning(
                        (*opath, "name"),
                        f"operation name {op_name!r} is used twice in namespace {namespace!r}; "
                        "`call` uses the first one",
                    )
                upstream.ops.append(
                    ConsumedOp(
                        namespace,
                        op_name,
                        str(operation.get("method", "GET")).upper(),
                        str(resource["path"]),
                        list(merged.values()),
                        operation.get("body"),
                        str(operation.get("outputRawFormat", "json")),
                        text_or_none(operation.get("description")),
                        opath,
                        None,
                        self.report,
                    )
                )
        self.read_base_url(upstream, entry, path)
        upstream_auth = entry.get("authentication")
        self._pending_auth[namespace] = (upstream_auth, (*path, "authentication"))

    _pending_auth: dict[str, tuple[Any, DocPath]]

    def read_params(self, raw: Any, path: DocPath) -> list[ConsumedParam]:
        params: list[ConsumedParam] = []
        for i, param in enumerate(raw or []):
            location = str(param.get("in", "query"))
            if location == "environment":
                # An `in: environment` parameter is a variable for templates (`{{name}}`),
                # read from the environment variable of that name.
                name = str(param.get("name", ""))
                env = (
                    name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else names.env_name(name)
                )
                self.binds.setdefault(name, Bind(env, ""))
            params.append(
                ConsumedParam(
                    name=str(param["name"]),
                    location=location,
                    schema=schema_of(param),
                    required=(
                        param.get("required") if isinstance(param.get("required"), bool) else None
                    ),
                    description=text_or_none(param.get("description")),
                    value=param.get("value"),
                    has_value="value" in param,
                    path=(*path, i),
                )
            )
        return params

    def read_base_url(self, upstream: ConsumedApi, entry: dict[str, Any], path: DocPath) -> None:
        raw = str(entry.get("baseUri") or "")
        env = f"{names.env_name(upstream.namespace)}_BASE_URL"
        owner = self._base_url_owners.setdefault(env, upstream.namespace)
        if owner != upstream.namespace:
            self.report.error(
                (*path, "namespace"),
                f"consumes namespaces {owner!r} and {upstream.namespace!r} would share the "
                f"environment variable {env}; rename one of them",
            )
        usable = raw
        if "?" in raw or "#" in raw:
            self.report.error(
                (*path, "baseUri"),
                f"baseUri {raw!r} has a query string or fragment; declare query parameters as "
                "consumes-level `inputParameters` (in: query) instead",
            )
        # An absolute http(s) URL (its host may be a bound placeholder: `https://{DOMAIN}/v2`),
        # or a template that is the whole URL (`{{API_BASE}}`, a bound variable).
        if raw and not re.match(r"^(https?://[^/\s]+|\{\{[^{}]+\}\})", raw):
            self.report.warning(
                (*path, "baseUri"),
                f"baseUri {raw!r} is not an absolute http(s) URL; set {env} at run time",
            )
            usable = ""
        if "{" in usable:
            # Placeholders in the base URI must come from bound variables.
            converted = re.sub(r"(?<!\{)\{([^{}]+)\}(?!\})", r"{{\1}}", usable)
            unresolved = [
                m.group(1)
                for m in TEMPLATE_VAR.finditer(converted)
                if self.secret(m.group(1), (*path, "baseUri"), declared_only=True) is None
            ]
            if unresolved:
                self.report.warning(
                    (*path, "baseUri"),
                    f"baseUri placeholders {', '.join(unresolved)} are not bound variables; set {env} at run time",
                )
                usable = ""
        elif not raw:
            self.report.warning(
                (*path, "baseUri"),
                f"baseUri is empty; the generated adapters require the environment variable {env}",
            )
        templated = bool(usable) and "{" in usable
        # A templated base URL is built from its bound variables; the override is then optional.
        default = "" if templated else usable.rstrip("/") if usable else None
        setting = self.setting(env, "base_url", default, f"base URL of `{upstream.namespace}`")
        template: ir.Template
        if templated:
            converted = re.sub(r"(?<!\{)\{([^{}]+)\}(?!\})", r"{{\1}}", usable.rstrip("/"))
            built = self.settings_template(converted, (*path, "baseUri"))
            template = built or ir.Template((ir.SettingRef(setting.attr),))
        else:
            template = ir.Template((ir.SettingRef(setting.attr),))
        self._base_urls[upstream.namespace] = (template, setting)

    _base_urls: dict[str, tuple[ir.Template, ir.Setting]]

    def read_auth(self, raw: Any, path: DocPath) -> ir.Auth | None:
        if not isinstance(raw, dict):
            return None
        kind = raw.get("type")
        if kind == "bearer":
            token = self.settings_template(str(raw.get("token", "")), (*path, "token"))
            return ir.Auth("bearer", value=token) if token else None
        if kind == "apikey":
            placement = raw.get("placement")
            if placement not in ("header", "query"):
                self.report.error(
                    (*path, "placement"),
                    "apikey authentication needs `placement: header` or `query`",
                )
                return None
            key = str(raw.get("key", ""))
            if not key:
                self.report.error(
                    (*path, "key"), "apikey authentication needs a `key` (header or query name)"
                )
                return None
            value = self.settings_template(str(raw.get("value", "")), (*path, "value"))
            return ir.Auth("apikey", placement=placement, key=key, value=value) if value else None
        if kind in ("basic", "digest"):
            user = self.settings_template(str(raw.get("username", "")), (*path, "username"))
            password = self.settings_template(str(raw.get("password", "")), (*path, "password"))
            if user is None or password is None:
                return None
            return ir.Auth(kind, username=user, password=password)
        self.report.error(
            (*path, "type"),
            f"unsupported: `{kind}` authentication on a consumed API at {format_doc_path(path)}",
        )
        return None

    def finish_upstreams(self) -> None:
        main_report = self.report
        for upstream in self.upstreams.values():
            template, setting = self._base_urls[upstream.namespace]
            raw_auth, auth_path = self._pending_auth[upstream.namespace]
            self.report = upstream.reporter or main_report  # the file the entry was read from
            try:
                auth = self.read_auth(raw_auth, auth_path) if raw_auth is not None else None
                for op in upstream.ops:
                    op.ir_op = self.build_upstream_op(op)
            finally:
                self.report = main_report
            operations = tuple(op.ir_op for op in upstream.ops if op.ir_op is not None)
            upstream.ir_upstream = ir.Upstream(
                upstream.namespace, upstream.attr, template, setting, auth, operations
            )

    def build_upstream_op(self, op: ConsumedOp) -> ir.UpstreamOp:
        argnames = names.Namer({"self"})
        params: list[ir.UpstreamParam] = []
        by_name: dict[str, str] = {}
        path_parts: list[ir.Text | ir.PathVar] = []
        placeholders: list[str] = []
        position = 0
        for match in PLACEHOLDER.finditer(op.path_text):
            name = (match.group(1) or match.group(2) or "").strip()
            if match.start() > position:
                path_parts.append(ir.Text(op.path_text[position : match.start()]))
            placeholders.append(name)
            declared = next((p for p in op.params if p.name == name and p.location == "path"), None)
            declared = declared or next(
                (
                    p
                    for p in op.params
                    if names.normalise(p.name) == names.normalise(name) and p.location == "path"
                ),
                None,
            )
            key = f"path:{name}"
            if key not in by_name:
                ident = argnames.claim(name, fallback="path")
                by_name[key] = ident
                params.append(
                    ir.UpstreamParam(
                        name,
                        ident,
                        "path",
                        declared.schema if declared else {"type": "string"},
                        True,
                        declared.description if declared else None,
                    )
                )
            path_parts.append(ir.PathVar(by_name[key]))
            position = match.end()
        if position < len(op.path_text):
            path_parts.append(ir.Text(op.path_text[position:]))
        if op.path_text and not op.path_text.startswith("/"):
            # `api/users` is relative to the baseUri: joined with one slash.
            first = path_parts[0]
            if isinstance(first, ir.Text):
                path_parts[0] = ir.Text("/" + first.text)
            else:
                path_parts.insert(0, ir.Text("/"))
        placeholder_keys = {names.normalise(p) for p in placeholders}
        for param in op.params:
            if param.location == "path":
                if names.normalise(param.name) not in placeholder_keys:
                    self.report.warning(
                        param.path,
                        f"path parameter {param.name!r} has no placeholder in {op.path_text!r}; it is ignored",
                    )
                continue
            if param.location == "environment":
                continue
            ident = argnames.claim(param.name, fallback="param")
            by_name[f"{param.location}:{param.name}"] = ident
            required = bool(param.required)
            params.append(
                ir.UpstreamParam(param.name, ident, param.location, param.schema, required, param.description)  # type: ignore[arg-type]
            )
        body = self.request_body(op, params, argnames)
        return ir.UpstreamOp(
            name=op.name,
            ident=self.client_names.claim(op.name, fallback="operation"),
            method=op.method,
            path=tuple(path_parts),
            params=tuple(params),
            body=body,
            raw_format=op.raw_format,
            description=op.description,
        )

    def request_body(
        self, op: ConsumedOp, params: list[ir.UpstreamParam], argnames: names.Namer
    ) -> ir.RequestBody:
        body_params = [p for p in params if p.location == "body"]
        if op.body is not None:
            kind = "json"
            media = "application/json"
            if isinstance(op.body, dict) and "type" in op.body:
                declared = str(op.body.get("type"))
                if declared in ("formUrlEncoded",):
                    kind, media = "form", "application/x-www-form-urlencoded"
                elif declared in ("text", "xml", "sparql"):
                    kind = "text"
                    media = {
                        "text": "text/plain",
                        "xml": "application/xml",
                        "sparql": "application/sparql-query",
                    }[declared]
                elif declared != "json":
                    self.report.error(
                        (*op.doc_path, "body", "type"),
                        f"unsupported: `{declared}` request bodies at {format_doc_path(op.doc_path)}.body",
                    )
            elif isinstance(op.body, str):
                kind = "text"
            ident = argnames.claim("request_body", fallback="body")
            params.append(
                ir.UpstreamParam("(body)", ident, "body", {"type": "object"}, False, None)
            )
            return ir.RequestBody(kind, ident=ident, media_type=media)  # type: ignore[arg-type]
        if not body_params:
            return ir.RequestBody("none")
        if len(body_params) == 1 and (
            body_params[0].wire_name == "body"
            or body_params[0].schema.get("type") in ("object", "array")
        ):
            return ir.RequestBody("json", ident=body_params[0].ident)
        return ir.RequestBody("fields", fields=tuple((p.wire_name, p.ident) for p in body_params))

    def consumed_body_template(self, op: ConsumedOp) -> Any:
        body = op.body
        if isinstance(body, dict) and "type" in body:
            return body.get("data")
        return body

    # -- exposes -----------------------------------------------------------------------------

    # -- aggregates ------------------------------------------------------------------------

    def read_aggregates(self) -> None:
        """Aggregate functions by ``<namespace>.<name>``, for ``ref``."""
        self.functions: dict[str, dict[str, Any]] = {}
        for aggregate in self.data["capability"].get("aggregates") or []:
            if not isinstance(aggregate, dict):
                continue
            namespace = str(aggregate.get("namespace", ""))
            # In a function's `with`, `<aggregate namespace>.x` is the caller's input x.
            self.exposes_namespaces.add(namespace)
            for function in aggregate.get("functions") or []:
                if isinstance(function, dict) and function.get("name"):
                    self.functions.setdefault(f"{namespace}.{function['name']}", function)

    def merge_ref(self, spec: dict[str, Any], path: DocPath) -> dict[str, Any]:
        """An operation or tool with ``ref``: the aggregate function's fields, overridden by the
        ones written on the operation or tool.  Without ``hints``, ``semantics`` give them:
        ``safe`` -> readOnly and not destructive, ``idempotent`` -> idempotent."""
        ref = spec.get("ref")
        if ref is None:
            return spec
        function = self.functions.get(str(ref))
        if function is None:
            known = ", ".join(sorted(self.functions)) or "none"
            self.report.error(
                (*path, "ref"), f"`ref: {ref}` names no aggregate function (known: {known})"
            )
            raise BuildAbort
        merged = {k: v for k, v in function.items() if k != "semantics"}
        merged.update({k: v for k, v in spec.items() if k != "ref"})
        semantics = function.get("semantics")
        if "hints" not in spec and isinstance(semantics, dict):
            hints: dict[str, bool] = {}
            if semantics.get("safe") is True:
                hints.update(readOnly=True, destructive=False)
            if isinstance(semantics.get("idempotent"), bool):
                hints["idempotent"] = semantics["idempotent"]
            if hints:
                merged["hints"] = hints
        return merged

    def unsupported(self, path: DocPath, feature: str, *, warning: bool = False) -> None:
        """Report a feature capgen does not generate: once per feature and file, with a count."""
        self._unsupported.setdefault(feature, []).append((self.report, path, warning))

    def flush_unsupported(self) -> None:
        for feature, places in self._unsupported.items():
            reporter, path, warning = places[0]
            more = f" (and {len(places) - 1} more places)" if len(places) > 1 else ""
            message = f"unsupported: {feature} at {format_doc_path(path)}{more}"
            if warning:
                reporter.warning(path, message + "; it is not generated")
            else:
                reporter.error(path, message)

    def build(self) -> ir.Capability | None:
        self._unsupported: dict[str, list[tuple[Reporter, DocPath, bool]]] = {}
        self._base_url_owners: dict[str, str] = {}
        self.imported: list[str] = []
        self._pending_auth = {}
        self._base_urls = {}
        self.read_binds()
        for exposes in self.data["capability"].get("exposes") or []:
            self.exposes_namespaces.add(str(exposes.get("namespace", "")))
        self.read_consumes()
        self.finish_upstreams()
        rest_adapters: list[ir.RestAdapter] = []
        mcp_adapters: list[ir.McpAdapter] = []
        rest_count = sum(
            1 for e in self.data["capability"].get("exposes") or [] if e.get("type") == "rest"
        )
        mcp_count = sum(
            1 for e in self.data["capability"].get("exposes") or [] if e.get("type") == "mcp"
        )
        modules = names.Namer({"upstream", "settings", "openapi", "__init__"})
        self.read_aggregates()
        for index, exposes in enumerate(self.data["capability"].get("exposes") or []):
            path: DocPath = ("capability", "exposes", index)
            kind = exposes.get("type")
            if kind == "rest":
                module = (
                    "rest"
                    if rest_count == 1
                    else modules.claim(f"rest_{exposes.get('namespace', index)}")
                )
                adapter = self.build_rest(exposes, path, module)
                if adapter:
                    rest_adapters.append(adapter)
            elif kind == "mcp":
                module = (
                    "mcp_server"
                    if mcp_count == 1
                    else modules.claim(f"mcp_server_{exposes.get('namespace', index)}")
                )
                mcp = self.build_mcp(exposes, path, module)
                if mcp:
                    mcp_adapters.append(mcp)
            else:
                self.unsupported(path, f"`{kind}` adapter", warning=True)
        self.flush_unsupported()
        if not rest_adapters and not mcp_adapters:
            self.report.warning(
                ("capability",),
                "the capability exposes no `rest` or `mcp` adapter; only its settings and upstream "
                "client are generated",
            )
        info = self.data.get("info") or {}
        title = text_or_none(info.get("label")) or self.package
        upstreams = tuple(u.ir_upstream for u in self.upstreams.values() if u.ir_upstream)
        return ir.Capability(
            source=self.source,
            package=self.package,
            title=title,
            description=text_or_none(info.get("description")) or "",
            version="1.0.0",
            naftiko=str(self.data.get("naftiko")),
            settings=tuple(sorted(self.settings.values(), key=lambda s: s.env_name)),
            upstreams=upstreams,
            rest_adapters=tuple(rest_adapters),
            mcp_adapters=tuple(mcp_adapters),
            imports=tuple(sorted(set(self.imported))),
        )

    def build_rest(
        self, exposes: dict[str, Any], path: DocPath, module: str
    ) -> ir.RestAdapter | None:
        namespace = str(exposes["namespace"])
        views = names.Namer(
            {
                "blueprint",
                "create_app",
                "upstream_client",
                "main",
                "openapi_document",
                "docs",
                "healthz",
            }
        )
        operation_ids: set[str] = set()
        seen: dict[tuple[str, str], DocPath] = {}
        routes: list[ir.Route] = []
        adapter_params = list(exposes.get("inputParameters") or [])
        if exposes.get("authentication"):
            self.report.warning(
                (*path, "authentication"),
                "REST adapter authentication is documented in OpenAPI but not enforced by the generated app",
            )
        for r, resource in enumerate(exposes.get("resources") or []):
            rpath = (*path, "resources", r)
            exposed_path = str(resource["path"])
            tag = str(resource.get("name") or exposed_path)
            if isinstance(resource.get("forward"), dict):
                route = self.build_forward(
                    resource["forward"], (*rpath, "forward"), exposed_path, tag, views
                )
                if route is not None:
                    routes.append(route)
            resource_params = list(resource.get("inputParameters") or [])
            for o, raw_operation in enumerate(resource.get("operations") or []):
                opath = (*rpath, "operations", o)
                try:
                    operation = self.merge_ref(raw_operation, opath)
                except BuildAbort:
                    continue
                method = str(operation["method"]).upper()
                key = (self.route_key(exposed_path), method)
                if key in seen:
                    self.report.warning(
                        opath,
                        f"{method} {exposed_path} is declared twice; the first declaration "
                        f"({format_doc_path(seen[key])}) is kept",
                    )
                    continue
                seen[key] = opath
                try:
                    route = self.build_route(
                        namespace,
                        exposed_path,
                        method,
                        operation,
                        opath,
                        tag,
                        [*adapter_params, *resource_params],
                        views,
                        operation_ids,
                    )
                except BuildAbort:
                    continue
                routes.append(route)
        if (
            exposes.get("resources")
            and not routes
            and not self.report.sink.errors_in(self.report.file)
        ):
            return None
        return ir.RestAdapter(
            namespace=namespace,
            module=module,
            port=port_or(exposes.get("port"), 8080),
            address=str(exposes.get("address") or "localhost"),
            description=text_or_none(exposes.get("description")),
            routes=tuple(routes),
            auth=self.server_auth(exposes.get("authentication")),
        )

    def build_forward(
        self, spec: dict[str, Any], path: DocPath, exposed_path: str, tag: str, views: names.Namer
    ) -> ir.Route | None:
        """``forward: {targetNamespace, trustedHeaders}`` -> one catch-all route."""
        target = str(spec.get("targetNamespace", ""))
        upstream = self.upstreams.get(target)
        if upstream is None or upstream.ir_upstream is None:
            known = ", ".join(sorted(self.upstreams)) or "none"
            self.report.error(
                (*path, "targetNamespace"),
                f"forward target {target!r} names no consumed namespace (known: {known})",
            )
            return None
        placeholders = list(PLACEHOLDER.finditer(exposed_path))
        if placeholders and (
            len(placeholders) > 1 or placeholders[0].end() != len(exposed_path.rstrip("/"))
        ):
            self.unsupported(path, "`forward` on a path with placeholders before its end")
            return None
        # `/forward/{{path}}`: the trailing placeholder is the relayed remainder.
        prefix = exposed_path[: placeholders[0].start()] if placeholders else exposed_path
        base = "/" + prefix.strip("/")
        trusted = tuple(str(h) for h in spec.get("trustedHeaders") or [])
        fixed: dict[str, list[tuple[str, ir.Template]]] = {"header": [], "query": []}
        for param in upstream.shared_params:
            if (
                param.location in fixed
                and param.has_value
                and isinstance(param.value, (str, int, float))
            ):
                template = self.settings_template(str(param.value), (*param.path, "value"))
                if template is not None:
                    fixed[param.location].append((param.name, template))
        rest_input = ir.Input(
            "path",
            "subpath",
            "path",
            {"type": "string"},
            True,
            f"the rest of the path, relayed to `{target}`",
        )
        entry = ir.EntryPoint((rest_input,), upstream.ir_upstream, None, (), ir.Raw(), None)
        name = f"forward-{tag}"
        return ir.Route(
            ident=views.claim(name, fallback="forward"),
            rule=f"{base.rstrip('/')}/<path:subpath>",
            path=f"{base.rstrip('/')}/{{path}}",
            method="GET",
            operation_id=name,
            tag=tag,
            summary=None,
            description=f"Relays any request below {base} to `{target}` as it is.",
            entry=entry,
            forward=ir.Forward(
                upstream.ir_upstream, trusted, tuple(fixed["header"]), tuple(fixed["query"])
            ),
        )

    def server_auth(self, raw: Any) -> ir.Auth | None:
        if not isinstance(raw, dict):
            return None
        kind = raw.get("type")
        if kind in ("bearer", "basic", "digest"):
            return ir.Auth(kind)
        if kind == "apikey" and raw.get("placement") in ("header", "query"):
            return ir.Auth("apikey", placement=raw["placement"], key=str(raw.get("key", "")))
        return None

    @staticmethod
    def openapi_path(path: str) -> str:
        """``/a/{{b}}/{c}`` -> ``/a/{b}/{c}``."""
        text = PLACEHOLDER.sub(lambda m: "{" + (m.group(1) or m.group(2) or "").strip() + "}", path)
        return text if text.startswith("/") else "/" + text

    @staticmethod
    def route_key(path: str) -> str:
        return PLACEHOLDER.sub("{}", path)

    def flask_rule(self, exposed_path: str, path_idents: dict[str, str], opath: DocPath) -> str:
        rule = ""
        position = 0
        for match in PLACEHOLDER.finditer(exposed_path):
            literal = exposed_path[position : match.start()]
            rule += literal
            name = (match.group(1) or match.group(2) or "").strip()
            rule += f"<{path_idents[name]}>"
            position = match.end()
        rule += exposed_path[position:]
        if re.search(r"[<>]", PLACEHOLDER.sub("", exposed_path)):
            self.report.error(
                (*opath[:-2], "path"), f"the path {exposed_path!r} contains '<' or '>'"
            )
            raise BuildAbort
        if not rule.startswith("/"):
            rule = "/" + rule
        return rule

    def build_route(
        self,
        namespace: str,
        exposed_path: str,
        method: str,
        operation: dict[str, Any],
        opath: DocPath,
        tag: str,
        inherited_params: list[dict[str, Any]],
        views: names.Namer,
        operation_ids: set[str],
    ) -> ir.Route:
        path_vars = [
            (m.group(1) or m.group(2) or "").strip() for m in PLACEHOLDER.finditer(exposed_path)
        ]
        repeated = sorted({v for v in path_vars if path_vars.count(v) > 1 or not v})
        if repeated:
            self.report.error(
                (*opath[:-2], "path"),
                f"the path {exposed_path!r} has an empty or repeated placeholder "
                f"({', '.join(repr(v) for v in repeated)}); every placeholder needs its own name",
            )
            raise BuildAbort
        idents = names.Namer()
        path_idents = {
            name: idents.claim(name, fallback="path") for name in dict.fromkeys(path_vars)
        }
        entry = self.build_entry(
            kind="rest",
            adapter_namespace=namespace,
            spec=operation,
            spec_path=opath,
            declared=[*inherited_params, *(operation.get("inputParameters") or [])],
            path_vars=path_idents,
        )
        rule = self.flask_rule(exposed_path, path_idents, opath)
        name = str(operation.get("name") or f"{method.lower()}-{tag}")
        operation_id = name
        counter = 2
        while operation_id in operation_ids:
            operation_id = f"{name}-{counter}"
            counter += 1
        if operation_id != name:
            self.report.warning(
                (*opath, "name"),
                f"operation name {name!r} is used twice in this adapter; its operationId is {operation_id!r}",
            )
        operation_ids.add(operation_id)
        return ir.Route(
            ident=views.claim(operation_id, fallback="route"),
            rule=rule,
            path=self.openapi_path(exposed_path),
            method=method,
            operation_id=operation_id,
            tag=tag,
            summary=text_or_none(operation.get("label")),
            description=text_or_none(operation.get("description")),
            entry=entry,
        )

    def build_mcp(
        self, exposes: dict[str, Any], path: DocPath, module: str
    ) -> ir.McpAdapter | None:
        namespace = str(exposes["namespace"])
        handlers = names.Namer({"build_server", "main", "TOOLS"})
        tools: list[ir.Tool] = []
        seen: dict[str, DocPath] = {}
        for key in ("resources", "prompts"):
            if exposes.get(key):
                self.unsupported((*path, key), f"MCP {key}")
        for t, raw_tool in enumerate(exposes.get("tools") or []):
            tpath = (*path, "tools", t)
            try:
                tool = self.merge_ref(raw_tool, tpath)
            except BuildAbort:
                continue
            name = str(tool["name"])
            if not TOOL_NAME.match(name):
                reason = (
                    "is longer than 64 characters"
                    if len(name) > 64
                    else "has characters outside [a-zA-Z0-9_-]"
                )
                self.report.error(
                    (*tpath, "name"),
                    f"MCP tool name {name!r} {reason}; tool names must match ^[a-zA-Z0-9_-]{{1,64}}$",
                )
                continue
            if name in seen:
                self.report.error(
                    (*tpath, "name"),
                    f"duplicate MCP tool name {name!r} (first at {format_doc_path(seen[name])})",
                )
                continue
            seen[name] = tpath
            try:
                entry = self.build_entry(
                    kind="mcp",
                    adapter_namespace=namespace,
                    spec=tool,
                    spec_path=tpath,
                    declared=list(tool.get("inputParameters") or []),
                    path_vars={},
                )
            except BuildAbort:
                continue
            tools.append(
                ir.Tool(
                    name=name,
                    ident=handlers.claim(name, fallback="tool"),
                    title=text_or_none(tool.get("label")),
                    description=text_or_none(tool.get("description")) or name,
                    annotations=self.annotations(tool.get("hints")),
                    input_schema=self.input_schema(entry.inputs),
                    entry=entry,
                )
            )
        transport = str(exposes.get("transport") or "http")
        return ir.McpAdapter(
            namespace=namespace,
            module=module,
            port=port_or(exposes.get("port"), 9090),
            address=str(exposes.get("address") or "localhost"),
            transport="stdio" if transport == "stdio" else "http",
            description=text_or_none(exposes.get("description")),
            tools=tuple(tools),
        )

    @staticmethod
    def annotations(hints: Any) -> dict[str, bool] | None:
        if not isinstance(hints, dict):
            return None
        mapping = {
            "readOnly": "readOnlyHint",
            "destructive": "destructiveHint",
            "idempotent": "idempotentHint",
            "openWorld": "openWorldHint",
        }
        result = {
            mapping[k]: bool(v) for k, v in hints.items() if k in mapping and isinstance(v, bool)
        }
        return result or None

    @staticmethod
    def input_schema(inputs: Iterable[ir.Input]) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for item in inputs:
            prop = dict(item.schema)
            if item.description is not None:
                prop["description"] = item.description
            properties[item.name] = prop
            if item.required:
                required.append(item.name)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        return schema

    # -- entry points ------------------------------------------------------------------------

    def find_op(self, call: str, path: DocPath) -> tuple[ConsumedApi, ConsumedOp]:
        if "." not in call:
            self.report.error(path, f"`call: {call}` must be `<consumes namespace>.<operation>`")
            raise BuildAbort
        namespace, op_name = call.rsplit(".", 1)
        upstream = self.upstreams.get(namespace)
        if upstream is None:
            known = ", ".join(sorted(self.upstreams)) or "none"
            self.report.error(
                path, f"`call: {call}` names no consumed namespace {namespace!r} (known: {known})"
            )
            raise BuildAbort
        op = next((o for o in upstream.ops if o.name == op_name), None)
        if op is None or op.ir_op is None:
            known = ", ".join(o.name for o in upstream.ops) or "none"
            self.report.error(
                path,
                f"`call: {call}` names no operation of namespace {namespace!r}; known operations: {known}",
            )
            raise BuildAbort
        return upstream, op

    def build_entry(
        self,
        *,
        kind: str,
        adapter_namespace: str,
        spec: dict[str, Any],
        spec_path: DocPath,
        declared: list[dict[str, Any]],
        path_vars: dict[str, str],
    ) -> ir.EntryPoint:
        if "steps" in spec:
            self.unsupported((*spec_path, "steps"), "orchestrated `steps`")
            raise BuildAbort
        resolver = InputResolver(self, kind, adapter_namespace, spec_path)
        for name, ident in path_vars.items():
            resolver.add(ir.Input(name, ident, "path", {"type": "string"}, True, None))
        for i, param in enumerate(declared):
            resolver.declare(
                param,
                (
                    (*spec_path, "inputParameters", i)
                    if i < len(spec.get("inputParameters") or [])
                    else spec_path
                ),
            )
        outputs = spec.get("outputParameters") or []
        call = spec.get("call")
        if call is None:
            if any(has_static_value(o) for o in outputs):
                shape, schema = output_shape(
                    outputs, (*spec_path, "outputParameters"), "json", resolver
                )
                return ir.EntryPoint(resolver.frozen(), None, None, (), shape, schema)
            self.report.error(
                spec_path, "the operation has no `call` (and no static output values)"
            )
            raise BuildAbort
        upstream, op = self.find_op(str(call), (*spec_path, "call"))
        assert op.ir_op is not None and upstream.ir_upstream is not None
        bindings = resolver.bind(op, spec.get("with") or {}, (*spec_path, "with"))
        shape, schema = output_shape(
            outputs, (*spec_path, "outputParameters"), op.raw_format, resolver
        )
        return ir.EntryPoint(
            resolver.frozen(), upstream.ir_upstream, op.ir_op, bindings, shape, schema
        )


def build_capability(data: dict[str, Any], report: Reporter, source: Path) -> ir.Capability | None:
    builder = Builder(data, report, names.package_name(source.stem), source.name, source.parent)
    before = report.sink.errors_in(report.file)
    capability = builder.build()
    if report.sink.errors_in(report.file) and not before:
        return None
    return capability
