"""Functional tests of the generated REST adapters of our fixtures (tests/fixtures/*.yaml).

Each test imports the package generated in this session, points its consumes namespace at a
recording upstream (pytest-httpserver) and checks what the upstream received and what the caller
got back; the checks follow the matching shared bug cases (B01, B02, B03/B04, B05, B07, B10/B16,
B12, B13, B22).
"""

from __future__ import annotations

import ast
import base64
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.helpers_upstream import fixture_yaml

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MARKER = Path("/tmp/capgen_pwned")

# The marker must not exist before the tree is generated (the session fixture runs later).
if MARKER.exists():
    MARKER.unlink()


@pytest.fixture()
def app_for(load, upstream):  # type: ignore[no-untyped-def]
    """``app_for(package, **extra_env)`` -> Flask test client bound to the recording upstream."""

    def make(package: str, base_vars: tuple[str, ...], suffix: str = "", **extra: str) -> Any:
        rest = load(f"{package}.rest")
        environ = {var: upstream.url + suffix for var in base_vars}
        environ.update(extra)
        return rest.create_app(environ).test_client()

    return make


def openapi(client: Any) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return json.loads(response.data)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.data
    assert "json" in response.headers["Content-Type"]
    body = response.get_json(force=True)
    assert b"Traceback" not in response.data
    return body


# ---------------------------------------------------------------------------------------------
# keywords.yaml (B01)


KEYWORD_QUERY = {
    "from": "OSL",
    "to": "KEL",
    "in": "NOK",
    "type": "return",
    "self": "me-1",
    "request": "r-1",
    "json": "compact",
    "app": "ferryapp",
    "blueprint": "bp-7",
}


def test_keywords_every_wire_name_and_value_arrives(app_for, upstream) -> None:
    client = app_for("keywords", ("FERRIES_BASE_URL",))
    query = "&".join(f"{k}={v}" for k, v in KEYWORD_QUERY.items())
    response = client.get(f"/v1/fares/deck/quotes?{query}")
    assert response.status_code == 200, response.data
    assert response.get_json() == {"ok": True}
    seen = upstream.last
    assert seen.method == "GET"
    assert seen.raw_path == "/fares/deck/quotes"
    assert seen.query == {k: [v] for k, v in KEYWORD_QUERY.items()}


def test_keywords_only_given_values_forwarded(app_for, upstream) -> None:
    client = app_for("keywords", ("FERRIES_BASE_URL",))
    response = client.get("/v1/fares/suite/quotes?from=2026-01-01")
    assert response.status_code == 200
    assert upstream.last.raw_path == "/fares/suite/quotes"
    assert upstream.last.query == {"from": ["2026-01-01"]}


def test_keywords_special_characters_survive(app_for, upstream) -> None:
    client = app_for("keywords", ("FERRIES_BASE_URL",))
    tricky = "a&b=c+d e#f/ü%"
    response = client.get(
        "/v1/fares/%C3%A9t%C3%A9%20x/quotes", query_string={"from": tricky, "in": ""}
    )
    assert response.status_code == 200
    seen = upstream.last
    assert seen.raw_path == "/fares/%C3%A9t%C3%A9%20x/quotes"
    assert seen.query == {"from": [tricky], "in": [""]}


def test_keywords_openapi_parameter_names(app_for) -> None:
    document = openapi(app_for("keywords", ("FERRIES_BASE_URL",)))
    operation = document["paths"]["/v1/fares/{class}/quotes"]["get"]
    params = {(p["name"], p["in"]): p for p in operation["parameters"]}
    assert params[("class", "path")]["required"] is True
    for name in KEYWORD_QUERY:
        assert (name, "query") in params
    assert len(params) == 1 + len(KEYWORD_QUERY)


# ---------------------------------------------------------------------------------------------
# odd_names.yaml (B02, lenient policy for page[size] / filter.status; B07 query round trip)


def test_odd_names_wire_names_kept(app_for, upstream) -> None:
    client = app_for("odd_names", ("RECIPES_BASE_URL",))
    response = client.get(
        "/v1/recipes?sort-by=created&2fa-code=123456&per_page=5"
        "&page%5Bsize%5D=10&filter.status=open",
        headers={"x-api-key": "k-1"},
    )
    assert response.status_code == 200, response.data
    seen = upstream.last
    assert seen.raw_path == "/recipes"
    assert seen.query == {
        "sort-by": ["created"],
        "2fa-code": ["123456"],
        "per_page": ["5"],
        "page[size]": ["10"],
        "filter.status": ["open"],
    }
    assert seen.headers["x-api-key"] == "k-1"
    for wrong in ("sort_by", "sortBy", "_2fa_code", "x_api_key", "page_size_", "filter_status"):
        assert wrong not in seen.query and wrong not in seen.headers


