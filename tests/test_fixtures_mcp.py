"""Functional tests of the generated MCP servers of our fixtures (tests/fixtures/*.yaml).

Each test builds the server generated in this session with its consumes namespace pointed at a
recording upstream (pytest-httpserver), drives it in-process with the SDK client (tools/list,
tools/call) and checks what the upstream received; the checks follow the matching shared bug
cases (B01, B02, B03/B04, B05, B07, B10/B16, B12, B13, B21, B22).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jsonschema
import pytest

from tests.helpers_upstream import (
    annotations_of,
    fixture_yaml,
    mcp_call,
    mcp_instructions,
    mcp_list,
    result_json,
    schema_of,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MARKER = Path("/tmp/capgen_pwned")


@pytest.fixture()
def server_for(load, upstream):  # type: ignore[no-untyped-def]
    """``server_for(package, base_vars, suffix, **extra_env)`` -> SDK server on the recorder."""

    def make(package: str, base_vars: tuple[str, ...], suffix: str = "", **extra: str) -> Any:
        module = load(f"{package}.mcp_server")
        environ = {var: upstream.url + suffix for var in base_vars}
        environ.update(extra)
        return module.build_server(environ)

    return make


def ok(result: Any) -> Any:
    assert result.is_error is False, result.content[0].text
    assert "Traceback" not in result.content[0].text
    return result_json(result)


def error_text(result: Any) -> str:
    assert result.is_error is True
    text = result.content[0].text
    assert "Traceback" not in text
    return text


# ---------------------------------------------------------------------------------------------
# keywords.yaml (B01)

KEYWORDS = ["class", "from", "to", "in", "type", "self", "request", "json", "app", "blueprint"]


def test_keywords_schema_names_exact(server_for) -> None:
    tools = mcp_list(server_for("keywords", ("FERRIES_BASE_URL",)))
    schema = schema_of(tools["quote-ferry-fares"])
    assert schema["type"] == "object"
    assert list(schema["properties"]) == KEYWORDS
    assert schema["required"] == ["class"]
    assert all(prop["type"] == "string" for prop in schema["properties"].values())


def test_keywords_call_forwards_wire_names(server_for, upstream) -> None:
    server = server_for("keywords", ("FERRIES_BASE_URL",))
    arguments = {
        "class": "c-101",
        "from": "2026-01-01",
        "in": "UTC",
        "request": "r-2",
        "json": "full",
    }
    assert ok(mcp_call(server, "quote-ferry-fares", arguments)) == {"ok": True}
    seen = upstream.last
    assert seen.raw_path == "/fares/c-101/quotes"
    assert seen.query == {
        "from": ["2026-01-01"],
        "in": ["UTC"],
        "request": ["r-2"],
        "json": ["full"],
    }


def test_keywords_all_values_arrive(server_for, upstream) -> None:
    server = server_for("keywords", ("FERRIES_BASE_URL",))
    arguments = {name: f"v-{name}" for name in KEYWORDS}
    ok(mcp_call(server, "quote-ferry-fares", arguments))
    assert upstream.last.raw_path == "/fares/v-class/quotes"
    assert upstream.last.query == {name: [f"v-{name}"] for name in KEYWORDS[1:]}


def test_keywords_missing_class_rejected(server_for, upstream) -> None:
    server = server_for("keywords", ("FERRIES_BASE_URL",))
    assert "class" in error_text(mcp_call(server, "quote-ferry-fares", {"from": "x"}))
    assert upstream.seen == []


# ---------------------------------------------------------------------------------------------
# odd_names.yaml (B02, B07)

ODD = ["sort-by", "2fa-code", "per_page", "x-api-key", "page[size]", "filter.status"]


def test_odd_names_schema(server_for) -> None:
    tool = mcp_list(server_for("odd_names", ("RECIPES_BASE_URL",)))["search-recipes"]
    schema = schema_of(tool)
    assert set(schema["properties"]) == set(ODD)
    assert schema["required"] == ["x-api-key"]
    assert schema["properties"]["per_page"]["type"] == "integer"
    assert schema["properties"]["page[size]"]["type"] == "integer"
    assert (
        schema["properties"]["per_page"]["description"]
        == "Nombre de recettes par page — 每页数量 (défaut 20)."
    )


def test_odd_names_call(server_for, upstream) -> None:
    server = server_for("odd_names", ("RECIPES_BASE_URL",))
    arguments = {
        "sort-by": "created",
        "2fa-code": "000111",
        "x-api-key": "k-2",
        "page[size]": 10,
        "filter.status": "суп",
    }
    ok(mcp_call(server, "search-recipes", arguments))
    seen = upstream.last
    assert seen.query == {
        "sort-by": ["created"],
        "2fa-code": ["000111"],
        "page[size]": ["10"],
        "filter.status": ["суп"],
    }
    assert seen.headers["x-api-key"] == "k-2"


def test_odd_names_missing_header_argument(server_for, upstream) -> None:
    server = server_for("odd_names", ("RECIPES_BASE_URL",))
    assert "x-api-key" in error_text(mcp_call(server, "search-recipes", {"sort-by": "a"}))
    assert upstream.seen == []


def test_odd_names_wrong_type_rejected(server_for, upstream) -> None:
    server = server_for("odd_names", ("RECIPES_BASE_URL",))
    text = error_text(mcp_call(server, "search-recipes", {"x-api-key": "k", "per_page": "many"}))
    assert "per_page" in text
    assert upstream.seen == []


def test_odd_names_non_ascii_answer(server_for, upstream) -> None:
    answer = {"items": [{"name": "Crème brûlée", "note": "très bon — 甘い 🍮"}]}
    upstream.answer(answer)
    server = server_for("odd_names", ("RECIPES_BASE_URL",))
    result = mcp_call(server, "search-recipes", {"x-api-key": "k"})
    assert ok(result) == answer
    assert "Crème brûlée" in result.content[0].text
    assert result.structured_content == answer


# ---------------------------------------------------------------------------------------------
# kebab_paths.yaml (B03, B04)


def test_kebab_inferred_argument_required(server_for) -> None:
    tools = mcp_list(server_for("kebab_paths", ("GUILD_BASE_URL",)))
    member = schema_of(tools["get-org-member"])
    assert set(member["required"]) == {"org_id", "member_id"}
    assert member["properties"]["org_id"]["type"] == "string"
    assert member["properties"]["member_id"]["type"] == "string"
    invite = schema_of(tools["get-org-invite"])
    assert set(invite["required"]) == {"org_id", "invite_code"}


def test_kebab_missing_inferred_argument_rejected(server_for, upstream) -> None:
    server = server_for("kebab_paths", ("GUILD_BASE_URL",))
    assert "org_id" in error_text(mcp_call(server, "get-org-member", {"member_id": "m-1"}))
    assert upstream.seen == []


def test_kebab_calls_fill_placeholders(server_for, upstream) -> None:
    server = server_for("kebab_paths", ("GUILD_BASE_URL",))
    ok(mcp_call(server, "get-org-member", {"org_id": "o-9", "member_id": "m-8"}))
    ok(mcp_call(server, "get-org-invite", {"org_id": "o-9", "invite_code": "{org_id}"}))
    assert [s.raw_path for s in upstream.seen] == [
        "/orgs/o-9/members/m-8",
        "/orgs/o-9/invites/%7Borg_id%7D",
    ]


def test_kebab_path_values_encoded_as_one_segment(server_for, upstream) -> None:
    server = server_for("kebab_paths", ("GUILD_BASE_URL",))
    ok(mcp_call(server, "get-org-member", {"org_id": "a/b?c#d", "member_id": "é %"}))
    assert upstream.last.raw_path == "/orgs/a%2Fb%3Fc%23d/members/%C3%A9%20%25"
    assert upstream.last.raw_query == ""
    result = mcp_call(server, "get-org-member", {"org_id": "..", "member_id": "m"})
    assert result.is_error
    assert len(upstream.seen) == 1


def test_kebab_empty_path_value_rejected(server_for, upstream) -> None:
    server = server_for("kebab_paths", ("GUILD_BASE_URL",))
    result = mcp_call(server, "get-org-member", {"org_id": "", "member_id": "m"})
    assert result.is_error
    assert upstream.seen == []


# ---------------------------------------------------------------------------------------------
# hostile_text.yaml (B05)


def test_hostile_tool_text_verbatim(server_for) -> None:
    capability = fixture_yaml("hostile_text")
    mcp = capability["capability"]["exposes"][1]
    server = server_for("hostile_text", ("ORCHARD_BASE_URL",))
    tool = mcp_list(server)["list-readings"]
    assert tool.description == mcp["tools"][0]["description"]
    assert "\r\n" in tool.description and '"""' in tool.description
    assert tool.title == mcp["tools"][0]["label"]
    consumed = capability["capability"]["consumes"][0]["resources"][0]["operations"][0]
    wanted = {p["name"]: p["description"] for p in consumed["inputParameters"]}
    properties = schema_of(tool)["properties"]
    assert set(properties) == {"probe", "since"}
    assert properties["probe"]["description"] == wanted["probe"]
    assert properties["probe"]["description"].endswith("\\") and not properties["probe"][
        "description"
    ].endswith("\\\\")
    assert properties["since"]["description"] == wanted["since"]
    assert mcp_instructions(server) == mcp["description"]
    assert not MARKER.exists()


