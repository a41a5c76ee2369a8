"""Digest authentication: the generated client answers the upstream's challenge."""

from __future__ import annotations

import sys
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from generator import write
from generator.pipeline import compile_paths

DOCUMENT = """\
naftiko: 1.0.0-alpha2
info:
  label: Digest vault
  description: An upstream behind HTTP digest authentication.
binds:
  - namespace: env
    keys:
      VAULT_USER: VAULT_USER
      VAULT_PASSWORD: VAULT_PASSWORD
capability:
  consumes:
    - type: http
      namespace: vault
      baseUri: http://upstream.test
      authentication:
        type: digest
        username: '{{VAULT_USER}}'
        password: '{{VAULT_PASSWORD}}'
      resources:
        - name: secrets
          path: /secrets
          operations:
            - name: list-secrets
              method: GET
  exposes:
    - type: rest
      namespace: vault-rest
      port: 8100
      resources:
        - path: /v1/secrets
          operations:
            - method: GET
              name: list-secrets
              call: vault.list-secrets
"""


def test_digest_challenge_is_answered(tmp_path: Path, httpserver: HTTPServer, load) -> None:  # type: ignore[no-untyped-def]
    load("_runtime")  # the session tree is on sys.path and owns `generated`
    source = tmp_path / "digest_vault.yaml"
    source.write_text(DOCUMENT, "utf-8")
    compilation = compile_paths([source])
    assert not compilation.diagnostics.has_errors()
    upstream = compilation.files["digest_vault/upstream.py"]
    assert "rt.digest(settings.vault_user, settings.vault_password)" in upstream.replace(
        "\n", " "
    ).replace("  ", "")

    seen: list[str] = []

    def handler(request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        seen.append(header)
        if not header.startswith("Digest "):
            challenge = 'Digest realm="vault", nonce="abc123", qop="auth", algorithm=MD5'
            return Response("", status=401, headers={"WWW-Authenticate": challenge})
        return Response('{"secrets": []}', content_type="application/json")

    httpserver.expect_request("/secrets").respond_with_handler(handler)
    root = Path(sys.modules["generated"].__file__).parent
    for relative, text in compilation.files.items():
        if relative.startswith("digest_vault/"):  # add this package beside the session's others
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            if relative.endswith(".py"):
                text = write.format_sources([text])[0]  # keep the session tree black-clean
            (root / relative).write_text(text, "utf-8")
    rest = load("digest_vault.rest")
    env = {"VAULT_USER": "ann", "VAULT_PASSWORD": "pw", "VAULT_BASE_URL": httpserver.url_for("")}
    response = rest.create_app(env).test_client().get("/v1/secrets")
    assert response.status_code == 200, response.data
    assert seen[0] == "" and seen[-1].startswith('Digest username="ann"')
    assert "pw" not in seen[-1]