def test_odd_names_literal_brackets_decode_to_same_key(app_for, upstream) -> None:
    client = app_for("odd_names", ("RECIPES_BASE_URL",))
    response = client.get("/v1/recipes?page[size]=25", headers={"x-api-key": "k"})
    assert response.status_code == 200
    assert upstream.last.query == {"page[size]": ["25"]}


def test_odd_names_missing_required_header_is_400(app_for, upstream) -> None:
    client = app_for("odd_names", ("RECIPES_BASE_URL",))
    body = assert_problem(client.get("/v1/recipes?sort-by=created"), 400)
    assert "x-api-key" in body["detail"]
    assert upstream.seen == []


def test_odd_names_integer_query_checked(app_for, upstream) -> None:
    client = app_for("odd_names", ("RECIPES_BASE_URL",))
    body = assert_problem(client.get("/v1/recipes?per_page=lots", headers={"x-api-key": "k"}), 400)
    assert "per_page" in body["detail"]
    assert upstream.seen == []


def test_odd_names_utf8_query_and_answer_round_trip(app_for, upstream) -> None:
    answer = {"items": [{"name": "Crème brûlée", "note": "très bon — 甘い 🍮"}]}
    upstream.answer(answer)
    client = app_for("odd_names", ("RECIPES_BASE_URL",))
    response = client.get(
        "/v1/recipes?filter.status=%D1%81%D1%83%D0%BF", headers={"x-api-key": "k"}
    )
    assert response.status_code == 200
    assert upstream.last.query == {"filter.status": ["суп"]}
    assert json.loads(response.data.decode("utf-8")) == answer
    assert b"\xc3\x83" not in response.data  # no double-encoded (mojibake) UTF-8


def test_odd_names_openapi_non_ascii_description(app_for) -> None:
    document = openapi(app_for("odd_names", ("RECIPES_BASE_URL",)))
    params = {p["name"]: p for p in document["paths"]["/v1/recipes"]["get"]["parameters"]}
    assert (
        params["per_page"]["description"] == "Nombre de recettes par page — 每页数量 (défaut 20)."
    )
    assert params["per_page"]["schema"]["type"] == "integer"
    assert params["x-api-key"]["in"] == "header" and params["x-api-key"]["required"] is True
    assert {"sort-by", "2fa-code", "page[size]", "filter.status"} <= set(params)


# ---------------------------------------------------------------------------------------------
# kebab_paths.yaml (B03, B04)


def test_kebab_route_variables_reach_snake_placeholders(app_for, upstream) -> None:
    client = app_for("kebab_paths", ("GUILD_BASE_URL",))
    assert client.get("/v1/orgs/o-1/members/m-2").status_code == 200
    assert upstream.last.raw_path == "/orgs/o-1/members/m-2"


def test_kebab_inferred_org_id_and_trailing_slash(app_for, upstream) -> None:
    client = app_for("kebab_paths", ("GUILD_BASE_URL",))
    response = client.get("/v1/orgs/o-7/teams")
    assert response.status_code == 200
    assert upstream.last.raw_path == "/orgs/o-7/teams/"


def test_kebab_mustache_placeholders(app_for, upstream) -> None:
    client = app_for("kebab_paths", ("GUILD_BASE_URL",))
    assert client.get("/v1/orgs/o-1/invites/INV-9").status_code == 200
    assert upstream.last.raw_path == "/orgs/o-1/invites/INV-9"


def test_kebab_literal_template_text_is_a_value(app_for, upstream) -> None:
    client = app_for("kebab_paths", ("GUILD_BASE_URL",))
    response = client.get("/v1/orgs/%7Borg-id%7D/members/m-2")
    assert response.status_code == 200
    raw = upstream.last.raw_path
    assert raw == "/orgs/%7Borg-id%7D/members/m-2"
    assert "{org_id}" not in raw and "%7borg_id%7d" not in raw.lower()