def test_hostile_call(server_for, upstream) -> None:
    capability = fixture_yaml("hostile_text")
    server = server_for("hostile_text", ("ORCHARD_BASE_URL",))
    ok(mcp_call(server, "list-readings", {"probe": "a"}))
    assert upstream.last.query == {"probe": ["a"]}
    assert "note" not in capability["capability"]["exposes"][1]["tools"][0]["with"]
    assert not MARKER.exists()


# ---------------------------------------------------------------------------------------------
# duplicates_ok.yaml


def test_duplicates_both_tools_listed_and_distinct(server_for, upstream) -> None:
    server = server_for("duplicates_ok", ("STOCK_BASE_URL",))
    tools = mcp_list(server)
    assert set(tools) == {"get-item", "get_item"}
    assert schema_of(tools["get-item"])["required"] == ["item_id"]
    assert schema_of(tools["get_item"])["required"] == ["sku"]
    ok(mcp_call(server, "get-item", {"item_id": "i-1"}))
    ok(mcp_call(server, "get_item", {"sku": "s-1"}))
    assert [s.raw_path for s in upstream.seen] == ["/items/i-1", "/items/sku/s-1"]


def test_unknown_tool_is_protocol_error(server_for, upstream) -> None:
    from mcp.shared.exceptions import MCPError

    server = server_for("duplicates_ok", ("STOCK_BASE_URL",))
    with pytest.raises(MCPError):
        mcp_call(server, "get-items", {})
    assert upstream.seen == []


