"""`forward` resources: the caller's request relayed as it is, inside the declared prefix."""

from __future__ import annotations

import json

from pytest_httpserver import HTTPServer

ENV = {"WIKI_TOKEN": "wiki-secret"}


def _app(load, httpserver: HTTPServer):  # type: ignore[no-untyped-def]
    rest = load("forward.rest")
    return rest.create_app({**ENV, "WIKI_BASE_URL": httpserver.url_for("/wiki")}).test_client()


def test_any_method_and_sub_path_is_relayed(load, httpserver: HTTPServer) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/wiki/pages/home/revisions", method="POST").respond_with_data(
        "<ok/>", status=201, content_type="application/xml"
    )
    client = _app(load, httpserver)
    response = client.post(
        "/v1/wiki/pages/home/revisions?draft=true&tag=a&tag=b",
        data=b'{"text":"hi"}',
        headers={
            "Content-Type": "application/json",
            "Wiki-Version": "3",
            "X-Other": "dropped",
            "Authorization": "Bearer caller",
            "Cookie": "session=1",
        },
    )
    assert response.status_code == 201
    assert response.data == b"<ok/>"
    assert response.headers["Content-Type"] == "application/xml"
    request, _ = httpserver.log[-1]
    assert request.method == "POST"
    assert request.path == "/wiki/pages/home/revisions"
    assert request.args.getlist("tag") == ["a", "b"] and request.args["draft"] == "true"
    assert json.loads(request.get_data()) == {"text": "hi"}
    assert request.headers["Wiki-Version"] == "3"
    assert request.headers["Wiki-Client"] == "capgen"  # the consumed API's own fixed header
    assert request.headers["Authorization"] == "Bearer wiki-secret"
    assert "X-Other" not in request.headers and "Cookie" not in request.headers


def test_dot_segments_are_refused(load, httpserver: HTTPServer) -> None:  # type: ignore[no-untyped-def]
    client = _app(load, httpserver)
    for path in ("/v1/wiki/../admin", "/v1/wiki/a/%2e%2e/admin", "/v1/wiki/a/./b"):
        response = client.get(path)
        assert response.status_code in (400, 404), path
    assert len(httpserver.log) == 0


def test_forward_is_documented(generated_tree) -> None:  # type: ignore[no-untyped-def]
    document = json.loads((generated_tree / "forward" / "openapi.json").read_text("utf-8"))
    item = document["paths"]["/v1/wiki/{path}"]
    assert sorted(item) == ["delete", "get", "patch", "post", "put"]
    assert item["get"]["parameters"][0]["name"] == "path"
    assert "/v1/pages" in document["paths"]


def test_trailing_placeholder_is_the_relayed_remainder(load, httpserver: HTTPServer) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/wiki/a/b").respond_with_json({"raw": True})
    response = _app(load, httpserver).get("/v1/raw/a/b", headers={"Wiki-Version": "9"})
    assert response.status_code == 200 and response.get_json() == {"raw": True}
    request, _ = httpserver.log[-1]
    assert "Wiki-Version" not in request.headers  # not trusted on this resource


def test_forward_only_adapter(load, httpserver: HTTPServer) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/base/x/y", method="DELETE").respond_with_data("", status=204)
    rest = load("forward_only.rest")
    client = rest.create_app({"BACKEND_BASE_URL": httpserver.url_for("/base")}).test_client()
    response = client.delete("/relay/x/y")
    assert response.status_code == 204
    assert httpserver.log[-1][0].path == "/base/x/y"