def test_kebab_value_is_percent_encoded(app_for, upstream) -> None:
    client = app_for("kebab_paths", ("GUILD_BASE_URL",))
    assert client.get("/v1/orgs/a%20b/teams").status_code == 200
    assert upstream.last.raw_path == "/orgs/a%20b/teams/"
    assert "//" not in upstream.last.raw_path


def test_kebab_openapi_names_match_template(app_for) -> None:
    document = openapi(app_for("kebab_paths", ("GUILD_BASE_URL",)))
    operation = document["paths"]["/v1/orgs/{org-id}/members/{member-id}"]["get"]
    names = {(p["name"], p["in"], p["required"]) for p in operation["parameters"]}
    assert names == {("org-id", "path", True), ("member-id", "path", True)}
    teams = document["paths"]["/v1/orgs/{org-id}/teams"]["get"]
    assert [p["name"] for p in teams["parameters"]] == ["org-id"]


# ---------------------------------------------------------------------------------------------
# hostile_text.yaml (B05, B07)


def test_hostile_generated_code_has_no_injected_calls(generated_tree: Path) -> None:
    files = sorted(generated_tree.rglob("*.py"))
    assert any(f.parent.name == "hostile_text" for f in files)
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                assert called not in ("system", "__import__", "eval", "exec"), (path, node.lineno)


def test_hostile_import_and_calls_run_no_payload(app_for, upstream, load) -> None:
    for module in ("hostile_text.rest", "hostile_text.mcp_server", "hostile_text.upstream"):
        load(module)
    client = app_for("hostile_text", ("ORCHARD_BASE_URL",))
    response = client.get("/v1/readings?probe=a&since=b")
    assert response.status_code == 200, response.data
    capability = fixture_yaml("hostile_text")
    constant = capability["capability"]["exposes"][0]["resources"][0]["operations"][0]["with"][
        "note"
    ]
    assert upstream.last.query == {"probe": ["a"], "since": ["b"], "note": [constant]}
    assert not MARKER.exists()


def test_hostile_openapi_text_verbatim(app_for) -> None:
    capability = fixture_yaml("hostile_text")
    document = openapi(app_for("hostile_text", ("ORCHARD_BASE_URL",)))
    assert document["info"]["title"] == capability["info"]["label"]
    assert document["info"]["description"] == capability["info"]["description"]
    exposed = capability["capability"]["exposes"][0]["resources"][0]["operations"][0]
    operation = document["paths"]["/v1/readings"]["get"]
    assert operation["description"] == exposed["description"]
    consumed = capability["capability"]["consumes"][0]["resources"][0]["operations"][0]
    wanted = {p["name"]: p["description"] for p in consumed["inputParameters"]}
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["probe"]["description"] == wanted["probe"]
    assert params["probe"]["description"].endswith("C:\\orchard\\")
    assert params["since"]["description"] == wanted["since"]
    assert "note" not in params  # a constant, not a caller input
    assert not MARKER.exists()


# ---------------------------------------------------------------------------------------------
# duplicates_ok.yaml


def test_duplicates_get_and_post_share_one_route(app_for, upstream) -> None:
    client = app_for("duplicates_ok", ("STOCK_BASE_URL",))
    assert client.get("/v1/items").status_code == 200
    response = client.post("/v1/items", json={"sku": "s-1", "qty": 2})
    assert response.status_code == 200
    first, second = upstream.seen
    assert (first.method, first.raw_path, first.body) == ("GET", "/items", b"")
    assert (second.method, second.raw_path) == ("POST", "/items")
    assert second.json() == {"sku": "s-1", "qty": 2}


def test_duplicates_other_method_is_405(app_for, upstream) -> None:
    client = app_for("duplicates_ok", ("STOCK_BASE_URL",))
    response = client.delete("/v1/items")
    assert_problem(response, 405)
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "DELETE" not in allowed
    assert upstream.seen == []


def test_duplicates_same_operation_name_both_routes(app_for, upstream) -> None:
    client = app_for("duplicates_ok", ("STOCK_BASE_URL",))
    assert client.get("/v1/items/i-1").status_code == 200
    assert client.get("/v1/items/sku/s-9").status_code == 200
    assert [s.raw_path for s in upstream.seen] == ["/items/i-1", "/items/sku/s-9"]