# ---------------------------------------------------------------------------------------------
# bodies.yaml (B10, B16, B07)


@pytest.fixture()
def kanban(server_for):  # type: ignore[no-untyped-def]
    return server_for("bodies", ("KANBAN_BASE_URL",))


def test_bodies_schemas(kanban) -> None:
    tools = mcp_list(kanban)
    assert schema_of(tools["create-card"])["properties"]["body"]["type"] == "object"
    bulk = schema_of(tools["bulk-create-cards"])["properties"]["body"]
    assert bulk["type"] == "array" and bulk["items"] == {"type": "object"}
    replace = schema_of(tools["replace-card"])
    assert replace["properties"]["id"]["type"] == "string"
    assert replace["properties"]["version"]["type"] == "integer"
    assert replace["properties"]["body"]["type"] == "object"
    assert set(replace["required"]) == {"id", "version", "body"}
    assert schema_of(tools["get-token"])["properties"] == {}


def test_bodies_object_body(kanban, upstream) -> None:
    ok(mcp_call(kanban, "create-card", {"body": {"title": "Ramen 拉麺", "n": 1.5, "x": None}}))
    seen = upstream.last
    assert (seen.method, seen.raw_path) == ("POST", "/cards")
    assert seen.headers["content-type"].startswith("application/json")
    assert json.loads(seen.body.decode("utf-8")) == {"title": "Ramen 拉麺", "n": 1.5, "x": None}


def test_bodies_string_for_object_never_double_encoded(kanban, upstream) -> None:
    result = mcp_call(kanban, "create-card", {"body": '{"title":"t"}'})
    if result.is_error:
        assert upstream.seen == []
    else:
        assert upstream.last.json() == {"title": "t"}


def test_bodies_array_body(kanban, upstream) -> None:
    ok(mcp_call(kanban, "bulk-create-cards", {"body": [{"title": "a"}]}))
    assert upstream.last.json() == [{"title": "a"}]


def test_bodies_no_body(kanban, upstream) -> None:
    ok(mcp_call(kanban, "archive-card", {"card_id": "c-1"}))
    seen = upstream.last
    assert (seen.method, seen.raw_path, seen.body) == ("POST", "/cards/c-1/archive", b"")


