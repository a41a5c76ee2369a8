"""Corpus run: compile every capability of ../shared/corpus and smoke-run what was generated.

Usage (from the repository root): ``.venv/bin/python scripts/corpus.py`` (``make corpus``).

For every ``*.yaml``/``*.yml`` file under the corpus (recursively, sorted), the pipeline runs
in-process on that one file and writes into its own ``<tmp>/<n>/generated`` folder.  Outcome:
``generated``, ``skipped`` (a shared consumes file: valid, but nothing to generate),
``refused`` (error diagnostics) or ``CRASH`` (an exception escaped the generator).

Every generated capability is then smoke-run in a subprocess of its own (each has its own
``generated`` package): a local catch-all upstream answers ``200 {}``; every REST route is
called once through Flask's test client and every MCP tool once through an in-process
``mcp.Client``.  A REST answer with status 500 or a body mentioning ``Traceback``, and an MCP
result mentioning ``Traceback``, reporting an internal failure, or raising in the client,
counts as a smoke failure.

``scripts/corpus.py [SUBSTRING...]`` runs only the corpus files whose path contains one of the
substrings; ``CORPUS_KEEP=1`` keeps the temporary folder (its path is printed).

Prints a table and a summary, writes the same as markdown to ``corpus-report.md``; exits 1 on
any CRASH or smoke failure, else 0.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
REPORT = ROOT / "corpus-report.md"
SMOKE_TIMEOUT = 60
SMOKE_PARALLEL = 2
RESULT_MARK = "CORPUS-SMOKE-RESULT "
DIAG_WIDTH = 110

# ---------------------------------------------------------------------------------------------
# The smoke runner, executed in a subprocess: python runner.py <package>  (cwd = temp parent)

RUNNER = r'''
"""Smoke runner.  ``runner.py PACKAGE`` (with PYTHONPATH = the folder holding ``generated``)
smoke-runs one package; ``runner.py --serve`` imports the heavy libraries once, then forks one
child process per ``<folder>\t<package>`` line read from stdin (each child imports its own
``generated`` package) and answers one result line per request."""
import asyncio
import dataclasses
import importlib
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio  # noqa: F401  - the heavy imports, done once in --serve mode
import flask  # noqa: F401
import httpx2  # noqa: F401
import jsonschema  # noqa: F401
import mcp  # noqa: F401
import mcp.server.lowlevel  # noqa: F401
import mcp_types  # noqa: F401

MARK = "CORPUS-SMOKE-RESULT "
VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


class CatchAll(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = answer

    def log_message(self, *args):
        pass


def fill(rule):
    def one(match):
        return "1" if match.group(1) in ("int", "float") else "x1"

    return VARIABLE.sub(one, rule)


def arguments_for(schema):
    values = {}
    properties = schema.get("properties") or {}
    for name in schema.get("required") or []:
        prop = properties.get(name) or {}
        if "const" in prop:
            values[name] = prop["const"]
            continue
        if prop.get("enum"):
            values[name] = prop["enum"][0]
            continue
        kind = prop.get("type", "string")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "string")
        values[name] = {"integer": 1, "number": 1, "boolean": True, "array": [], "object": {}}.get(
            kind, "x1"
        )
    return values


def run(package):
    logging.disable(logging.CRITICAL)
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), CatchAll)
    upstream.daemon_threads = True
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % upstream.server_address[1]
    summary = {"package": package, "routes": 0, "tools": 0, "failures": [], "statuses": {}}
    captured = []  # tracebacks of unexpected exceptions inside the adapters

    def fail(where, what):
        text = str(what)
        if len(text) > 1500:
            text = "…" + text[-1500:].split("\n", 1)[-1]
        summary["failures"].append({"where": where, "what": text})

    def count_status(key):
        summary["statuses"][key] = summary["statuses"].get(key, 0) + 1

    import generated._mcp as _mcp
    from generated._runtime import InvalidInput, UpstreamFailure

    original_build = _mcp.build

    def watch(handler):
        def wrapped(arguments):
            try:
                return handler(arguments)
            except (InvalidInput, UpstreamFailure):
                raise
            except Exception:
                captured.append(traceback.format_exc())
                raise

        return wrapped

    def build(name, version, instructions, tools):
        tools = [dataclasses.replace(t, handler=watch(t.handler)) for t in tools]
        return original_build(name, version, instructions, tools)

    _mcp.build = build

    settings = importlib.import_module("generated.%s.settings" % package)
    env = {"CAPGEN_UPSTREAM_TIMEOUT": "10"}
    for name in settings.REQUIRED:
        env[name] = url if name.endswith("_BASE_URL") else "test-secret"
    for name in settings.OPTIONAL:
        if name.endswith("_BASE_URL"):
            env[name] = url
    os.environ.update(env)
    package_dir = Path(settings.__file__).parent

    def smoke_rest(module_name):
        try:
            module = importlib.import_module("generated.%s.%s" % (package, module_name))
            app = module.create_app(env)
        except Exception:
            fail(module_name, "create_app: " + traceback.format_exc())
            return
        prefix = module.blueprint.name + "."
        original = app.error_handler_spec[None][None].get(Exception)

        def record(exc):
            captured.append("".join(traceback.format_exception(exc)))
            return original(exc)

        app.register_error_handler(Exception, record)
        client = app.test_client()
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if not rule.endpoint.startswith(prefix):
                continue
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                summary["routes"] += 1
                target = fill(rule.rule)
                before = len(captured)
                kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
                where = "%s %s %s" % (module_name, method, target)
                try:
                    response = client.open(target, method=method, **kwargs)
                except Exception:
                    fail(where, traceback.format_exc())
                    continue
                body = response.get_data(as_text=True)
                count_status("rest %d" % response.status_code)
                if response.status_code == 500 or "Traceback" in body:
                    detail = captured[before:] or [body[:500]]
                    fail("%s -> %d" % (where, response.status_code), detail[-1])

    async def smoke_mcp(module_name):
        from mcp import Client

        try:
            module = importlib.import_module("generated.%s.%s" % (package, module_name))
            server = module.build_server(env)
        except Exception:
            fail(module_name, "build_server: " + traceback.format_exc())
            return
        try:
            async with Client(server) as client:
                listing = await client.list_tools()
                for tool in listing.tools:
                    summary["tools"] += 1
                    arguments = arguments_for(tool.input_schema or {})
                    before = len(captured)
                    where = "%s %s" % (module_name, tool.name)
                    try:
                        result = await client.call_tool(tool.name, arguments)
                    except Exception as exc:
                        fail(where, "%s: %s" % (type(exc).__name__, exc))
                        continue
                    text = " ".join(getattr(c, "text", "") or "" for c in result.content)
                    count_status("mcp error" if result.is_error else "mcp ok")
                    internal = "the server failed" in text or len(captured) > before
                    if "Traceback" in text or internal:
                        detail = captured[before:] or [text[:500]]
                        fail(where, detail[-1])
        except Exception:
            fail(module_name, "client: " + traceback.format_exc())

    for path in sorted(package_dir.glob("rest*.py")):
        smoke_rest(path.stem)
    for path in sorted(package_dir.glob("mcp_server*.py")):
        asyncio.run(smoke_mcp(path.stem))
    upstream.shutdown()
    return summary


def child(folder, package, result_file):
    log = os.open(os.path.join(folder, "smoke.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.chdir(folder)
    sys.path.insert(0, folder)
    os.environ["PYTHONPATH"] = folder
    try:
        summary = run(package)
    except BaseException:
        summary = {"package": package, "failures": [{"where": package, "what": traceback.format_exc()}]}
    with open(result_file, "w", encoding="utf-8") as handle:
        json.dump(summary, handle)


def serve(timeout):
    for line in sys.stdin:
        folder, package = line.rstrip("\n").split("\t")
        result_file = os.path.join(folder, "smoke-result.json")
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                child(folder, package, result_file)
            finally:
                os._exit(0)
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.02)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        try:
            with open(result_file, encoding="utf-8") as handle:
                summary = json.load(handle)
        except (OSError, ValueError):
            try:
                with open(os.path.join(folder, "smoke.log"), encoding="utf-8", errors="replace") as h:
                    tail = h.read()[-1500:]
            except OSError:
                tail = ""
            what = "timed out after %d s" % timeout if status is None else "exited %s" % status
            summary = {"package": package, "failures": [{"where": package, "what": what + " " + tail}]}
        print(MARK + json.dumps(summary), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--serve":
        serve(float(sys.argv[2]))
    else:
        print(MARK + json.dumps(run(sys.argv[1])), flush=True)
'''

# ---------------------------------------------------------------------------------------------
# Refusal classes: the leading words of the first error, grouped

REASONS: list[tuple[str, str]] = [
    (r"^YAML syntax error", "YAML syntax error"),
    (r"^duplicate key", "YAML duplicate key"),
    (r"^unsupported: the Ikanos dialect", "Ikanos dialect"),
    (r"is a pre-1\.0 Naftiko document", "pre-1.0"),
    (r"is an unsupported Naftiko version", "unsupported Naftiko version"),
    (r"^not a (Naftiko )?capability document|^missing the `naftiko`", "not a Naftiko document"),
    (r"^unsupported: orchestrated `steps`", "unsupported: orchestrated `steps`"),
    (r"^unsupported: orchestrated `ref`", "unsupported: `ref`/aggregates"),
    (r"^unsupported: `forward`", "unsupported: `forward`"),
    (r"^unsupported: imported consumes", "unsupported: imported consumes"),
    (r"^unsupported: `[^`]*` authentication", "unsupported: consumed authentication type"),
    (r"names no (consumed namespace|operation)", "call names no operation"),
    (r"has no source|fills an upstream path placeholder", "placeholder has no source"),
    (r"is not an input parameter of", "`with` names no parameter"),
    (r"^the operation has no `call`", "operation has no `call`"),
    (r"^missing required property", "schema: missing required property"),
    (r"is not one of", "schema: value not allowed"),
    (r"is not of type", "schema: wrong type"),
]


def reason_class(message: str) -> str:
    for pattern, label in REASONS:
        if re.search(pattern, message):
            return label
    words = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"", "…", message).split()
    return " ".join(words[:5])


def refusal_reason(messages: list[str]) -> str:
    """The class of the first `unsupported:` error when there is one, else of the first error."""
    chosen = next((m for m in messages if m.startswith("unsupported:")), messages[0])
    return reason_class(chosen)


# ---------------------------------------------------------------------------------------------
# Compiling


@dataclass
class Row:
    file: str
    outcome: str = ""
    routes: int = 0
    tools: int = 0
    diagnostic: str = ""
    reason: str = ""
    package_dirs: list[tuple[Path, str]] = field(default_factory=list)
    smoke: dict | None = None
    smoke_failures: list[str] = field(default_factory=list)


def shorten(text: str, width: int = DIAG_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def compile_one(path: Path, out: Path, row: Row) -> None:
    from generator import write
    from generator.pipeline import compile_paths

    try:
        compilation = compile_paths([path])
        errors = compilation.diagnostics.errors
        if errors:
            row.outcome = "refused"
            first = errors[0]
            row.diagnostic = shorten(f"{first.line}:{first.column}: {first.message}")
            row.reason = refusal_reason([e.message for e in errors])
            return
        if not compilation.capabilities:
            row.outcome = "skipped"
            warnings = compilation.diagnostics.warnings
            row.diagnostic = shorten(warnings[0].message) if warnings else ""
            return
        plan = write.plan(out, compilation.files)
        write.apply(plan)
    except Exception as exc:  # noqa: BLE001 - a crash is a finding, not the end of the run
        row.outcome = "CRASH"
        row.diagnostic = shorten(f"{type(exc).__name__}: {exc}")
        row.reason = type(exc).__name__
        row.smoke_failures.append(traceback.format_exc())
        return
    row.outcome = "generated"
    for capability in compilation.capabilities:
        row.routes += sum(len(a.routes) for a in capability.rest_adapters)
        row.tools += sum(len(a.tools) for a in capability.mcp_adapters)
        row.package_dirs.append((out.parent, capability.package))


class Worker:
    """A ``runner.py --serve`` process: heavy imports once, one forked child per capability."""

    def __init__(self, runner: Path, log: Path):
        environment = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
        environment.pop("PYTHONPATH", None)
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(runner), "--serve", str(SMOKE_TIMEOUT)],
            cwd=runner.parent,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )

    def ask(self, folder: Path, package: str) -> dict:
        process = self.process
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(f"{folder}\t{package}\n")
            process.stdin.flush()
            for line in process.stdout:
                if line.startswith(RESULT_MARK):
                    return json.loads(line[len(RESULT_MARK) :])
        except (OSError, ValueError) as exc:
            return {"failures": [{"where": package, "what": f"smoke worker failed: {exc}"}]}
        return {"failures": [{"where": package, "what": "smoke worker exited"}]}

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def smoke_all(jobs: list[tuple[Row, Path, str]], runner: Path) -> None:
    """Run the jobs on SMOKE_PARALLEL workers; a worker that dies is replaced."""
    pending = list(enumerate(jobs))
    lock = threading.Lock()
    results: dict[int, dict] = {}

    def drain() -> None:
        worker = Worker(runner, runner.with_name("worker.log"))
        try:
            while True:
                with lock:
                    if not pending:
                        return
                    index, (_, folder, package) = pending.pop(0)
                results[index] = worker.ask(folder, package)
                if worker.process.poll() is not None:
                    worker.close()
                    worker = Worker(runner, runner.with_name("worker.log"))
        finally:
            worker.close()

    threads = [threading.Thread(target=drain) for _ in range(SMOKE_PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, (row, _, _) in enumerate(jobs):
        result = results.get(index, {"failures": [{"where": "?", "what": "not run"}]})
        row.smoke = result
        for failure in result.get("failures", []):
            row.smoke_failures.append(f"{failure['where']}: {failure['what']}")


# ---------------------------------------------------------------------------------------------
# Reporting


def table(rows: list[Row]) -> list[list[str]]:
    lines = [["file", "outcome", "routes", "tools", "first diagnostic"]]
    for row in rows:
        outcome = row.outcome
        if row.outcome == "generated" and row.smoke_failures:
            outcome = f"generated, {len(row.smoke_failures)} smoke failure(s)"
        lines.append([row.file, outcome, str(row.routes), str(row.tools), row.diagnostic])
    return lines


def summary_line(rows: list[Row], elapsed: float) -> tuple[str, Counter[str]]:
    outcomes = Counter(row.outcome for row in rows)
    reasons = Counter(row.reason for row in rows if row.outcome == "refused")
    smoke_failures = sum(len(r.smoke_failures) for r in rows if r.outcome == "generated")
    routes = sum(r.routes for r in rows)
    tools = sum(r.tools for r in rows)
    text = (
        f"{len(rows)} files: generated {outcomes['generated']} ({routes} routes, {tools} tools)"
        f" / skipped {outcomes['skipped']} / refused {outcomes['refused']}"
        f" / CRASH {outcomes['CRASH']} / smoke failures {smoke_failures}"
        f" / elapsed {elapsed:.1f} s"
    )
    return text, reasons


def smoke_line(rows: list[Row]) -> str:
    """What the smoke calls answered, over every package (shows that the calls really ran)."""
    statuses: Counter[str] = Counter()
    called_routes = called_tools = 0
    for row in rows:
        smoke = row.smoke or {}
        statuses.update(smoke.get("statuses", {}))
        called_routes += smoke.get("routes", 0)
        called_tools += smoke.get("tools", 0)
    shown = ", ".join(f"{key}: {count}" for key, count in sorted(statuses.items()))
    return f"smoke: {called_routes} routes and {called_tools} tools called ({shown or 'none'})"


def print_report(rows: list[Row], elapsed: float) -> None:
    lines = table(rows)
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    for line in lines:
        cells = [line[i].ljust(widths[i]) for i in range(4)]
        print("  ".join(cells + [line[4]]).rstrip())
    print()
    for row in rows:
        for failure in row.smoke_failures:
            print(f"--- {row.file} [{row.outcome}]")
            print(failure.rstrip())
    text, reasons = summary_line(rows, elapsed)
    print()
    print("refused by reason:")
    for reason, count in reasons.most_common():
        print(f"  {count:4d}  {reason}")
    print(smoke_line(rows))
    print(text)


def markdown(rows: list[Row], elapsed: float) -> str:
    def cell(value: str) -> str:
        return value.replace("|", "\\|").replace("\n", " ")

    lines = table(rows)
    out = ["# Corpus report", "", f"Corpus: `{CORPUS}`", ""]
    text, reasons = summary_line(rows, elapsed)
    out += [f"**Summary:** {text}", "", smoke_line(rows), "", "## Refused, by reason", ""]
    out += ["| reason | files |", "|---|---|"]
    out += [f"| {cell(reason)} | {count} |" for reason, count in reasons.most_common()]
    out += ["", "## Files", ""]
    out.append("| " + " | ".join(lines[0]) + " |")
    out.append("|---|---|---:|---:|---|")
    out += ["| " + " | ".join(cell(c) for c in line) + " |" for line in lines[1:]]
    failures = [(row, f) for row in rows for f in row.smoke_failures]
    if failures:
        out += ["", "## Crashes and smoke failures", ""]
        for row, failure in failures:
            out += [f"### {row.file} ({row.outcome})", "", "```", failure.rstrip(), "```", ""]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------


def main(filters: Sequence[str] = ()) -> int:
    """Run the corpus; ``filters`` (substrings of corpus paths) restrict it to some files."""
    if not CORPUS.is_dir():
        print(f"corpus: {CORPUS} is absent; nothing to do")
        return 0
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    started = time.perf_counter()
    files = sorted(
        p for p in CORPUS.rglob("*") if p.is_file() and p.suffix.lower() in (".yaml", ".yml")
    )
    if filters:
        files = [p for p in files if any(f in str(p.relative_to(CORPUS)) for f in filters)]
    work = Path(tempfile.mkdtemp(prefix="capgen-corpus-"))
    try:
        runner = work / "runner.py"
        runner.write_text(RUNNER, "utf-8")
        rows: list[Row] = []
        for number, path in enumerate(files):
            row = Row(str(path.relative_to(CORPUS)))
            compile_one(path, work / str(number) / "generated", row)
            rows.append(row)
        jobs = [(row, parent, pkg) for row in rows for parent, pkg in row.package_dirs]
        smoke_all(jobs, runner)
        elapsed = time.perf_counter() - started
        print_report(rows, elapsed)
        REPORT.write_text(markdown(rows, elapsed), "utf-8")
        print(f"report: {REPORT.relative_to(ROOT)}")
    finally:
        if os.environ.get("CORPUS_KEEP"):
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    bad = any(row.outcome == "CRASH" or row.smoke_failures for row in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
