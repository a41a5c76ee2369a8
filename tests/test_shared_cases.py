"""The shared regression cases (``../shared/cases``, B01-B22), run end to end.

For every capability listed in ``index.json`` the generator runs in a subprocess
(``python -m generator generate <yaml> --out <tmp>/generated``), twice for cases that must
generate (U5).  Each case's package is then exercised in its own subprocess (a small driver that
imports ``generated.<package>`` from the temporary folder and runs a JSON list of REST calls with
Flask's test client and MCP calls through an in-process ``mcp.Client``), against the recording
upstream stub ``_harness/upstream_stub.py`` on a free port.  The checks follow each case's
``expect.md``; where it accepts two policies, ``POLICY`` below records capgen's choice
(``../shared/spec/DECISIONS.md``).

The module is skipped when ``../shared/cases`` is absent (CI copies ``shared/`` beside the clone).
"""

from __future__ import annotations

import ast
import base64
import json
import os
import re
import select
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from tests.conftest import ROOT, SHARED

CASES = SHARED / "cases"
if not (CASES / "index.json").is_file():
    pytest.skip(f"shared cases not found at {CASES}", allow_module_level=True)

pytestmark = pytest.mark.slow

INDEX = json.loads((CASES / "index.json").read_text(encoding="utf-8"))["cases"]
STUB = CASES / "_harness" / "upstream_stub.py"
TRACEBACK = "Traceback (most recent call last)"
SECRET = "sk-test-SENTINEL-7f3a9c"
MARKER = Path("/tmp/naftiko_case_B05_pwned")
C_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}

# capgen's choice where expect.md accepts either of two policies (DECISIONS.md).
POLICY = {
    "B02/capability-brackets.yaml": "generate",  # B: lenient, wire names kept
    "B04/capability.yaml": "generate",  # B: infer the path parameter project_id
    "B09/capability.yaml": "fail",  # A: tool names over 64 characters are an error
    "B10/capability-ambiguous.yaml": "fail",  # A: `id` in path and query is ambiguous
    "B12/capability-apikey-authorization.yaml": "generate",  # A: raw key in Authorization
    "B13/capability.yaml": "generate",  # B, but the adapter refuses to start without the URL
    "B16/capability-form.yaml": "generate",  # A: form-encoded upstream body
}

# Generation (and the generated servers) of B07 run in the C locale.
LOCALE_CASES = {"B07"}
# A second generation run with the secret in the environment must give the same bytes (B17 1).
SECRET_CASES = {"B17"}


def outcome(entry: dict[str, Any]) -> str:
    expected = entry["generation"]
    if expected == "generate-or-fail":
        assert entry["capability"] in POLICY, f"no policy chosen for {entry['capability']}"
        return POLICY[entry["capability"]]
    return expected


# --------------------------------------------------------------------------- generation


def _base_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("EXAMPLE_API_KEY", "CAPGEN_UPSTREAM_TIMEOUT") and not k.endswith("_BASE_URL")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@dataclass
class Generation:
    rel: str
    yaml_path: Path
    root: Path  # <root>/generated is OUT
    rc: int = -1
    stdout: str = ""
    stderr: str = ""
    second: Path | None = None  # root of the second run (U5)
    cwd_left: list[str] = field(default_factory=list)

    @property
    def out(self) -> Path:
        return self.root / "generated"

    @property
    def package(self) -> str:
        return re.sub(r"[^0-9a-zA-Z]+", "_", self.yaml_path.stem).strip("_").lower()


def _run_generate(
    yaml_path: Path, root: Path, extra_env: dict[str, str]
) -> tuple[int, str, str, list[str]]:
    cwd = root / "cwd"
    cwd.mkdir(parents=True)
    env = _base_env()
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra_env)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "generator",
            "generate",
            str(yaml_path),
            "--out",
            str(root / "generated"),
        ],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=120,
    )
    left = sorted(p.name for p in cwd.iterdir())
    return (
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
        left,
    )


def _b19_fixed(base: Path) -> Path:
    text = (CASES / "B19" / "capability.yaml").read_text(encoding="utf-8")
    text = text.replace("FETCH", "GET").replace("port: eighty", "port: 8080")
    text = re.sub(r"notes\.getnot$", "notes.getnote", text, flags=re.MULTILINE)
    path = base / "B19-fixed" / "capability.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def generations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Generation]:
    """Every index entry generated once (twice when it must succeed), in parallel."""
    MARKER.unlink(missing_ok=True)
    base = tmp_path_factory.mktemp("shared_cases")
    jobs: list[tuple[Generation, str, Path, dict[str, str]]] = []
    result: dict[str, Generation] = {}
    entries = [(e["capability"], CASES / e["capability"], e["case"], outcome(e)) for e in INDEX]
    entries.append(("B19/fixed", _b19_fixed(base), "B19", "fail"))
    for rel, yaml_path, case, expected in entries:
        slug = rel.replace("/", "__").replace(".yaml", "")
        env = dict(C_LOCALE) if case in LOCALE_CASES else {}
        gen = Generation(rel, yaml_path, base / slug)
        result[rel] = gen
        jobs.append((gen, "first", gen.root, env))
        if expected == "generate":
            gen.second = base / f"{slug}--again"
            env2 = dict(env)
            if case in SECRET_CASES:
                env2["EXAMPLE_API_KEY"] = SECRET
            jobs.append((gen, "second", gen.second, env2))

    def work(job: tuple[Generation, str, Path, dict[str, str]]) -> None:
        gen, which, root, env = job
        rc, out, err, left = _run_generate(gen.yaml_path, root, env)
        if which == "first":
            gen.rc, gen.stdout, gen.stderr, gen.cwd_left = rc, out, err, left
        else:
            assert rc == 0, err

    with ThreadPoolExecutor(max_workers=max(2, min(6, (os.cpu_count() or 2) * 2))) as pool:
        list(pool.map(work, jobs))
    return result


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _oas(gen: Generation) -> dict[str, Any]:
    return json.loads((gen.out / gen.package / "openapi.json").read_text(encoding="utf-8"))


def _operation_params(oas: dict[str, Any], path: str, method: str) -> list[dict[str, Any]]:
    item = oas["paths"][path]
    params = {(p["name"], p["in"]): p for p in item.get("parameters", [])}
    params.update({(p["name"], p["in"]): p for p in item[method].get("parameters", [])})
    return list(params.values())