def test_bodies_collision_kept_apart(kanban, upstream) -> None:
    document = {"id": "c-OTHER", "version": 100, "name": "Cog"}
    ok(mcp_call(kanban, "replace-card", {"id": "c-2", "version": 4, "body": document}))
    seen = upstream.last
    assert (seen.method, seen.raw_path) == ("PUT", "/cards/c-2")
    assert seen.query == {"version": ["4"]}
    assert seen.json() == document


def test_bodies_collision_missing_version(kanban, upstream) -> None:
    text = error_text(mcp_call(kanban, "replace-card", {"id": "c-2", "body": {}}))
    assert "version" in text
    assert upstream.seen == []


def test_bodies_named_fields(kanban, upstream) -> None:
    ok(mcp_call(kanban, "patch-card", {"id": "c-1", "title": "T", "done": False}))
    ok(mcp_call(kanban, "patch-card", {"id": "c-1", "done": True}))
    first, second = upstream.seen
    assert (first.method, first.raw_path) == ("PATCH", "/cards/c-1")
    assert first.json() == {"title": "T", "done": False}
    assert second.json() == {"done": True}


def test_bodies_json_template(kanban, upstream) -> None:
    ok(mcp_call(kanban, "add-comment", {"id": "c-3", "text": "hé", "author": "bo"}))
    assert upstream.last.raw_path == "/cards/c-3/comments"
    assert upstream.last.json() == {"message": "hé", "by": "bo", "via": "capgen"}


def test_bodies_form(kanban, upstream) -> None:
    ok(mcp_call(kanban, "get-token", {}))
    seen = upstream.last
    assert seen.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert parse_qs(seen.body.decode("ascii")) == {
        "grant_type": ["client_credentials"],
        "scope": ["cards.read"],
    }


# ---------------------------------------------------------------------------------------------
# query_header_auth_apikey.yaml (B12)


@pytest.fixture()
def shop(server_for):  # type: ignore[no-untyped-def]
    return server_for("query_header_auth_apikey", ("BAZAAR_BASE_URL",), "/api/v2", SHOP_KEY="sk-9")


def test_shop_schema_and_annotations(shop) -> None:
    tool = mcp_list(shop)["list-products"]
    schema = schema_of(tool)
    assert set(schema["properties"]) == {
        "limit",
        "in_stock",
        "min_price",
        "tags",
        "X-Request-Id",
        "Accept-Language",
    }
    assert not schema.get("required")
    types = {name: prop["type"] for name, prop in schema["properties"].items()}
    assert types["limit"] == "integer" and types["in_stock"] == "boolean"
    assert types["min_price"] == "number" and types["tags"] == "array"
    assert "items" in schema["properties"]["tags"]
    assert annotations_of(tool) == {
        "readOnlyHint": True,
        "destructiveHint": False,
        "idempotentHint": True,
        "openWorldHint": True,
    }


def test_shop_call_headers(shop, upstream) -> None:
    arguments = {"X-Request-Id": "req-9", "tags": ["x", "y"], "in_stock": False, "min_price": 2.5}
    ok(mcp_call(shop, "list-products", arguments))
    seen = upstream.last
    assert seen.raw_path == "/api/v2/products"
    assert seen.query == {
        "tags": ["x", "y"],
        "in_stock": ["false"],
        "min_price": ["2.5"],
        "channel": ["online"],
    }
    assert seen.headers["x-request-id"] == "req-9"
    assert "accept-language" not in seen.headers
    assert seen.headers["x-api-key"] == "sk-9"
    assert seen.headers["shop-api-version"] == "2025-11-01"


def test_shop_missing_key(load, upstream) -> None:
    module = load("query_header_auth_apikey.mcp_server")
    from generated._runtime import ConfigurationError

    with pytest.raises(ConfigurationError) as info:
        module.build_server({"BAZAAR_BASE_URL": upstream.url})
    assert "SHOP_KEY" in str(info.value)


# ---------------------------------------------------------------------------------------------
# apikey_query_basic.yaml


LEDGER = {"ALMANAC_KEY": "ak-2", "LEDGER_USER": "u", "LEDGER_PASSWORD": "pw"}


@pytest.fixture()
def ledger(server_for):  # type: ignore[no-untyped-def]
    return server_for("apikey_query_basic", ("ALMANAC_BASE_URL", "LEDGER_BASE_URL"), **LEDGER)