def test_duplicates_operation_ids_unique(app_for) -> None:
    document = openapi(app_for("duplicates_ok", ("STOCK_BASE_URL",)))
    ids = [
        op["operationId"]
        for item in document["paths"].values()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert set(document["paths"]["/v1/items"]) >= {"get", "post"}


# ---------------------------------------------------------------------------------------------
# bodies.yaml (B10, B16, B07 body round trip)


def test_bodies_malformed_json_is_400(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    response = client.post("/v1/cards", data='{"title": ', content_type="application/json")
    body = assert_problem(response, 400)
    assert "JSON" in body["detail"]
    assert upstream.seen == []


def test_bodies_text_plain_is_415(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    assert_problem(client.post("/v1/cards", data="hello", content_type="text/plain"), 415)
    assert upstream.seen == []


def test_bodies_string_for_object_is_400(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    response = client.post("/v1/cards", data='"just a string"', content_type="application/json")
    assert_problem(response, 400)
    assert upstream.seen == []


def test_bodies_required_body_missing_is_400(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    assert_problem(client.post("/v1/cards"), 400)
    assert_problem(client.post("/v1/cards", data="", content_type="application/json"), 400)
    assert upstream.seen == []


def test_bodies_json_null_for_required_body_is_400(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    assert_problem(client.post("/v1/cards", data="null", content_type="application/json"), 400)
    assert_problem(client.post("/v1/cards", data="[1]", content_type="application/json"), 400)
    assert upstream.seen == []


def test_bodies_object_forwarded_with_types(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    document = {"title": "t", "tags": ["a"], "n": 1.5, "ok": False, "none": None}
    assert client.post("/v1/cards", json=document).status_code == 200
    seen = upstream.last
    assert (seen.method, seen.raw_path) == ("POST", "/cards")
    assert seen.headers["content-type"].startswith("application/json")
    assert seen.json() == document


def test_bodies_non_ascii_json_round_trip(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    document = {"name": "Pho bò", "tags": ["nước dùng", "🍜"]}
    raw = json.dumps(document, ensure_ascii=False).encode("utf-8")
    assert client.post("/v1/cards", data=raw, content_type="application/json").status_code == 200
    seen = upstream.last
    assert json.loads(seen.body.decode("utf-8")) == document
    content_type = seen.headers["content-type"].lower()
    assert "json" in content_type
    assert "charset" not in content_type or "charset=utf-8" in content_type


def test_bodies_array_body_forwarded(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    cards = [{"title": "a"}, {"title": "b"}]
    assert client.post("/v1/cards/bulk", json=cards).status_code == 200
    assert upstream.last.raw_path == "/cards/bulk"
    assert upstream.last.json() == cards


def test_bodies_array_body_rejects_object(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    assert_problem(client.post("/v1/cards/bulk", json={"title": "a"}), 400)
    assert upstream.seen == []


def test_bodies_no_body_post_sends_empty_body(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    assert client.post("/v1/cards/c-1/archive").status_code == 200
    seen = upstream.last
    assert (seen.method, seen.raw_path) == ("POST", "/cards/c-1/archive")
    assert seen.body == b""
    assert "content-type" not in seen.headers


def test_bodies_path_query_body_kept_apart(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    document = {"id": "c-OTHER", "version": 99, "name": "Gear"}
    response = client.put("/v1/cards/c-1?version=3", json=document)
    assert response.status_code == 200, response.data
    seen = upstream.last
    assert (seen.method, seen.raw_path) == ("PUT", "/cards/c-1")
    assert seen.query == {"version": ["3"]}
    assert seen.json() == document


def test_bodies_missing_required_query_is_400(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    body = assert_problem(client.put("/v1/cards/c-1", json={"id": "x"}), 400)
    assert "version" in body["detail"]
    assert_problem(client.put("/v1/cards/c-1?version=three", json={"id": "x"}), 400)
    assert upstream.seen == []


def test_bodies_named_fields_build_an_object(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    assert client.patch("/v1/cards/c-1", json={"title": "T", "done": False}).status_code == 200
    assert client.patch("/v1/cards/c-2", json={"done": True}).status_code == 200
    first, second = upstream.seen
    assert (first.method, first.raw_path) == ("PATCH", "/cards/c-1")
    assert first.json() == {"title": "T", "done": False}
    assert second.json() == {"done": True}


def test_bodies_named_field_type_checked(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    assert_problem(client.patch("/v1/cards/c-1", json={"done": "yes"}), 400)
    assert_problem(client.patch("/v1/cards/c-1", json=["title"]), 400)
    assert upstream.seen == []


def test_bodies_json_template(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    response = client.post("/v1/cards/c-1/comments", json={"text": "hi 👋", "author": "ann"})
    assert response.status_code == 200, response.data
    assert upstream.last.raw_path == "/cards/c-1/comments"
    assert upstream.last.json() == {"message": "hi 👋", "by": "ann", "via": "capgen"}


def test_bodies_json_template_optional_absent(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    assert client.post("/v1/cards/c-1/comments", json={"text": "hi"}).status_code == 200
    sent = upstream.last.json()
    assert sent["message"] == "hi" and sent["via"] == "capgen"
    assert sent.get("by") is None
    assert_problem(client.post("/v1/cards/c-1/comments", json={"author": "ann"}), 400)
    assert len(upstream.seen) == 1


def test_bodies_form_encoded(app_for, upstream) -> None:
    client = app_for("bodies", ("KANBAN_BASE_URL",))
    assert client.post("/v1/token").status_code == 200
    seen = upstream.last
    assert (seen.method, seen.raw_path) == ("POST", "/oauth/token")
    assert seen.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert parse_qs(seen.body.decode("ascii")) == {
        "grant_type": ["client_credentials"],
        "scope": ["cards.read"],
    }


def test_bodies_openapi_request_bodies(app_for) -> None:
    paths = openapi(app_for("bodies", ("KANBAN_BASE_URL",)))["paths"]

    def body_schema(path: str, method: str) -> dict[str, Any]:
        request_body = paths[path][method]["requestBody"]
        return request_body["content"]["application/json"]["schema"]

    assert paths["/v1/cards"]["post"]["requestBody"]["required"] is True
    assert body_schema("/v1/cards", "post")["type"] == "object"
    assert body_schema("/v1/cards/bulk", "post") == {"type": "array", "items": {"type": "object"}}
    assert "requestBody" not in paths["/v1/cards/{card_id}/archive"]["post"]
    assert "requestBody" not in paths["/v1/token"]["post"]  # built from constants only
    put = paths["/v1/cards/{id}"]["put"]
    params = {(p["name"], p["in"]): p for p in put["parameters"]}
    assert set(params) == {("id", "path"), ("version", "query")}
    assert params[("version", "query")]["required"] is True
    assert set(body_schema("/v1/cards/{id}", "patch")["properties"]) == {"title", "done"}
    comment = body_schema("/v1/cards/{id}/comments", "post")
    assert set(comment["properties"]) == {"text", "author"} and comment["required"] == ["text"]


# ---------------------------------------------------------------------------------------------
# query_header_auth_apikey.yaml (B12, B13 base path)


SHOP = {"SHOP_KEY": "sk-shop-1"}


def test_shop_headers_queries_and_constants(app_for, upstream) -> None:
    client = app_for("query_header_auth_apikey", ("BAZAAR_BASE_URL",), "/api/v2", **SHOP)
    response = client.get(
        "/v1/products?limit=5&in_stock=true&min_price=9.5&tags=red&tags=blue",
        headers={
            "X-Request-Id": "req-123",
            "Accept-Language": "fr-CA",
            "Authorization": "Bearer caller-token",
            "X-Api-Key": "caller-key",
        },
    )
    assert response.status_code == 200, response.data
    seen = upstream.last
    assert seen.raw_path == "/api/v2/products"
    assert seen.query == {
        "limit": ["5"],
        "in_stock": ["true"],
        "min_price": ["9.5"],
        "tags": ["red", "blue"],
        "channel": ["online"],
    }
    assert seen.headers["x-request-id"] == "req-123"
    assert seen.headers["accept-language"] == "fr-CA"
    assert seen.headers["shop-api-version"] == "2025-11-01"
    assert seen.headers["x-api-key"] == "sk-shop-1"
    assert seen.header_count("X-Api-Key") == 1
    assert "authorization" not in seen.headers
    for wrong in ("x_request_id", "X_Request_Id", "XRequestId"):
        assert wrong.lower() not in seen.headers
    transport = {"host", "accept", "accept-encoding", "connection", "user-agent", "content-length"}
    declared = {"x-request-id", "accept-language", "shop-api-version", "x-api-key"}
    assert set(seen.headers) <= transport | declared


def test_shop_optional_headers_absent(app_for, upstream) -> None:
    client = app_for("query_header_auth_apikey", ("BAZAAR_BASE_URL",), "/api/v2", **SHOP)
    assert client.get("/v1/products").status_code == 200
    seen = upstream.last
    assert "x-request-id" not in seen.headers
    assert "accept-language" not in seen.headers
    assert seen.headers["x-api-key"] == "sk-shop-1"
    assert seen.query == {"channel": ["online"]}


def test_shop_caller_cannot_override_constant_query(app_for, upstream) -> None:
    client = app_for("query_header_auth_apikey", ("BAZAAR_BASE_URL",), "/api/v2", **SHOP)
    assert client.get("/v1/products?channel=store&limit=1").status_code == 200
    assert upstream.last.query == {"limit": ["1"], "channel": ["online"]}


@pytest.mark.parametrize("query", ["limit=five", "in_stock=maybe", "min_price=cheap"])
def test_shop_typed_query_rejected(app_for, upstream, query: str) -> None:
    client = app_for("query_header_auth_apikey", ("BAZAAR_BASE_URL",), "/api/v2", **SHOP)
    body = assert_problem(client.get(f"/v1/products?{query}"), 400)
    assert query.split("=")[0] in body["detail"]
    assert upstream.seen == []


def test_shop_base_url_trailing_slash(app_for, upstream) -> None:
    client = app_for("query_header_auth_apikey", ("BAZAAR_BASE_URL",), "/api/v2/", **SHOP)
    assert client.get("/v1/products").status_code == 200
    assert upstream.last.raw_path == "/api/v2/products"


def test_shop_missing_key_names_it(load, upstream) -> None:
    rest = load("query_header_auth_apikey.rest")
    from generated._runtime import ConfigurationError

    with pytest.raises(ConfigurationError) as info:
        rest.create_app({"BAZAAR_BASE_URL": upstream.url})
    assert "SHOP_KEY" in str(info.value)
    with pytest.raises(ConfigurationError):
        rest.create_app({"BAZAAR_BASE_URL": upstream.url, "SHOP_KEY": ""})


def test_shop_openapi_headers_not_auth(app_for) -> None:
    document = openapi(app_for("query_header_auth_apikey", ("BAZAAR_BASE_URL",), "/api/v2", **SHOP))
    params = {(p["name"], p["in"]) for p in document["paths"]["/v1/products"]["get"]["parameters"]}
    assert ("X-Request-Id", "header") in params and ("Accept-Language", "header") in params
    names = {name.lower() for name, _ in params}
    assert "authorization" not in names and "x-api-key" not in names
    assert "shop-api-version" not in names and "channel" not in names
    assert "sk-shop-1" not in json.dumps(document)


# ---------------------------------------------------------------------------------------------
# apikey_query_basic.yaml (B12: query key, basic auth, PUT/DELETE, with constants/templates)


LEDGER = {"ALMANAC_KEY": "ak-1", "LEDGER_USER": "ledger-user", "LEDGER_PASSWORD": "p@ss:w"}
BASES = ("ALMANAC_BASE_URL", "LEDGER_BASE_URL")


def basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_almanac_query_key_and_constants(app_for, upstream) -> None:
    client = app_for("apikey_query_basic", BASES, **LEDGER)
    response = client.get("/v1/forecast?city=Oslo&units=imperial&days=9")
    assert response.status_code == 200, response.data
    seen = upstream.last
    assert (seen.method, seen.raw_path) == ("GET", "/forecast")
    assert seen.query == {
        "city": ["Oslo"],
        "units": ["metric"],
        "days": ["3"],
        "api_key": ["ak-1"],
    }
    assert "authorization" not in seen.headers


def test_almanac_caller_cannot_replace_query_key(app_for, upstream) -> None:
    client = app_for("apikey_query_basic", BASES, **LEDGER)
    assert client.get("/v1/forecast?city=Rome&api_key=evil").status_code == 200
    assert upstream.last.query["api_key"] == ["ak-1"]


def test_almanac_missing_city_is_400(app_for, upstream) -> None:
    client = app_for("apikey_query_basic", BASES, **LEDGER)
    body = assert_problem(client.get("/v1/forecast"), 400)
    assert "city" in body["detail"]
    assert upstream.seen == []


def test_ledger_put_with_template_and_basic_auth(app_for, upstream) -> None:
    client = app_for("apikey_query_basic", BASES, **LEDGER)
    response = client.put("/v1/accounts/a-1?name=Bob%20Ray")
    assert response.status_code == 200, response.data
    seen = upstream.last
    assert (seen.method, seen.raw_path) == ("PUT", "/accounts/a-1")
    assert seen.query == {"memo": ["acct-Bob Ray"], "currency": ["EUR"]}
    assert seen.headers["authorization"] == basic_header("ledger-user", "p@ss:w")
    assert seen.header_count("Authorization") == 1
    assert "api_key" not in seen.query


def test_ledger_put_declared_param_required(app_for, upstream) -> None:
    client = app_for("apikey_query_basic", BASES, **LEDGER)
    body = assert_problem(client.put("/v1/accounts/a-1"), 400)
    assert "name" in body["detail"]
    assert upstream.seen == []


def test_ledger_delete(app_for, upstream) -> None:
    client = app_for("apikey_query_basic", BASES, **LEDGER)
    response = client.delete(
        "/v1/accounts/a-1/entries/e-2", headers={"Authorization": "Bearer caller"}
    )
    assert response.status_code == 200
    seen = upstream.last
    assert (seen.method, seen.raw_path, seen.body) == ("DELETE", "/accounts/a-1/entries/e-2", b"")
    assert seen.headers["authorization"] == basic_header("ledger-user", "p@ss:w")
    assert seen.query == {}


def test_ledger_secrets_all_named(load, upstream) -> None:
    rest = load("apikey_query_basic.rest")
    from generated._runtime import ConfigurationError

    with pytest.raises(ConfigurationError) as info:
        rest.create_app({"ALMANAC_BASE_URL": upstream.url})
    message = str(info.value)
    for name in LEDGER:
        assert name in message
    for value in LEDGER.values():
        assert value not in message


def test_secrets_not_in_openapi(app_for) -> None:
    document = json.dumps(openapi(app_for("apikey_query_basic", BASES, **LEDGER)))
    for value in LEDGER.values():
        assert value not in document
    assert "api_key" not in document


# ---------------------------------------------------------------------------------------------
# empty_baseuri.yaml (B13)


def test_empty_base_uri_requires_setting(load) -> None:
    rest = load("empty_baseuri.rest")
    from generated._runtime import ConfigurationError

    with pytest.raises(ConfigurationError) as info:
        rest.create_app({"EXAMPLE_TOKEN": "tok"})
    assert "QUILL_BASE_URL" in str(info.value)
    assert "tok" not in str(info.value)


@pytest.mark.parametrize("suffix, prefix", [("", ""), ("/", ""), ("/base/", "/base")])
def test_empty_base_uri_configured(app_for, upstream, suffix: str, prefix: str) -> None:
    client = app_for("empty_baseuri", ("QUILL_BASE_URL",), suffix, EXAMPLE_TOKEN="tok-1")
    response = client.get("/v1/journals/j-1/entries?limit=2")
    assert response.status_code == 200, response.data
    seen = upstream.last
    assert seen.raw_path == f"{prefix}/journals/j-1/entries/"
    assert "//" not in seen.raw_path
    assert seen.query == {"limit": ["2"]}
    assert seen.headers["authorization"] == "Bearer tok-1"


def test_empty_base_uri_openapi_servers(app_for) -> None:
    document = openapi(app_for("empty_baseuri", ("QUILL_BASE_URL",), EXAMPLE_TOKEN="t"))
    assert {"url": ""} not in document.get("servers", [])
    params = document["paths"]["/v1/journals/{journal-id}/entries"]["get"]["parameters"]
    assert {"name": "journal-id", "in": "path"}.items() <= params[0].items()
    assert "t" not in [p.get("name") for p in params]


# ---------------------------------------------------------------------------------------------
# outputs.yaml (B22)


SCORES = {
    "data": [{"player": "ada", "points": 900, "x": 1}, {"player": "bo", "points": 700, "x": 2}],
    "meta": {"total": 2, "has_more": False},
}


@pytest.fixture()
def arcade(app_for, upstream):  # type: ignore[no-untyped-def]
    upstream.answer(SCORES)
    return app_for("outputs", ("ARCADE_BASE_URL",))


def test_outputs_identity(arcade, upstream) -> None:
    response = arcade.get("/v1/scores")
    assert response.status_code == 200
    assert response.get_json() == SCORES
    assert upstream.last.raw_path == "/scores"


def test_outputs_properties_from_root(arcade) -> None:
    response = arcade.get("/v1/scores/top")
    assert response.status_code == 200
    data = response.get_json()
    assert data.pop("season", None) is None
    assert data == {"top_player": "ada", "top_points": 900, "total": 2, "has_more": False}
    assert data["has_more"] is False


def test_outputs_items_relative_to_element(arcade) -> None:
    response = arcade.get("/v1/scores/players")
    assert response.get_json() == [
        {"player": "ada", "points": 900},
        {"player": "bo", "points": 700},
    ]


def test_outputs_scalar(arcade) -> None:
    response = arcade.get("/v1/scores/count")
    assert response.status_code == 200
    assert response.get_json() == 2


def test_outputs_mock_no_upstream(arcade, upstream) -> None:
    response = arcade.get("/v1/status")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "build": "2026.02"}
    assert upstream.seen == []


def test_outputs_xml_passthrough(app_for, upstream) -> None:
    xml = '<?xml version="1.0" encoding="utf-8"?><feed><score player="ädä">900</score></feed>'
    upstream.answer(xml, content_type="application/xml; charset=utf-8")
    client = app_for("outputs", ("ARCADE_BASE_URL",))
    response = client.get("/v1/feed")
    assert response.status_code == 200
    assert response.data == xml.encode("utf-8")
    assert response.headers["Content-Type"].startswith("application/xml")
    assert upstream.last.raw_path == "/feed.xml"


def test_outputs_empty_data_gives_nulls(app_for, upstream) -> None:
    upstream.answer({"data": [], "meta": {}})
    client = app_for("outputs", ("ARCADE_BASE_URL",))
    response = client.get("/v1/scores/top")
    assert response.status_code == 200, response.data
    data = response.get_json()
    assert set(data) <= {"top_player", "top_points", "total", "has_more", "season"}
    assert all(value is None for value in data.values())
    assert client.get("/v1/scores/players").get_json() == []
    count = client.get("/v1/scores/count")
    assert count.status_code in (200, 204)
    assert count.data in (b"", b"null")


def test_outputs_openapi_schemas(arcade) -> None:
    document = openapi(arcade)
    top = document["paths"]["/v1/scores/top"]["get"]["responses"]["200"]
    schema = top["content"]["application/json"]["schema"]
    assert schema["type"] == "object"
    types = {name: prop["type"] for name, prop in schema["properties"].items()}
    assert types == {
        "top_player": "string",
        "top_points": "number",
        "total": "number",
        "has_more": "boolean",
        "season": "string",
    }
    players = document["paths"]["/v1/scores/players"]["get"]["responses"]["200"]
    items = players["content"]["application/json"]["schema"]
    assert items["type"] == "array"
    assert set(items["items"]["properties"]) == {"player", "points"}
    feed = document["paths"]["/v1/feed"]["get"]["responses"]
    assert "200" in feed


# ---------------------------------------------------------------------------------------------
# unsupported.yaml


def test_unsupported_rest_still_generated(app_for, upstream, generated_tree: Path) -> None:
    names = {p.name for p in (generated_tree / "unsupported").iterdir()}
    assert {"rest.py", "mcp_server.py", "openapi.json"} <= names
    assert not any("skill" in name for name in names)
    client = app_for("unsupported", ("TIDES_BASE_URL",))
    response = client.get("/v1/stations/s-1/tides?date=2026-02-03")
    assert response.status_code == 200
    assert upstream.last.raw_path == "/stations/s-1/tides"
    assert upstream.last.query == {"date": ["2026-02-03"]}


def test_no_marker_after_rest_tests() -> None:
    assert not MARKER.exists()
    assert os.environ.get("CAPGEN_PWNED") is None


def test_generated_files_are_utf8_and_openapi_valid(generated_tree: Path) -> None:
    import re

    from openapi_spec_validator import validate

    for path in generated_tree.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".json", ".yaml", ".md", ".txt"):
            path.read_bytes().decode("utf-8")
    for name in ("keywords", "odd_names", "kebab_paths", "hostile_text", "outputs", "bodies"):
        document = json.loads((generated_tree / name / "openapi.json").read_text("utf-8"))
        validate(document)
        for template, item in document["paths"].items():
            for operation in item.values():
                declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
                assert set(re.findall(r"{([^}]+)}", template)) == declared, (name, template)