def _param(oas: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    found = [p for p in _operation_params(oas, path, method) if p["name"] == name]
    assert len(found) == 1, (path, method, name, _operation_params(oas, path, method))
    return found[0]


def check_universal(gen: Generation) -> None:
    """U1, U3 and U5, and no stray files (generation side of U2)."""
    assert gen.rc == 0, gen.stderr
    assert TRACEBACK not in gen.stderr + gen.stdout
    assert gen.cwd_left == [], f"generation wrote outside OUT: {gen.cwd_left}"
    files = _tree(gen.out)
    assert f"{gen.package}/rest.py" in files and f"{gen.package}/mcp_server.py" in files, sorted(
        files
    )
    for rel, data in files.items():
        text = data.decode("utf-8")  # every generated text file is UTF-8 (B07 1)
        if rel.endswith(".py"):
            compile(text, rel, "exec", dont_inherit=True)  # U1
    # U3
    from openapi_spec_validator import validate

    oas = _oas(gen)
    validate(oas)
    for path, item in oas["paths"].items():
        for method in ("get", "put", "post", "delete", "patch", "head", "options"):
            if method not in item:
                continue
            declared = {
                p["name"]
                for p in _operation_params(oas, path, method)
                if p["in"] == "path" and p.get("required") is True
            }
            assert set(re.findall(r"\{([^}]*)\}", path)) <= declared, (path, method, declared)
    yaml_doc = yaml.safe_load((gen.out / gen.package / "openapi.yaml").read_text(encoding="utf-8"))
    assert yaml_doc == oas
    # U5
    assert gen.second is not None
    assert _tree(gen.second / "generated") == files, "two runs of GEN differ"


def check_failed(gen: Generation) -> None:
    """README rules for cases whose generation must fail."""
    assert gen.rc != 0, gen.stdout + gen.stderr
    assert gen.rc == 2, f"invalid input must exit 2, got {gen.rc}: {gen.stderr}"
    assert TRACEBACK not in gen.stderr + gen.stdout
    assert gen.yaml_path.name in gen.stderr
    assert not gen.out.exists() or not any(gen.out.iterdir())
    assert gen.cwd_left == []


@pytest.mark.parametrize("entry", INDEX, ids=[e["capability"] for e in INDEX])
def test_generation(generations: dict[str, Generation], entry: dict[str, Any]) -> None:
    gen = generations[entry["capability"]]
    if outcome(entry) == "generate":
        check_universal(gen)
    else:
        check_failed(gen)
    assert not MARKER.exists()


# --------------------------------------------------------------------------- runtime harness

DRIVER = r'''
import base64, importlib, json, os, sys, time
from contextlib import AsyncExitStack

import anyio


class StubLog:
    def __init__(self, path):
        self.path = path
        self.seen = len(self._lines())

    def _lines(self):
        if not self.path or not os.path.exists(self.path):
            return []
        with open(self.path, encoding="utf-8") as fh:
            return [line for line in fh.read().splitlines() if line.strip()]

    def new(self):
        lines = self._lines()
        fresh, self.seen = lines[self.seen:], len(lines)
        return [json.loads(line) for line in fresh]


def response(resp):
    data = resp.get_data()
    text = data.decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    return {"status": resp.status_code, "headers": [[k, v] for k, v in resp.headers.items()],
            "text": text, "json": parsed, "raw_b64": base64.b64encode(data).decode("ascii")}


async def run_group(package, group):
    log = StubLog(group.get("stub_log"))
    rest = importlib.import_module(f"generated.{package}.rest")
    mcp_server = importlib.import_module(f"generated.{package}.mcp_server")
    from mcp import Client

    if log.new():  # U2: importing only defines the app and the server
        raise RuntimeError("importing the generated modules sent upstream traffic")
    state = {}
    out = []
    async with AsyncExitStack() as stack:
        async def mcp_client():
            if "mcp" not in state:
                state["mcp"] = await stack.enter_async_context(Client(mcp_server.build_server()))
            return state["mcp"]

        for step in group["steps"]:
            started = time.monotonic()
            res = {}
            try:
                kind = step["do"]
                if kind == "create_app":
                    rest.create_app()
                    res["ok"] = True
                elif kind == "build_server":
                    mcp_server.build_server()
                    res["ok"] = True
                elif kind == "rest":
                    if "app" not in state:
                        state["app"] = rest.create_app()
                    kwargs = {"method": step.get("method", "GET"), "headers": step.get("headers", {})}
                    if "json" in step:
                        kwargs["data"] = json.dumps(step["json"], ensure_ascii=False).encode("utf-8")
                        kwargs["content_type"] = "application/json"
                    if "data" in step:
                        kwargs["data"] = step["data"].encode("utf-8")
                    if "content_type" in step:
                        kwargs["content_type"] = step["content_type"]
                    with state["app"].test_client() as client:
                        res.update(response(client.open(step["path"], **kwargs)))
                elif kind == "mcp_list":
                    client = await mcp_client()
                    listed = await client.list_tools()
                    res["tools"] = [t.model_dump(mode="json", by_alias=True, exclude_none=True)
                                    for t in listed.tools]
                    res["instructions"] = client.instructions
                elif kind == "mcp_call":
                    client = await mcp_client()
                    try:
                        r = await client.call_tool(step["name"], step.get("args", {}))
                    except Exception as exc:  # a JSON-RPC error
                        res["protocol_error"] = f"{type(exc).__name__}: {exc}"
                    else:
                        res["is_error"] = bool(r.is_error)
                        res["text"] = "\n".join(getattr(c, "text", "") for c in r.content)
                        res["structured"] = r.structured_content
                else:
                    raise ValueError(kind)
            except Exception as exc:
                res["exception"] = type(exc).__name__
                res["message"] = str(exc)
            res["elapsed"] = time.monotonic() - started
            res["stub"] = log.new()
            out.append(res)
    return out


def run_spec(spec_path, results_path):
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    results = []
    for group in spec["groups"]:
        for name in group.get("unset", []):
            os.environ.pop(name, None)
        os.environ.update(group.get("env", {}))
        results.append(anyio.run(run_group, spec["package"], group))
    with open(results_path, "w", encoding="utf-8") as fh:
        json.dump(results, fh, ensure_ascii=False)


def serve():
    """Fork server: the heavy imports happen once; every job runs in a fresh forked child,
    with its own environment, folder and sys.path, so each case's package is imported alone."""
    import mcp, flask, jsonschema  # noqa: F401  (warm the parent)

    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                fd = os.open(job["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                os.chdir(job["cwd"])
                os.environ.clear()
                os.environ.update(job["env"])
                sys.path.insert(0, job["pythonpath"])
                run_spec(job["spec"], job["results"])
                code = 0
            except BaseException:
                import traceback
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(json.dumps({"rc": os.waitstatus_to_exitcode(status)}) + "\n")
        sys.stdout.flush()


if sys.argv[1] == "--serve":
    serve()
else:
    run_spec(sys.argv[1], sys.argv[2])
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stub:
    """The recording upstream, on a free port, for the duration of a ``with`` block."""

    def __init__(self, folder: Path, routes: Path | None = None):
        self.port = free_port()
        self.log = folder / f"stub-{self.port}.jsonl"
        self.routes = routes
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        cmd = [sys.executable, str(STUB), "--port", str(self.port), "--log", str(self.log)]
        if self.routes is not None:
            cmd += ["--routes", str(self.routes)]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline().decode()
        assert "listening" in line, line
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def url(self, base_path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{base_path}"

    def records(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(x) for x in self.log.read_text(encoding="utf-8").splitlines() if x]


def consumes(gen: Generation) -> list[dict[str, Any]]:
    doc = yaml.safe_load(gen.yaml_path.read_text(encoding="utf-8"))
    return list(doc["capability"]["consumes"])


def base_url_var(namespace: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", namespace).strip("_").upper() + "_BASE_URL"


def upstream_env(gen: Generation, port: int) -> dict[str, str]:
    """Point every consumes namespace at 127.0.0.1:<port>, keeping the baseUri's base path."""
    env = {}
    for c in consumes(gen):
        path = urlsplit(c.get("baseUri") or "").path
        env[base_url_var(c["namespace"])] = f"http://127.0.0.1:{port}{path}"
    return env


@dataclass
class Run:
    groups: list[list[dict[str, Any]]]
    output: str  # combined stdout and stderr of the driver process


class ForkServer:
    """A driver process that has imported flask/mcp once and forks one child per job."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.driver = folder / "_driver.py"
        self.driver.write_text(DRIVER, encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, str(self.driver), "--serve"],
            cwd=folder,
            env=_base_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(
        self, spec: Path, results: Path, cwd: Path, pythonpath: Path, env: dict[str, str]
    ) -> tuple[int, str]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        output = results.with_suffix(".out")
        job = {
            "spec": str(spec),
            "results": str(results),
            "cwd": str(cwd),
            "output": str(output),
            "pythonpath": str(pythonpath),
            "env": env,
        }
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], 120)
        if not ready:
            self.proc.kill()
            FORK.pop("server", None)
            pytest.fail(f"driver job did not finish in 120 s: {spec}")
        line = self.proc.stdout.readline()
        assert line, "fork server died"
        return int(json.loads(line)["rc"]), output.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


FORK: dict[str, ForkServer] = {}


@pytest.fixture(scope="module", autouse=True)
def _fork_server():  # type: ignore[no-untyped-def]
    yield
    server = FORK.pop("server", None)
    if server is not None:
        server.close()


def _fork_server_for(base: Path) -> ForkServer:
    if "server" not in FORK:
        FORK["server"] = ForkServer(base)
    return FORK["server"]


def drive(gen: Generation, groups: list[dict[str, Any]], *, locale: bool = False) -> Run:
    """Run ``groups`` (each: env, unset, stub_log, steps) in a fresh process of their own.

    Normally a child forked from a warm driver (no ``generated`` package is ever imported in the
    parent); with ``locale`` a new interpreter started in the C locale.
    """
    run_dir = gen.root / f"run-{time.monotonic_ns()}"
    run_dir.mkdir()
    spec = run_dir / "spec.json"
    spec.write_text(json.dumps({"package": gen.package, "groups": groups}), encoding="utf-8")
    results = gen.root / f"results-{run_dir.name}.json"
    env = _base_env()
    if locale:
        env.update(C_LOCALE)
        env["PYTHONPATH"] = str(gen.root)
        driver = gen.root / "_driver.py"
        driver.write_text(DRIVER, encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, str(driver), str(spec), str(results)],
            check=False,
            cwd=run_dir,
            env=env,
            capture_output=True,
            timeout=120,
        )
        rc = proc.returncode
        output = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    else:
        rc, output = _fork_server_for(gen.root.parent).run(spec, results, run_dir, gen.root, env)
    assert rc == 0, output
    leftovers = [p.name for p in run_dir.iterdir() if p.name != "spec.json"]
    assert leftovers == [], f"importing/running the package created files: {leftovers}"
    data = json.loads(results.read_text(encoding="utf-8"))
    for group in data:
        for res in group:
            assert "exception" not in res or res["exception"] == "ConfigurationError", res
            visible = {k: v for k, v in res.items() if k != "stub"}
            assert TRACEBACK not in json.dumps(visible, ensure_ascii=False), res  # U4
    assert TRACEBACK not in output
    return Run(data, output)


def simple(
    gen: Generation, stub: Stub, steps: list[dict[str, Any]], **env: str
) -> list[dict[str, Any]]:
    group = {
        "env": {**upstream_env(gen, stub.port), **env},
        "stub_log": str(stub.log),
        "steps": steps,
    }
    return drive(gen, [group], locale=gen.rel.split("/")[0] in LOCALE_CASES).groups[0]


def rest(path: str, method: str = "GET", **kw: Any) -> dict[str, Any]:
    return {"do": "rest", "method": method, "path": path, **kw}


def call(name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"do": "mcp_call", "name": name, "args": args or {}}


LIST = {"do": "mcp_list"}


def tool(listing: dict[str, Any], name: str) -> dict[str, Any]:
    found = [t for t in listing["tools"] if t["name"] == name]
    assert len(found) == 1, [t["name"] for t in listing["tools"]]
    return found[0]


def one(res: dict[str, Any]) -> dict[str, Any]:
    assert len(res["stub"]) == 1, res
    return res["stub"][0]


def header_values(record: dict[str, Any], name: str) -> list[str]:
    return [v for k, v in record["headers"] if k.lower() == name.lower()]


def body_json(record: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(record["body_b64"]).decode("utf-8"))


def ok_tool(res: dict[str, Any]) -> None:
    assert "protocol_error" not in res and res["is_error"] is False, res


def rejected_tool(res: dict[str, Any], name: str) -> None:
    assert res.get("is_error") is True or "protocol_error" in res, res
    assert name in (res.get("text") or res.get("protocol_error", "")), res
    assert res["stub"] == []


def tool_payload(res: dict[str, Any]) -> Any:
    """The structured content (unwrapping a ``result`` wrapper), else the JSON text."""
    structured = res.get("structured")
    if structured is not None:
        if set(structured) == {"result"}:
            return structured["result"]
        return structured
    return json.loads(res["text"])


def start_process(gen: Generation, module: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    full = _base_env()
    full["PYTHONPATH"] = str(gen.root)
    full.update(env)
    return subprocess.Popen(
        [sys.executable, "-m", f"generated.{gen.package}.{module}", "--port", str(free_port())],
        cwd=gen.root,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def refuses_to_start(gen: Generation, variable: str, env: dict[str, str]) -> None:
    """``python -m generated.<pkg>.rest`` and ``.mcp_server`` exit non-zero within 10 s naming it."""
    procs = [start_process(gen, m, env) for m in ("rest", "mcp_server")]
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail(f"{proc.args} started although {variable} is missing")
        text = out.decode("utf-8", "replace")
        assert proc.returncode != 0, text
        assert variable in text and TRACEBACK not in text, text
        assert SECRET not in text


# --------------------------------------------------------------------------- case checks


def b01(gen: Generation, stub: Stub) -> None:
    full = "from=2026-01-01&to=2026-01-31&in=UTC&type=lecture&self=me&request=r-1&json=compact"
    r_full, r_from, listing, r_mcp = simple(
        gen,
        stub,
        [
            rest(f"/v1/courses/c-101/events?{full}"),
            rest("/v1/courses/c-101/events?from=2026-01-01"),
            LIST,
            call(
                "list-course-events",
                {
                    "class": "c-101",
                    "from": "2026-01-01",
                    "in": "UTC",
                    "request": "r-2",
                    "json": "full",
                },
            ),
        ],
    )
    assert r_full["status"] == 200, r_full
    rec = one(r_full)
    assert rec["raw_path"] == "/courses/c-101/events"
    assert rec["query"] == {
        "from": ["2026-01-01"],
        "to": ["2026-01-31"],
        "in": ["UTC"],
        "type": ["lecture"],
        "self": ["me"],
        "request": ["r-1"],
        "json": ["compact"],
    }
    assert r_from["status"] == 200 and one(r_from)["query"] == {"from": ["2026-01-01"]}
    schema = tool(listing, "list-course-events")["inputSchema"]
    assert set(schema["properties"]) == {
        "class",
        "from",
        "to",
        "in",
        "type",
        "self",
        "request",
        "json",
    }
    assert schema["required"] == ["class"]
    ok_tool(r_mcp)
    rec = one(r_mcp)
    assert rec["raw_path"] == "/courses/c-101/events"
    assert rec["query"] == {
        "from": ["2026-01-01"],
        "in": ["UTC"],
        "request": ["r-2"],
        "json": ["full"],
    }
    oas = _oas(gen)
    path = "/v1/courses/{class}/events"
    assert _param(oas, path, "get", "class")["in"] == "path"
    for name in ("from", "to", "in", "type", "self", "request", "json"):
        assert _param(oas, path, "get", name)["in"] == "query"
    # No generated signature uses a keyword as a bare parameter (it would not compile anyway).
    for py in (gen.out / gen.package).glob("*.py"):
        for node in ast.walk(ast.parse(py.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                names = {a.arg for a in node.args.args + node.args.kwonlyargs}
                assert not names & {"class", "from", "in"}


def b02_plain(gen: Generation, stub: Stub) -> None:
    ok, missing, listing, r_mcp = simple(
        gen,
        stub,
        [
            rest(
                "/v1/tickets?sort-by=created&2fa-code=123456&per_page=5",
                headers={"x-api-key": "k-1"},
            ),
            rest("/v1/tickets?sort-by=created&2fa-code=123456&per_page=5"),
            LIST,
            call("list-tickets", {"sort-by": "created", "2fa-code": "000111", "x-api-key": "k-2"}),
        ],
    )
    assert ok["status"] == 200, ok
    rec = one(ok)
    assert rec["query"] == {"sort-by": ["created"], "2fa-code": ["123456"], "per_page": ["5"]}
    assert header_values(rec, "x-api-key") == ["k-1"]
    assert missing["status"] == 400 and missing["stub"] == [], missing
    schema = tool(listing, "list-tickets")["inputSchema"]
    assert set(schema["properties"]) == {"sort-by", "2fa-code", "x-api-key", "per_page"}
    assert schema["required"] == ["x-api-key"]
    ok_tool(r_mcp)
    rec = one(r_mcp)
    assert rec["query"] == {"sort-by": ["created"], "2fa-code": ["000111"]}
    assert header_values(rec, "x-api-key") == ["k-2"]
    oas = _oas(gen)
    assert _param(oas, "/v1/tickets", "get", "sort-by")["in"] == "query"
    assert _param(oas, "/v1/tickets", "get", "2fa-code")["in"] == "query"
    per_page = _param(oas, "/v1/tickets", "get", "per_page")
    assert per_page["in"] == "query" and per_page["schema"]["type"] == "integer"
    key = _param(oas, "/v1/tickets", "get", "x-api-key")
    assert key["in"] == "header" and key["required"] is True


def b02_brackets(gen: Generation, stub: Stub) -> None:
    args = {"page[size]": 10, "page[number]": 2, "filter.status": "open"}
    expected = {"page[size]": ["10"], "page[number]": ["2"], "filter.status": ["open"]}
    r_rest, listing, r_mcp = simple(
        gen,
        stub,
        [
            rest("/v1/tickets?page%5Bsize%5D=10&page%5Bnumber%5D=2&filter.status=open"),
            LIST,
            call("list-tickets", args),
        ],
    )
    assert r_rest["status"] == 200 and one(r_rest)["query"] == expected
    assert set(tool(listing, "list-tickets")["inputSchema"]["properties"]) == set(args)
    ok_tool(r_mcp)
    assert one(r_mcp)["query"] == expected


def b03(gen: Generation, stub: Stub) -> None:
    ok, literal, listing, r_mcp = simple(
        gen,
        stub,
        [
            rest("/v1/projects/p-1/members/m-2"),
            rest("/v1/projects/%7Bproject-id%7D/members/m-2"),
            LIST,
            call("get-project-member", {"project_id": "p-9", "member_id": "m-8"}),
        ],
    )
    assert ok["status"] == 200 and one(ok)["raw_path"] == "/projects/p-1/members/m-2"
    for rec in literal["stub"]:
        assert "project_id" not in rec["raw_target"], rec
    assert [r["raw_path"] for r in literal["stub"]] == ["/projects/%7Bproject-id%7D/members/m-2"]
    schema = tool(listing, "get-project-member")["inputSchema"]
    assert schema["properties"]["project_id"]["type"] == "string"
    assert schema["properties"]["member_id"]["type"] == "string"
    assert {"project_id", "member_id"} <= set(schema["required"])
    ok_tool(r_mcp)
    assert one(r_mcp)["raw_path"] == "/projects/p-9/members/m-8"
    oas = _oas(gen)
    path = "/v1/projects/{project-id}/members/{member-id}"
    assert path in oas["paths"]
    names = {p["name"] for p in _operation_params(oas, path, "get") if p["in"] == "path"}
    assert names == {"project-id", "member-id"}


def b04(gen: Generation, stub: Stub) -> None:
    ok, listing, partial, full = simple(
        gen,
        stub,
        [
            rest("/v1/projects/p-1/tasks/t-1/runs"),
            LIST,
            call("list-task-runs", {"task_id": "t-1"}),
            call("list-task-runs", {"project_id": "p-2", "task_id": "t-3"}),
        ],
    )
    assert ok["status"] == 200 and one(ok)["raw_path"] == "/projects/p-1/tasks/t-1/runs/"
    assert {"project_id", "task_id"} <= set(
        tool(listing, "list-task-runs")["inputSchema"]["required"]
    )
    rejected_tool(partial, "project_id")
    ok_tool(full)
    assert one(full)["raw_path"] == "/projects/p-2/tasks/t-3/runs/"
    for rec in stub.records():
        target = rec["raw_target"].lower()
        assert "{project_id}" not in target and "%7bproject_id%7d" not in target
        assert "//tasks/" not in target and "/projects/tasks/" not in target
    oas = _oas(gen)
    path = "/v1/projects/{project-id}/tasks/{task-id}/runs"
    for name in ("project-id", "task-id"):
        param = _param(oas, path, "get", name)
        assert param["in"] == "path" and param["required"] is True


def b05(gen: Generation, stub: Stub) -> None:
    source = yaml.safe_load(gen.yaml_path.read_text(encoding="utf-8"))
    cap = source["capability"]
    for py in gen.out.rglob("*.py"):
        for node in ast.walk(ast.parse(py.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                assert fname not in ("system", "__import__"), (py, ast.dump(node))
    oas = _oas(gen)
    assert oas["info"]["title"] == source["info"]["label"]
    assert oas["info"]["description"] == source["info"]["description"]
    exposed_op = cap["exposes"][0]["resources"][0]["operations"][0]
    assert oas["paths"]["/v1/widgets"]["get"]["description"] == exposed_op["description"]
    consumed = {
        p["name"]: p for p in cap["consumes"][0]["resources"][0]["operations"][0]["inputParameters"]
    }
    for name in ("folder", "label"):
        assert (
            _param(oas, "/v1/widgets", "get", name)["description"] == consumed[name]["description"]
        )
    r_rest, listing, r_mcp = simple(
        gen,
        stub,
        [rest("/v1/widgets?folder=a&label=b"), LIST, call("list-widgets", {"folder": "a"})],
    )
    assert r_rest["status"] == 200 and one(r_rest)["query"] == {"folder": ["a"], "label": ["b"]}
    listed = tool(listing, "list-widgets")
    mcp = cap["exposes"][1]
    assert listed["description"] == mcp["tools"][0]["description"]
    props = listed["inputSchema"]["properties"]
    assert props["folder"]["description"] == "Folder such as C:\\widgets\\"
    assert props["label"]["description"] == consumed["label"]["description"]
    if listing["instructions"] is not None:
        assert listing["instructions"] == mcp["description"]
    ok_tool(r_mcp)
    assert not MARKER.exists()


def b07(gen: Generation, stub: Stub) -> None:
    source = yaml.safe_load(gen.yaml_path.read_text(encoding="utf-8"))
    oas = _oas(gen)
    assert oas["info"]["title"] == "Café Menu API — naïve résumé ✓"
    assert oas["info"]["description"] == source["info"]["description"]
    assert _param(oas, "/v1/dishes", "get", "category")["description"] == (
        "Категория блюда (например «суп»)."
    )
    dish = {"name": "Pho bò", "tags": ["nước dùng", "🍜"]}
    r_list, r_post, listing, r_create, r_mcp_list = simple(
        gen,
        stub,
        [
            rest("/v1/dishes?category=%D1%81%D1%83%D0%BF"),
            rest("/v1/dishes", "POST", json=dish),
            LIST,
            call("create-dish", {"body": {"name": "Ramen 拉麺"}}),
            call("list-dishes", {"category": "суп"}),
        ],
    )
    upstream = {"items": [{"name": "Crème brûlée", "note": "très bon — 甘い 🍮"}]}
    assert r_list["status"] == 200 and r_list["json"] == upstream, r_list
    assert one(r_list)["query"] == {"category": ["суп"]}
    rec = one(r_post)
    assert body_json(rec) == dish
    ctype = header_values(rec, "content-type")[0].lower()
    assert "json" in ctype and ("charset" not in ctype or "charset=utf-8" in ctype)
    assert (
        tool(listing, "list-dishes")["description"] == "Liste des plats — filtrée par catégorie 🍜."
    )
    body = tool(listing, "create-dish")["inputSchema"]["properties"]["body"]
    assert body["description"] == "料理のデータ (JSON)."
    ok_tool(r_create)
    assert body_json(one(r_create)) == {"name": "Ramen 拉麺"}
    ok_tool(r_mcp_list)
    assert "Crème brûlée" in r_mcp_list["text"]


def b10(gen: Generation, stub: Stub) -> None:
    body = {"id": "w-OTHER", "version": 99, "name": "Gear"}
    r_put, listing, r_mcp, r_nover = simple(
        gen,
        stub,
        [
            rest("/v1/widgets/w-1?version=3", "PUT", json=body),
            LIST,
            call(
                "update-widget",
                {
                    "id": "w-2",
                    "version": 4,
                    "body": {"id": "w-OTHER", "version": 100, "name": "Cog"},
                },
            ),
            rest("/v1/widgets/w-1", "PUT", json=body),
        ],
    )
    rec = one(r_put)
    assert (rec["method"], rec["raw_path"], rec["query"]) == (
        "PUT",
        "/widgets/w-1",
        {"version": ["3"]},
    )
    assert body_json(rec) == body
    schema = tool(listing, "update-widget")["inputSchema"]
    assert schema["properties"]["id"]["type"] == "string"
    assert schema["properties"]["version"]["type"] == "integer"
    assert schema["properties"]["body"]["type"] == "object"
    assert {"id", "version", "body"} <= set(schema["required"])
    ok_tool(r_mcp)
    rec = one(r_mcp)
    assert (rec["raw_path"], rec["query"]) == ("/widgets/w-2", {"version": ["4"]})
    assert body_json(rec) == {"id": "w-OTHER", "version": 100, "name": "Cog"}
    assert r_nover["status"] == 400 and r_nover["stub"] == [], r_nover


def b12(gen: Generation, stub: Stub) -> None:
    full, bare, listing, r_mcp = simple(
        gen,
        stub,
        [
            rest(
                "/v1/reports/r-1",
                headers={
                    "X-Request-Id": "req-123",
                    "Accept-Language": "fr-CA",
                    "Authorization": "Bearer caller-token",
                },
            ),
            rest("/v1/reports/r-1"),
            LIST,
            call("get-report", {"report_id": "r-2", "X-Request-Id": "req-9"}),
        ],
        EXAMPLE_API_KEY="sk-test-B12",
    )
    rec = one(full)
    assert rec["raw_path"] == "/reports/r-1"
    assert header_values(rec, "X-Request-Id") == ["req-123"]
    assert header_values(rec, "Accept-Language") == ["fr-CA"]
    assert header_values(rec, "Authorization") == ["Bearer sk-test-B12"]
    for name, _ in rec["headers"]:
        assert name.lower() not in ("x_request_id", "xrequestid")
    rec = one(bare)
    assert header_values(rec, "X-Request-Id") == []
    assert header_values(rec, "Authorization") == ["Bearer sk-test-B12"]
    schema = tool(listing, "get-report")["inputSchema"]
    assert {"X-Request-Id", "Accept-Language", "report_id"} <= set(schema["properties"])
    assert "report_id" in schema["required"]
    assert not {"X-Request-Id", "Accept-Language"} & set(schema.get("required", []))
    ok_tool(r_mcp)
    rec = one(r_mcp)
    assert header_values(rec, "X-Request-Id") == ["req-9"]
    assert header_values(rec, "Authorization") == ["Bearer sk-test-B12"]
    assert header_values(rec, "Accept-Language") == []
    oas = _oas(gen)
    for name in ("X-Request-Id", "Accept-Language"):
        assert _param(oas, "/v1/reports/{report_id}", "get", name)["in"] == "header"
    names = {p["name"].lower() for p in _operation_params(oas, "/v1/reports/{report_id}", "get")}
    assert "authorization" not in names


def b12_apikey(gen: Generation, stub: Stub) -> None:
    r_rest, r_mcp = simple(
        gen, stub, [rest("/v1/reports"), call("list-reports")], EXAMPLE_API_KEY="sk-test-B12"
    )
    assert r_rest["status"] == 200
    assert header_values(one(r_rest), "Authorization") == ["sk-test-B12"]
    ok_tool(r_mcp)
    assert header_values(one(r_mcp), "Authorization") == ["sk-test-B12"]


def b13_trailing(gen: Generation, stub: Stub) -> None:
    r_list, r_get, r_mcp, r_post = simple(
        gen,
        stub,
        [
            rest("/v1/runs"),
            rest("/v1/runs/r-1"),
            call("get-run", {"run_id": "r-2"}),
            rest("/v1/runs", "POST", json={"name": "x"}),
        ],
    )
    assert r_list["status"] == 200, r_list  # answered directly, no redirect
    assert one(r_list)["raw_path"] == "/api/v2/runs/"
    assert one(r_get)["raw_path"] == "/api/v2/runs/r-1/"
    ok_tool(r_mcp)
    assert one(r_mcp)["raw_path"] == "/api/v2/runs/r-2/"
    rec = one(r_post)
    assert (rec["method"], rec["raw_path"]) == ("POST", "/api/v2/runs/")
    assert body_json(rec) == {"name": "x"}


def b13_empty(gen: Generation, stub: Stub) -> None:
    # Policy (DECISIONS.md): an empty baseUri makes RUNS_BASE_URL required; the adapters refuse to
    # start without it (instead of answering 5xx per call, as expect.md's policy B describes).
    variable = "RUNS_BASE_URL"
    oas = _oas(gen)
    assert all(server.get("url") for server in oas.get("servers", []))
    assert variable in (gen.out / gen.package / "README.md").read_text(encoding="utf-8")
    assert variable in gen.stderr  # the generation diagnostic
    run = drive(
        gen,
        [
            {
                "unset": [variable],
                "stub_log": str(stub.log),
                "steps": [{"do": "create_app"}, {"do": "build_server"}],
            },
            {
                "env": {variable: stub.url()},
                "stub_log": str(stub.log),
                "steps": [rest("/v1/runs"), call("list-runs")],
            },
        ],
    )
    (no_app, no_server), (r_rest, r_mcp) = run.groups
    for res in (no_app, no_server):
        assert res.get("exception") == "ConfigurationError" and variable in res["message"], res
        assert res["stub"] == []
    refuses_to_start(gen, variable, {})
    assert r_rest["status"] == 200 and one(r_rest)["raw_path"] == "/runs/"
    ok_tool(r_mcp)
    assert one(r_mcp)["raw_path"] == "/runs/"


B14_ROWS = {
    # id: (REST statuses, REST body text, MCP error?, MCP text fragments)
    "ok": ({200}, "Sprocket", False, ["Sprocket"]),
    "missing": ({404}, "gadget not found", True, ["404", "gadget not found"]),
    "invalid": ({422, 400}, "must be numeric", True, ["422", "must be numeric"]),
    "throttled": ({429}, "", True, ["429"]),
    "boom": ({502, 500}, "", True, ["500"]),
    "html": ({502}, "", True, []),
    "empty": ({204, 200}, "", False, []),
    "slow": ({504, 502}, "", True, []),
}


def b14(gen: Generation, stub: Stub) -> None:
    ids = [*B14_ROWS, "ok"]  # "ok" again last: one failure does not poison the client
    steps: list[dict[str, Any]] = []
    for gid in ids:
        steps += [rest(f"/v1/gadgets/{gid}"), call("get-gadget", {"gadget_id": gid})]
    results = simple(gen, stub, steps, CAPGEN_UPSTREAM_TIMEOUT="2")
    for i, gid in enumerate(ids):
        r_rest, r_mcp = results[2 * i], results[2 * i + 1]
        statuses, fragment, mcp_error, texts = B14_ROWS[gid]
        assert r_rest["status"] in statuses, (gid, r_rest)
        assert fragment in r_rest["text"], (gid, r_rest)
        assert "protocol_error" not in r_mcp, (gid, r_mcp)
        assert r_mcp["is_error"] is mcp_error, (gid, r_mcp)
        for text in texts:
            assert text in r_mcp["text"], (gid, r_mcp)
        if r_rest["status"] >= 400:
            ctype = {k.lower(): v for k, v in r_rest["headers"]}.get("content-type", "")
            assert "json" in ctype, (gid, r_rest)
        assert r_rest["elapsed"] < 10 and r_mcp["elapsed"] < 10, (gid, r_rest, r_mcp)
    by_id = dict(zip(ids, zip(results[0::2], results[1::2])))
    assert by_id["ok"][0]["json"] == {"id": "ok", "name": "Sprocket"}
    rest_throttled = {k.lower(): v for k, v in by_id["throttled"][0]["headers"]}
    assert rest_throttled.get("retry-after") == "7"
    assert "not json" in by_id["html"][0]["text"].lower()
    assert "not json" in by_id["html"][1]["text"].lower()
    assert "tim" in by_id["slow"][1]["text"].lower()  # "timeout" / "timed out"
    assert results[-2]["status"] == 200 and results[-1]["is_error"] is False


def b14_unreachable(gen: Generation, stub: Stub) -> None:
    closed = free_port()
    run = drive(
        gen,
        [
            {
                "env": {"GADGETS_BASE_URL": f"http://127.0.0.1:{closed}"},
                "steps": [rest("/v1/gadgets/ok"), call("get-gadget", {"gadget_id": "ok"})],
            }
        ],
    )
    r_rest, r_mcp = run.groups[0]
    assert r_rest["status"] in (502, 503) and r_rest["json"] is not None, r_rest
    assert r_rest["elapsed"] < 5
    assert "protocol_error" not in r_mcp and r_mcp["is_error"] is True, r_mcp
    assert r_mcp["elapsed"] < 5
    assert "reach" in r_mcp["text"].lower() or "connect" in r_mcp["text"].lower(), r_mcp


def b16(gen: Generation, stub: Stub) -> None:
    full = {"title": "t", "tags": ["a"], "n": 1.5, "ok": False, "none": None}
    bulk = [{"title": "a"}, {"title": "b"}]
    results = simple(
        gen,
        stub,
        [
            rest("/v1/notes", "POST", data='{"title": ', content_type="application/json"),
            rest("/v1/notes", "POST", data="hello", content_type="text/plain"),
            rest("/v1/notes", "POST", data='"just a string"', content_type="application/json"),
            rest("/v1/notes", "POST"),
            rest("/v1/notes", "POST", json=full),
            rest("/v1/notes/bulk", "POST", json=bulk),
            rest("/v1/notes/n-1/archive", "POST"),
            LIST,
            call("create-note", {"body": {"title": "t"}}),
            call("create-note", {"body": '{"title":"t"}'}),
            call("bulk-create-notes", {"body": [{"title": "a"}]}),
        ],
    )
    bad_json, plain, string, nobody, r_full, r_bulk, archive, listing, m1, m_str, m_bulk = results
    assert bad_json["status"] == 400 and "json" in bad_json["text"].lower(), bad_json
    assert plain["status"] in (415, 400)
    assert string["status"] == 400
    assert nobody["status"] == 400
    for res in (bad_json, plain, string, nobody):
        assert res["stub"] == [] and res["json"] is not None, res
    rec = one(r_full)
    assert "application/json" in header_values(rec, "content-type")[0]
    assert body_json(rec) == full
    assert body_json(one(r_bulk)) == bulk
    rec = one(archive)
    assert rec["raw_path"] == "/notes/n-1/archive" and rec["body_b64"] == ""
    body = tool(listing, "create-note")["inputSchema"]["properties"]["body"]
    assert body["type"] == "object"
    body = tool(listing, "bulk-create-notes")["inputSchema"]["properties"]["body"]
    assert body["type"] == "array" and isinstance(body.get("items"), dict)
    ok_tool(m1)
    assert body_json(one(m1)) == {"title": "t"}
    if m_str.get("is_error") or "protocol_error" in m_str:
        assert m_str["stub"] == []
    else:
        assert body_json(one(m_str)) == {"title": "t"}
    ok_tool(m_bulk)
    assert body_json(one(m_bulk)) == [{"title": "a"}]


def b16_form(gen: Generation, stub: Stub) -> None:
    r_rest, r_mcp = simple(gen, stub, [rest("/v1/token", "POST"), call("get-token")])
    ok_tool(r_mcp)
    for res in (r_rest, r_mcp):
        rec = one(res)
        assert header_values(rec, "content-type")[0].startswith("application/x-www-form-urlencoded")
        body = base64.b64decode(rec["body_b64"]).decode("utf-8")
        assert parse_qs(body) == {
            "grant_type": ["client_credentials"],
            "audience": ["example-audience"],
        }


def _no_secret(run: Run) -> None:
    assert SECRET not in run.output
    for group in run.groups:
        for res in group:
            assert SECRET not in json.dumps({k: v for k, v in res.items() if k != "stub"})


def b17(gen: Generation, stub: Stub) -> None:
    # Generated files never contain the secret (the second run had it in its environment).
    for root in (gen.out, gen.second / "generated"):  # type: ignore[operator]
        for data in _tree(root).values():
            assert SECRET.encode() not in data
    assert SECRET not in gen.stdout + gen.stderr
    # Policy A: the adapters refuse to start without the secret (unset or empty).
    refuses_to_start(gen, "EXAMPLE_API_KEY", {})
    refuses_to_start(gen, "EXAMPLE_API_KEY", {"EXAMPLE_API_KEY": ""})
    starts = [{"do": "create_app"}, {"do": "build_server"}]
    run = drive(
        gen,
        [
            {
                "unset": ["EXAMPLE_API_KEY"],
                "env": upstream_env(gen, stub.port),
                "stub_log": str(stub.log),
                "steps": starts,
            },
            {"env": {"EXAMPLE_API_KEY": ""}, "stub_log": str(stub.log), "steps": starts},
            {
                "env": {"EXAMPLE_API_KEY": SECRET},
                "stub_log": str(stub.log),
                "steps": [rest("/v1/invoices"), call("list-invoices")],
            },
        ],
    )
    for res in run.groups[0] + run.groups[1]:
        assert res.get("exception") == "ConfigurationError", res
        assert "EXAMPLE_API_KEY" in res["message"] and res["stub"] == []
    r_rest, r_mcp = run.groups[2]
    assert r_rest["status"] == 200
    assert header_values(one(r_rest), "Authorization") == [f"Bearer {SECRET}"]
    ok_tool(r_mcp)
    assert header_values(one(r_mcp), "Authorization") == [f"Bearer {SECRET}"]
    _no_secret(run)
    oas_text = (gen.out / gen.package / "openapi.json").read_text(encoding="utf-8")
    assert SECRET not in oas_text
    params = _operation_params(_oas(gen), "/v1/invoices", "get")
    assert not [p for p in params if p["name"].lower() in ("authorization", "example_api_key")]


def b17_query_key(gen: Generation, stub: Stub) -> None:
    closed = free_port()
    run = drive(
        gen,
        [
            {
                "env": {
                    "EXAMPLE_API_KEY": SECRET,
                    "BILLING_BASE_URL": f"http://127.0.0.1:{closed}",
                },
                "steps": [rest("/v1/invoices"), call("list-invoices")],
            }
        ],
    )
    r_rest, r_mcp = run.groups[0]
    assert r_rest["status"] in (502, 503) and r_rest["json"] is not None and r_rest["elapsed"] < 5
    assert r_mcp.get("is_error") is True and r_mcp["elapsed"] < 5, r_mcp
    _no_secret(run)


def b21(gen: Generation, stub: Stub) -> None:
    import jsonschema

    listing, r_ping, r_delete, r_get = simple(
        gen,
        stub,
        [LIST, call("ping"), call("delete-note", {"note_id": "n-1"}), call("get-note")],
    )
    tools = {t["name"]: t for t in listing["tools"]}
    assert set(tools) == {"ping", "get-note", "delete-note", "create-note"}
    ping = tools["ping"]
    assert ping["inputSchema"]["type"] == "object" and ping["inputSchema"]["properties"] == {}
    assert ping["inputSchema"].get("required", []) == []
    assert ping["annotations"] == {
        "readOnlyHint": True,
        "destructiveHint": False,
        "idempotentHint": True,
        "openWorldHint": False,
    } | {k: v for k, v in ping["annotations"].items() if k == "title"}
    source = yaml.safe_load(gen.yaml_path.read_text(encoding="utf-8"))
    consumed = {
        p["name"]: p
        for r in source["capability"]["consumes"][0]["resources"]
        for o in r["operations"]
        if o["name"] == "getnote"
        for p in o["inputParameters"]
    }
    get = tools["get-note"]
    schema = get["inputSchema"]
    assert schema["type"] == "object" and sorted(schema["required"]) == ["note_id"]
    props = schema["properties"]
    assert props["note_id"]["type"] == "string"
    assert props["fields"]["type"] == "array" and isinstance(props["fields"].get("items"), dict)
    assert props["revision"]["type"] == "integer"
    for name, prop in props.items():
        assert prop.get("description") == consumed[name].get("description"), name
    ann = get["annotations"]
    assert ann["readOnlyHint"] is True
    for hint, default in (
        ("destructiveHint", True),
        ("idempotentHint", False),
        ("openWorldHint", True),
    ):
        assert ann.get(hint, default) == default, hint
    delete = tools["delete-note"]
    assert "Delete a note" in (delete.get("title"), delete.get("annotations", {}).get("title"))
    ann = delete["annotations"]
    assert (ann["readOnlyHint"], ann["destructiveHint"], ann["idempotentHint"]) == (
        False,
        True,
        True,
    )
    assert delete["inputSchema"]["required"] == ["note_id"]
    create = tools["create-note"]
    assert (create.get("annotations") or {}).get("readOnlyHint") is not True
    assert create["inputSchema"]["properties"]["body"]["type"] == "object"
    assert create["inputSchema"]["required"] == ["body"]
    for t in tools.values():
        jsonschema.Draft202012Validator.check_schema(t["inputSchema"])
        assert t["inputSchema"]["type"] == "object"
        for prop in t["inputSchema"]["properties"].values():
            assert "type" in prop
            if prop["type"] == "array":
                assert "items" in prop
    jsonschema.validate({}, ping["inputSchema"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({}, schema)
    ok_tool(r_ping)
    assert one(r_ping)["raw_path"] == "/ping"
    ok_tool(r_delete)
    rec = one(r_delete)
    assert (rec["method"], rec["raw_path"]) == ("DELETE", "/notes/n-1")
    rejected_tool(r_get, "note_id")


def b22(gen: Generation, stub: Stub) -> None:
    upstream = {
        "data": [
            {"id": "n1", "title": "First", "extra": 1},
            {"id": "n2", "title": "Second", "extra": 2},
        ],
        "meta": {"total": 2, "has_more": False},
    }
    first = {
        "first_id": "n1",
        "first_title": "First",
        "total": 2,
        "has_more": False,
        "missing": None,
    }
    empty_routes = gen.root / "b22-empty-routes.json"
    empty_routes.write_text(
        json.dumps([{"method": "GET", "path_regex": "^/notes$", "json": {"data": [], "meta": {}}}]),
        encoding="utf-8",
    )
    with Stub(gen.root, empty_routes) as empty:
        run = drive(
            gen,
            [
                {
                    "env": upstream_env(gen, stub.port),
                    "stub_log": str(stub.log),
                    "steps": [
                        rest("/v1/notes"),
                        rest("/v1/notes/first"),
                        rest("/v1/notes/titles"),
                        call("first-note"),
                        call("list-notes"),
                    ],
                },
                {
                    "env": upstream_env(gen, empty.port),
                    "stub_log": str(empty.log),
                    "steps": [rest("/v1/notes/first")],
                },
            ],
        )
    (r_all, r_first, r_titles, m_first, m_all), (r_empty,) = run.groups

    def same(got: Any, want: dict[str, Any]) -> None:
        # A product may omit keys whose path does not exist (`missing`).
        assert got == want or got == {k: v for k, v in want.items() if k != "missing"}, got

    assert r_all["status"] == 200 and r_all["json"] == upstream
    assert r_first["status"] == 200
    same(r_first["json"], first)
    assert r_first["json"]["has_more"] is False and r_first["json"]["total"] == 2
    assert r_titles["status"] == 200
    assert r_titles["json"] == [{"id": "n1", "title": "First"}, {"id": "n2", "title": "Second"}]
    ok_tool(m_first)
    same(tool_payload(m_first), first)
    ok_tool(m_all)
    assert tool_payload(m_all) == upstream
    assert r_empty["status"] == 200, r_empty
    assert all(v is None for v in r_empty["json"].values())
    assert set(r_empty["json"]) <= set(first)
    oas = _oas(gen)
    schema = oas["paths"]["/v1/notes/first"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    schema = _resolve(oas, schema)
    assert schema["type"] == "object"
    types_ = {k: _resolve(oas, v).get("type") for k, v in schema["properties"].items()}
    assert types_ == {
        "first_id": "string",
        "first_title": "string",
        "total": "number",
        "has_more": "boolean",
        "missing": "string",
    }
    titles = _resolve(
        oas,
        oas["paths"]["/v1/notes/titles"]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ],
    )
    assert titles["type"] == "array"
    assert {"id", "title"} <= set(_resolve(oas, titles["items"])["properties"])


def _resolve(oas: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = oas
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


RUNTIME_CHECKS = {
    "B01/capability.yaml": b01,
    "B02/capability.yaml": b02_plain,
    "B02/capability-brackets.yaml": b02_brackets,
    "B03/capability.yaml": b03,
    "B04/capability.yaml": b04,
    "B05/capability.yaml": b05,
    "B07/capability.yaml": b07,
    "B10/capability.yaml": b10,
    "B12/capability.yaml": b12,
    "B12/capability-apikey-authorization.yaml": b12_apikey,
    "B13/capability-trailing-slash.yaml": b13_trailing,
    "B13/capability.yaml": b13_empty,
    "B14/capability.yaml": b14,
    "B14/capability-unreachable.yaml": b14_unreachable,
    "B16/capability.yaml": b16,
    "B16/capability-form.yaml": b16_form,
    "B17/capability.yaml": b17,
    "B17/capability-query-key.yaml": b17_query_key,
    "B21/capability.yaml": b21,
    "B22/capability.yaml": b22,
}

GENERATING = [e for e in INDEX if outcome(e) == "generate"]


@pytest.mark.parametrize("entry", GENERATING, ids=[e["capability"] for e in GENERATING])
def test_runtime(generations: dict[str, Generation], entry: dict[str, Any]) -> None:
    gen = generations[entry["capability"]]
    assert gen.rc == 0, gen.stderr
    check = RUNTIME_CHECKS.get(entry["capability"])
    assert check is not None, f"no runtime checks written for {entry['capability']}"
    routes = CASES / entry["stub_routes"] if entry["stub_routes"] else None
    with Stub(gen.root, routes) as stub:
        check(gen, stub)
    assert not MARKER.exists()


# --------------------------------------------------------------------------- failure diagnostics


def _named(stderr: str, dotted: str) -> bool:
    pointer = "/" + re.sub(r"\[(\d+)\]", r"/\1", dotted).replace(".", "/")
    return dotted in stderr or pointer in stderr


def fail_b09(gen: Generation) -> None:
    for i in (0, 1):
        assert _named(gen.stderr, f"capability.exposes[1].tools[{i}].name"), gen.stderr
    assert "64" in gen.stderr


def fail_b10(gen: Generation) -> None:
    line = next(x for x in gen.stderr.splitlines() if "error" in x and "ambiguous" in x)
    assert "`id`" in line or "'id'" in line
    assert "path" in line and "query" in line
    assert _named(line, "capability.consumes[0].resources[0].operations[0]"), line


def fail_b18(gen: Generation) -> None:
    assert "capability.yaml:25:35" in gen.stderr, gen.stderr
    assert "mapping values are not allowed" in gen.stderr
    assert "<unicode string>" not in gen.stderr


def fail_b18_tab(gen: Generation) -> None:
    assert "capability-tab.yaml:24:1" in gen.stderr, gen.stderr
    assert "tab" in gen.stderr.lower()
    assert "<unicode string>" not in gen.stderr


def fail_b19(gen: Generation) -> None:
    errors = [x for x in gen.stderr.splitlines() if ": error:" in x]
    expected = {
        "capability.consumes[0].resources[0].operations[0].method": ("FETCH", 24),
        "capability.exposes[0].port": ("eighty", 40),
        "capability.exposes[0].resources[0].operations[0].with.note": ("note", 52),
        "capability.exposes[1].tools[0].call": ("notes.getnot", 68),
    }
    for dotted, (value, line) in expected.items():
        hits = [x for x in errors if _named(x, dotted)]
        assert len(hits) == 1, (dotted, gen.stderr)
        assert value in hits[0] and f"capability.yaml:{line}:" in hits[0], hits[0]
    e4 = next(x for x in errors if "tools[0].call" in x)
    assert "getnote" in e4.replace("getnot ", "")


def fail_b19_fixed(gen: Generation) -> None:
    errors = [x for x in gen.stderr.splitlines() if ": error:" in x]
    assert len(errors) >= 1 and all("with.note" in x for x in errors), gen.stderr
    assert "`note`" in errors[0] or "'note'" in errors[0]


FAILURE_CHECKS = {
    "B09/capability.yaml": fail_b09,
    "B10/capability-ambiguous.yaml": fail_b10,
    "B18/capability.yaml": fail_b18,
    "B18/capability-tab.yaml": fail_b18_tab,
    "B19/capability.yaml": fail_b19,
    "B19/fixed": fail_b19_fixed,
}
FAILING = [e["capability"] for e in INDEX if outcome(e) == "fail"] + ["B19/fixed"]


@pytest.mark.parametrize("rel", FAILING)
def test_failure_diagnostics(generations: dict[str, Generation], rel: str) -> None:
    gen = generations[rel]
    check_failed(gen)
    check = FAILURE_CHECKS.get(rel)
    assert check is not None, f"no diagnostic checks written for {rel}"
    check(gen)