def test_ledger_tools(ledger) -> None:
    tools = mcp_list(ledger)
    assert set(tools) == {"relabel-account", "delete-entry"}
    relabel = schema_of(tools["relabel-account"])
    assert set(relabel["properties"]) == {"account_id", "name"}
    assert set(relabel["required"]) == {"account_id", "name"}
    delete = schema_of(tools["delete-entry"])
    assert set(delete["required"]) == {"account_id", "entry_id"}
    assert annotations_of(tools["delete-entry"]) == {
        "readOnlyHint": False,
        "destructiveHint": True,
        "idempotentHint": True,
    }


def test_ledger_put_template(ledger, upstream) -> None:
    ok(mcp_call(ledger, "relabel-account", {"account_id": "a-2", "name": "Ann"}))
    seen = upstream.last
    assert (seen.method, seen.raw_path) == ("PUT", "/accounts/a-2")
    assert seen.query == {"memo": ["Ann"], "currency": ["EUR"]}
    expected = "Basic " + base64.b64encode(b"u:pw").decode()
    assert seen.headers["authorization"] == expected


def test_ledger_delete(ledger, upstream) -> None:
    ok(mcp_call(ledger, "delete-entry", {"account_id": "a-1", "entry_id": "e-1"}))
    seen = upstream.last
    assert (seen.method, seen.raw_path, seen.body) == ("DELETE", "/accounts/a-1/entries/e-1", b"")
    assert "api_key" not in seen.query


# ---------------------------------------------------------------------------------------------
# empty_baseuri.yaml (B13)


def test_empty_base_uri_requires_setting(load) -> None:
    module = load("empty_baseuri.mcp_server")
    from generated._runtime import ConfigurationError

    with pytest.raises(ConfigurationError) as info:
        module.build_server({"EXAMPLE_TOKEN": "tok"})
    assert "QUILL_BASE_URL" in str(info.value)


def test_empty_base_uri_configured(server_for, upstream) -> None:
    server = server_for("empty_baseuri", ("QUILL_BASE_URL",), "/", EXAMPLE_TOKEN="tok-2")
    ok(mcp_call(server, "list-journal-entries", {"journal_id": "j-2", "limit": 3}))
    seen = upstream.last
    assert seen.raw_path == "/journals/j-2/entries/"
    assert seen.query == {"limit": ["3"]}
    assert seen.headers["authorization"] == "Bearer tok-2"


# ---------------------------------------------------------------------------------------------
# outputs.yaml (B22)

SCORES = {
    "data": [{"player": "ada", "points": 900, "x": 1}, {"player": "bo", "points": 700, "x": 2}],
    "meta": {"total": 2, "has_more": False},
}


@pytest.fixture()
def arcade(server_for, upstream):  # type: ignore[no-untyped-def]
    upstream.answer(SCORES)
    return server_for("outputs", ("ARCADE_BASE_URL",))


def test_outputs_properties(arcade) -> None:
    result = mcp_call(arcade, "top-score", {})
    data = ok(result)
    assert data.pop("season", None) is None
    assert data == {"top_player": "ada", "total": 2, "has_more": False}
    assert result.structured_content is not None


def test_outputs_items(arcade) -> None:
    assert ok(mcp_call(arcade, "score-players", {})) == [{"player": "ada"}, {"player": "bo"}]


def test_outputs_mock(arcade, upstream) -> None:
    assert ok(mcp_call(arcade, "arcade-status", {})) == {"status": "ok", "build": "2026.02"}
    assert upstream.seen == []


def test_outputs_xml_raw(server_for, upstream) -> None:
    xml = "<feed><score>900</score></feed>"
    upstream.answer(xml, content_type="application/xml")
    result = mcp_call(server_for("outputs", ("ARCADE_BASE_URL",)), "score-feed", {})
    assert result.is_error is False
    assert result.content[0].text == xml


def test_outputs_empty_data(server_for, upstream) -> None:
    upstream.answer({"data": [], "meta": {}})
    data = ok(mcp_call(server_for("outputs", ("ARCADE_BASE_URL",)), "top-score", {}))
    assert all(value is None for value in data.values())


# ---------------------------------------------------------------------------------------------
# hints_schema.yaml (B21)


@pytest.fixture()
def shelf(server_for):  # type: ignore[no-untyped-def]
    return server_for("hints_schema", ("SHELF_BASE_URL",))


def test_hints_no_param_tool(shelf) -> None:
    tool = mcp_list(shelf)["shelf-health"]
    schema = schema_of(tool)
    assert schema["type"] == "object" and schema["properties"] == {}
    assert set(schema) <= {"type", "properties", "required", "additionalProperties"}
    assert not schema.get("required")
    assert annotations_of(tool) == {
        "readOnlyHint": True,
        "destructiveHint": False,
        "idempotentHint": True,
        "openWorldHint": False,
    }
    jsonschema.Draft202012Validator(schema).validate({})


def test_hints_declared_params(shelf) -> None:
    tool = mcp_list(shelf)["get-bookmark"]
    schema = schema_of(tool)
    assert sorted(schema["required"]) == ["bookmark_id", "tags"]
    props = schema["properties"]
    assert props["bookmark_id"]["type"] == "string"
    assert props["tags"]["type"] == "array" and "items" in props["tags"]
    assert props["depth"]["type"] == "integer"
    declared = fixture_yaml("hints_schema")["capability"]["exposes"][1]["tools"][1]
    for param in declared["inputParameters"]:
        assert props[param["name"]]["description"] == param["description"]
    annotations = annotations_of(tool)
    assert annotations["readOnlyHint"] is True
    defaults = {"destructiveHint": True, "idempotentHint": False, "openWorldHint": True}
    for key, default in defaults.items():
        assert annotations.get(key, default) == default
    validator = jsonschema.Draft202012Validator(schema)
    assert not validator.is_valid({})
    assert validator.is_valid({"bookmark_id": "b", "tags": []})


def test_hints_title_from_label(shelf) -> None:
    tool = mcp_list(shelf)["delete-bookmark"]
    annotations = annotations_of(tool)
    assert "Delete a bookmark" in (tool.title, annotations.get("title"))
    assert annotations["readOnlyHint"] is False
    assert annotations["destructiveHint"] is True
    assert annotations["idempotentHint"] is True
    assert annotations["openWorldHint"] is True
    assert schema_of(tool)["required"] == ["bookmark_id"]


def test_hints_absent(shelf) -> None:
    tool = mcp_list(shelf)["create-bookmark"]
    annotations = annotations_of(tool)
    assert annotations is None or annotations.get("readOnlyHint") is not True
    schema = schema_of(tool)
    assert schema["properties"]["body"]["type"] == "object"
    assert schema["required"] == ["body"]


def test_hints_every_property_typed(shelf) -> None:
    for tool in mcp_list(shelf).values():
        schema = schema_of(tool)
        jsonschema.Draft202012Validator.check_schema(schema)
        for prop in schema["properties"].values():
            assert "type" in prop
            if prop["type"] == "array":
                assert "items" in prop


def test_hints_calls(shelf, upstream) -> None:
    ok(mcp_call(shelf, "shelf-health", {}))
    ok(mcp_call(shelf, "delete-bookmark", {"bookmark_id": "b-1"}))
    ok(mcp_call(shelf, "get-bookmark", {"bookmark_id": "b-2", "tags": ["x", "y"], "depth": 2}))
    health, delete, get = upstream.seen
    assert (health.method, health.raw_path) == ("GET", "/healthz")
    assert (delete.method, delete.raw_path) == ("DELETE", "/bookmarks/b-1")
    assert (get.method, get.raw_path) == ("GET", "/bookmarks/b-2")
    assert get.query == {"tags": ["x", "y"], "depth": ["2"]}


def test_hints_missing_required_no_call(shelf, upstream) -> None:
    text = error_text(mcp_call(shelf, "get-bookmark", {}))
    assert "bookmark_id" in text or "tags" in text
    text = error_text(mcp_call(shelf, "get-bookmark", {"tags": []}))
    assert "bookmark_id" in text
    assert upstream.seen == []


# ---------------------------------------------------------------------------------------------
# unsupported.yaml


def test_unsupported_mcp_still_generated(server_for, upstream) -> None:
    server = server_for("unsupported", ("TIDES_BASE_URL",))
    tools = mcp_list(server)
    assert set(tools) == {"get-tides"}
    ok(mcp_call(server, "get-tides", {"station_id": "s-2", "date": "2026-02-03"}))
    assert upstream.last.raw_path == "/stations/s-2/tides"
    assert upstream.last.query == {"date": ["2026-02-03"]}


def test_no_marker_after_mcp_tests() -> None:
    assert not MARKER.exists()
