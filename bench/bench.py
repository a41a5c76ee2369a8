"""capgen benchmarks (``make bench``): generation speed, REST proxy overhead, MCP latency.

A script, not a test: it prints a markdown table (metric, value, target, met?) and writes the
table plus every raw number to ``bench/results.json`` (git-ignored).  Each section is
independent: a failure is printed and the next section runs.  Every server listens on
127.0.0.1 only, every loop is bounded in count and time, and every process started here is
stopped at the end.

    .venv/bin/python bench/bench.py [--quick] [--only gen,rest,mcp]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PY = sys.executable
CAPABILITY = REPO / "capabilities" / "posthog-task-runs.yaml"
CORPUS = REPO.parent / "shared" / "corpus"
RESULTS = REPO / "bench" / "results.json"
HOST = "127.0.0.1"
ADAPTER_PATH = "/v1/api/projects/p1/tasks/t1/runs"
DIRECT_PATH = "/api/projects/p1/tasks/t1/runs/"

ROWS: list[dict[str, Any]] = []
RAW: dict[str, Any] = {}


# --------------------------------------------------------------------------- helpers


def row(
    metric: str, value: float | str | None, unit: str, target: str = "", met: bool | None = None
) -> None:
    if isinstance(value, float):
        shown = f"{value:.3f} {unit}".strip() if value < 10 else f"{value:.1f} {unit}".strip()
    else:
        shown = "n/a" if value is None else f"{value} {unit}".strip()
    ROWS.append(
        {
            "metric": metric,
            "value": shown,
            "target": target or "—",
            "met": "—" if met is None else ("yes" if met else "NO"),
        }
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen[bytes] | None, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.01)
    raise TimeoutError(f"nothing listening on {HOST}:{port} after {timeout} s")


class Processes:
    """Every server started by this script; each in its own process group, stopped by id."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self,
        cmd: list[str],
        *,
        env: dict[str, str] | None = None,
        log: Path | None = None,
        cwd: Path = REPO,
    ) -> subprocess.Popen[bytes]:
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=out, start_new_session=True
        )
        if log:
            out.close()
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc)


PROCS = Processes()


def run_measured(cmd: list[str], cwd: Path = REPO, timeout: float = 300.0) -> dict[str, Any]:
    """Run ``cmd`` to completion; wall time (perf_counter) and the child's peak RSS (wait4)."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {stderr[-2000:]}")
    # Linux reports ru_maxrss in KiB: the largest single process among the child and the
    # descendants it waited for (a process pool's workers are not summed).
    return {"wall_s": wall, "maxrss_mb": usage.ru_maxrss / 1024}


def generate_cmd(paths: list[Path], out: Path) -> list[str]:
    return [PY, "-m", "generator", "generate", *map(str, paths), "--out", str(out), "-q"]


def snapshot(tree: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(tree)): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in sorted(tree.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------- 1. generation


def bench_generation(runs: int) -> None:
    raw: dict[str, Any] = RAW.setdefault("generation", {})
    with tempfile.TemporaryDirectory(prefix="capgen-bench-") as tmp_name:
        tmp = Path(tmp_name)

        # Cold: a fresh output folder (and a fresh process) every run.
        cold = []
        for i in range(runs):
            out = tmp / f"cold{i}" / "generated"
            cold.append(run_measured(generate_cmd([CAPABILITY], out)))
        raw["posthog_cold"] = cold
        cold_s = median([r["wall_s"] for r in cold])
        peak = max(r["maxrss_mb"] for r in cold)
        row("PostHog generate, cold (median)", cold_s, "s", "≤ 1.0 s", cold_s <= 1.0)
        row("PostHog generate, peak RSS", peak, "MB", "≤ 200 MB", peak <= 200)
        help_text = subprocess.run(
            [PY, "-m", "generator", "generate", "--help"],
            check=False,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        if "--formatter" in help_text:
            with_black = []
            for i in range(runs):
                out = tmp / f"coldblack{i}" / "generated"
                with_black.append(
                    run_measured(generate_cmd([CAPABILITY], out) + ["--formatter", "black"])
                )
            raw["posthog_cold_formatter_black"] = with_black
            row(
                "PostHog generate, cold, --formatter black (median)",
                median([r["wall_s"] for r in with_black]),
                "s",
            )

        # No-op: same output folder, nothing changes (and nothing may be touched).
        out = tmp / "cold0" / "generated"
        before = snapshot(out)
        noop = [run_measured(generate_cmd([CAPABILITY], out)) for _ in range(runs)]
        untouched = snapshot(out) == before
        raw["posthog_noop"] = noop
        raw["posthog_noop_untouched"] = untouched
        noop_s = median([r["wall_s"] for r in noop])
        row("PostHog no-op re-run (median)", noop_s, "s", "≤ 0.3 s", noop_s <= 0.3)
        row(
            "no-op re-run leaves files untouched",
            "yes" if untouched else "NO",
            "",
            "yes",
            untouched,
        )

        # Re-run after editing one description in a copy of the capability.
        caps = tmp / "caps"
        caps.mkdir()
        copy = caps / CAPABILITY.name
        original = CAPABILITY.read_text("utf-8")
        if "description: List task runs\n" not in original:
            raise RuntimeError("the PostHog capability no longer has 'description: List task runs'")
        copy.write_text(original, "utf-8")
        out = tmp / "touched" / "generated"
        run_measured(generate_cmd([copy], out))
        touched = []
        for i in range(runs):
            copy.write_text(
                original.replace(
                    "description: List task runs\n", f"description: List task runs {i}\n", 1
                ),
                "utf-8",
            )
            touched.append(run_measured(generate_cmd([copy], out)))
        raw["posthog_touched"] = touched
        touched_s = median([r["wall_s"] for r in touched])
        row("PostHog re-run after 1 edit (median)", touched_s, "s", "", None)

        bench_formatters(tmp, raw)

    bench_corpus(max(1, min(runs, 3)), raw)


def bench_formatters(tmp: Path, raw: dict[str, Any]) -> None:
    """black (what write.py runs, in-process and as CLI) vs ``ruff format`` on the PostHog .py files."""
    from generator import write
    from generator.pipeline import compile_paths

    comp = compile_paths([CAPABILITY])
    if comp.diagnostics.has_errors():
        raise RuntimeError("the PostHog capability does not compile")
    sources = {p: t for p, t in comp.files.items() if p.endswith(".py")}
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        black_texts = {p: write._black(t) for p, t in sources.items()}
        timings.append(time.perf_counter() - started)
    inproc = median(timings)

    def tree(name: str) -> Path:
        root = tmp / name
        for path, text in sources.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, "utf-8")
        return root

    black_cli, ruff_cli = [], []
    for i in range(3):
        b, r = tree(f"fmt-black{i}"), tree(f"fmt-ruff{i}")
        black_cli.append(
            run_measured(
                [
                    PY,
                    "-m",
                    "black",
                    "-q",
                    "--line-length",
                    "100",
                    "--target-version",
                    "py311",
                    str(b),
                ],
                cwd=tmp,
            )["wall_s"]
        )
        ruff_cli.append(
            run_measured(
                [
                    PY,
                    "-m",
                    "ruff",
                    "format",
                    "--isolated",
                    "--no-cache",
                    "--line-length",
                    "100",
                    "--target-version",
                    "py311",
                    "-q",
                    str(r),
                ],
                cwd=tmp,
            )["wall_s"]
        )
    r = tmp / "fmt-ruff0"
    differing = [p for p in sources if (r / p).read_text("utf-8") != black_texts[p]]
    raw["formatters"] = {
        "files": len(sources),
        "source_chars": sum(map(len, sources.values())),
        "black_in_process_s": timings,
        "black_cli_s": black_cli,
        "ruff_format_cli_s": ruff_cli,
        "ruff_differs_from_black": differing,
    }
    row(f"black in-process, {len(sources)} PostHog .py files (median)", inproc, "s")
    row("black CLI, same files (median)", median(black_cli), "s")
    row("ruff format CLI, same files (median)", median(ruff_cli), "s")
    row(
        "ruff output byte-identical to black",
        f"{len(sources) - len(differing)}/{len(sources)} files",
        "",
    )


def bench_corpus(runs: int, raw: dict[str, Any]) -> None:
    if not CORPUS.is_dir():
        print(f"corpus: {CORPUS} is absent; skipped", file=sys.stderr)
        raw["corpus"] = {"skipped": "corpus absent"}
        row("corpus generate, cold", "skipped (no ../shared/corpus)", "", "≤ 15 s", None)
        return
    from generator.pipeline import compile_paths

    files = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    good: list[Path] = []
    packages: set[str] = set()
    crashed: list[str] = []
    for path in files:
        try:
            comp = compile_paths([path])
        except Exception as exc:  # noqa: BLE001 - a capgen bug; the file is left out and listed
            crashed.append(f"{path.relative_to(CORPUS)}: {type(exc).__name__}: {exc}")
            continue
        if comp.diagnostics.has_errors() or not comp.capabilities:
            continue
        package = comp.capabilities[0].package
        if package in packages:
            continue
        packages.add(package)
        good.append(path)
    together = compile_paths(good)
    if together.diagnostics.has_errors():
        raise RuntimeError("the compiling corpus files do not compile together")
    runs_out = []
    with tempfile.TemporaryDirectory(prefix="capgen-bench-corpus-") as tmp_name:
        for i in range(runs):
            out = Path(tmp_name) / f"run{i}" / "generated"
            runs_out.append(run_measured(generate_cmd(good, out), timeout=180))
    if crashed:
        print(
            f"corpus: {len(crashed)} file(s) crashed the pipeline, left out:",
            *crashed[:5],
            sep="\n  ",
            file=sys.stderr,
        )
    raw["corpus"] = {
        "files_found": len(files),
        "files_generated": len(good),
        "crashed": crashed,
        "generated_files": len(together.files),
        "runs": runs_out,
    }
    wall = median([r["wall_s"] for r in runs_out])
    peak = max(r["maxrss_mb"] for r in runs_out)
    row(
        f"corpus generate, cold, {len(good)}/{len(files)} files (median)",
        wall,
        "s",
        "≤ 15 s",
        wall <= 15,
    )
    row("corpus generate, peak RSS (largest process)", peak, "MB", "≤ 200 MB", peak <= 200)


# --------------------------------------------------------------------------- local upstream

UPSTREAM_APP = """\
BODY = b"{}"
HEADERS = [("Content-Type", "application/json"), ("Content-Length", "2")]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
"""


def start_upstream(tmp: Path) -> tuple[int, subprocess.Popen[bytes]]:
    """A raw WSGI app answering ``{}`` to everything, under gunicorn (2 sync workers)."""
    (tmp / "bench_upstream.py").write_text(UPSTREAM_APP, "utf-8")
    port = free_port()
    proc = PROCS.start(
        [
            PY,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "-b",
            f"{HOST}:{port}",
            "--chdir",
            str(tmp),
            "--log-level",
            "warning",
            "bench_upstream:app",
        ],
        log=tmp / "upstream.log",
    )
    wait_port(port, proc)
    return port, proc


def adapter_env(upstream_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "POSTHOG_TASK_RUNS_BASE_URL": f"http://{HOST}:{upstream_port}",
            "POSTHOG_API_KEY": "bench-key",
        }
    )
    return env


# --------------------------------------------------------------------------- 2. REST proxy


def get(port: int, path: str) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": "Bearer bench-key"})
        response = conn.getresponse()
        body = response.read()
        return time.perf_counter() - started, response.status, body
    finally:
        conn.close()


def load(
    port: int, path: str, count: int, workers: int = 8, time_limit: float = 120.0
) -> dict[str, Any]:
    """``count`` GETs from ``workers`` threads; stops early when ``time_limit`` is reached."""
    deadline = time.monotonic() + time_limit
    latencies: list[float] = []
    failures = 0

    def one(_: int) -> tuple[float, int] | None:
        if time.monotonic() > deadline:
            return None
        try:
            latency, status, _body = get(port, path)
            return latency, status
        except OSError:
            return 0.0, 0

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(one, range(count)):
            if result is None:
                continue
            if result[1] == 200:
                latencies.append(result[0])
            else:
                failures += 1
    elapsed = time.perf_counter() - started
    done = len(latencies)
    return {
        "requests": count,
        "ok": done,
        "failed": failures,
        "elapsed_s": elapsed,
        "rps": done / elapsed if elapsed else 0.0,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


ADAPTER_WORKER_ARGS: list[str] = []


def bench_rest(rounds: int, count: int) -> None:
    raw: dict[str, Any] = RAW.setdefault("rest", {})
    with tempfile.TemporaryDirectory(prefix="capgen-bench-rest-") as tmp_name:
        tmp = Path(tmp_name)
        up_port, upstream = start_upstream(tmp)
        port = free_port()
        adapter = PROCS.start(
            [
                PY,
                "-m",
                "gunicorn",
                "-w",
                "2",
                "-b",
                f"{HOST}:{port}",
                "--log-level",
                "warning",
                *ADAPTER_WORKER_ARGS,
                "generated.posthog_task_runs.rest:create_app()",
            ],
            env=adapter_env(up_port),
            log=tmp / "adapter.log",
        )
        try:
            wait_port(port, adapter)
            _, status, body = get(port, ADAPTER_PATH)
            if status != 200 or json.loads(body) != {}:
                raise RuntimeError(f"adapter answered {status}: {body[:200]!r}")
            _, status, body = get(up_port, DIRECT_PATH)
            if status != 200:
                raise RuntimeError(f"upstream answered {status}")
            load(port, ADAPTER_PATH, 200)  # warm-up: every worker imported and connected
            load(up_port, DIRECT_PATH, 200)
            seq = {
                "direct": load(up_port, DIRECT_PATH, 300, workers=1),
                "adapter": load(port, ADAPTER_PATH, 300, workers=1),
            }
            direct, via = [], []
            for _ in range(rounds):
                direct.append(load(up_port, DIRECT_PATH, count))
                via.append(load(port, ADAPTER_PATH, count))
        finally:
            PROCS.stop(adapter)
            PROCS.stop(upstream)
    raw.update({"direct": direct, "adapter": via, "client_threads": 8, "sequential": seq})
    d_rps, a_rps = median([r["rps"] for r in direct]), median([r["rps"] for r in via])
    d50, a50 = median([r["p50_ms"] for r in direct]), median([r["p50_ms"] for r in via])
    d99, a99 = median([r["p99_ms"] for r in direct]), median([r["p99_ms"] for r in via])
    failed = sum(r["failed"] + r["requests"] - r["ok"] for r in direct + via)
    ratio = a_rps / d_rps if d_rps else 0.0
    raw["summary"] = {
        "direct_rps": d_rps,
        "adapter_rps": a_rps,
        "ratio": ratio,
        "p50_overhead_ms": a50 - d50,
        "p99_overhead_ms": a99 - d99,
    }
    row(f"REST direct throughput ({count} GETs x {rounds}, median)", d_rps, "req/s")
    row("REST via adapter throughput (median)", a_rps, "req/s")
    row("REST adapter/direct throughput ratio", ratio * 100, "%", "≥ 50 %", ratio >= 0.5)
    row("REST p50 direct / adapter", f"{d50:.2f} / {a50:.2f}", "ms")
    row("REST adapter p50 overhead", a50 - d50, "ms", "≤ 1 ms", a50 - d50 <= 1.0)
    row("REST p99 direct / adapter (overhead)", f"{d99:.2f} / {a99:.2f} ({a99 - d99:+.2f})", "ms")
    row("REST failed or unsent requests", str(failed), "", "0", failed == 0)
    s50 = seq["adapter"]["p50_ms"] - seq["direct"]["p50_ms"]
    row(
        "REST adapter p50 overhead, 1 client thread (300 GETs)",
        f"{s50:.2f} ms ({seq['direct']['p50_ms']:.2f} → {seq['adapter']['p50_ms']:.2f})",
        "",
        "≤ 1 ms",
        s50 <= 1.0,
    )


# --------------------------------------------------------------------------- 3. MCP

FASTMCP_RUNNER = """\
import json, sys
import httpx2
from fastmcp import FastMCP

spec_path, upstream, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(spec_path, encoding="utf-8") as handle:
    spec = json.load(handle)
client = httpx2.AsyncClient(base_url=upstream, timeout=30.0)
server = FastMCP.from_openapi(spec, client=client, name="posthog-task-runs-fastmcp")
server.run(transport="http", host="127.0.0.1", port=port, show_banner=False, log_level="warning")
"""


def ensure_fastmcp() -> str | None:
    """fastmcp's version, installing it into this venv (benchmark only) when absent."""
    try:
        import fastmcp  # noqa: F401
    except ImportError:
        print("installing fastmcp into the venv for the benchmark ...", file=sys.stderr)
        done = subprocess.run(
            [PY, "-m", "pip", "install", "-q", "fastmcp"],
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            print(done.stderr[-1500:], file=sys.stderr)
            return None
    try:
        from importlib.metadata import version

        return version("fastmcp")
    except Exception:  # noqa: BLE001
        return None


async def mcp_probe(url: str, tool: str, args: dict[str, Any], calls: int) -> dict[str, Any]:
    from mcp import Client

    async with Client(url) as client:
        listed = await client.list_tools()
        names = [t.name for t in listed.tools]
        if tool not in names:
            raise RuntimeError(f"tool {tool!r} is not listed (got {names[:5]} ...)")
        for _ in range(5):  # warm-up
            await client.call_tool(tool, args)
        latencies = []
        for _ in range(calls):
            started = time.perf_counter()
            result = await client.call_tool(tool, args)
            latencies.append(time.perf_counter() - started)
            if result.is_error:
                raise RuntimeError(
                    f"{tool} failed: {result.content[0].text if result.content else ''}"
                )
    return {"tools": len(names), "latencies_s": latencies}


async def list_once(url: str) -> int:
    from mcp import Client

    async with Client(url) as client:
        return len((await client.list_tools()).tools)


def startup_time(
    cmd: list[str], env: dict[str, str], port: int, log: Path, limit: float = 30.0
) -> float:
    """Seconds from process start to a completed ``tools/list``; the process is stopped after."""
    started = time.perf_counter()
    proc = PROCS.start(cmd, env=env, log=log)
    try:
        wait_port(port, proc, timeout=limit)
        deadline = time.monotonic() + limit
        while True:
            try:
                asyncio.run(list_once(f"http://{HOST}:{port}/mcp"))
                return time.perf_counter() - started
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.01)
    finally:
        PROCS.stop(proc)


def bench_mcp(runs: int, calls: int) -> None:
    raw: dict[str, Any] = RAW.setdefault("mcp", {})
    with tempfile.TemporaryDirectory(prefix="capgen-bench-mcp-") as tmp_name:
        tmp = Path(tmp_name)
        up_port, upstream = start_upstream(tmp)
        env = adapter_env(up_port)
        peers: dict[str, dict[str, Any]] = {}
        try:

            def capgen_cmd(port: int) -> list[str]:
                return [
                    PY,
                    "-m",
                    "generated.posthog_task_runs.mcp_server",
                    "--port",
                    str(port),
                    "--host",
                    HOST,
                ]

            peers["capgen"] = {
                "cmd": capgen_cmd,
                "tool": "list-task-runs",
                "args": {"project_id": "p1", "task_id": "t1"},
            }
            version = ensure_fastmcp()
            raw["fastmcp_version"] = version
            if version:
                runner = tmp / "fastmcp_runner.py"
                runner.write_text(FASTMCP_RUNNER, "utf-8")
                spec = REPO / "generated" / "posthog_task_runs" / "openapi.json"

                def fast_cmd(port: int) -> list[str]:
                    return [PY, str(runner), str(spec), f"http://{HOST}:{up_port}", str(port)]

                peers[f"FastMCP {version} from_openapi"] = {
                    "cmd": fast_cmd,
                    "tool": "tasksrunslist",
                    "args": {"project-id": "p1", "task-id": "t1"},
                }
            else:
                row("FastMCP peer", "unavailable (install failed)", "")
            for name, peer in peers.items():
                try:
                    starts = []
                    for i in range(runs):
                        port = free_port()
                        starts.append(startup_time(peer["cmd"](port), env, port, tmp / f"{i}.log"))
                    port = free_port()
                    proc = PROCS.start(peer["cmd"](port), env=env, log=tmp / "calls.log")
                    try:
                        wait_port(port, proc, timeout=30)
                        probe = asyncio.run(
                            asyncio.wait_for(
                                mcp_probe(
                                    f"http://{HOST}:{port}/mcp", peer["tool"], peer["args"], calls
                                ),
                                120,
                            )
                        )
                    finally:
                        PROCS.stop(proc)
                    lat = probe["latencies_s"]
                    raw[name] = {
                        "startup_s": starts,
                        "tools": probe["tools"],
                        "call_latency_s": lat,
                    }
                    row(
                        f"MCP {name}: start → tools/list done (median of {runs})",
                        median(starts),
                        "s",
                    )
                    row(
                        f"MCP {name}: {peer['tool']} latency p50 / p90 ({calls} calls)",
                        f"{median(lat) * 1000:.2f} / {percentile(lat, 90) * 1000:.2f}",
                        "ms",
                    )
                except Exception as exc:  # noqa: BLE001
                    traceback.print_exc()
                    raw[name] = {"error": f"{type(exc).__name__}: {exc}"}
                    row(f"MCP {name}", f"unavailable ({type(exc).__name__}: {str(exc)[:80]})", "")
        finally:
            PROCS.stop(upstream)


# --------------------------------------------------------------------------- main


def table() -> str:
    lines = ["| metric | value | target | met? |", "|---|---|---|---|"]
    lines += [f"| {r['metric']} | {r['value']} | {r['target']} | {r['met']} |" for r in ROWS]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs and requests (a smoke run)"
    )
    parser.add_argument(
        "--only", default="gen,rest,mcp", help="comma-separated sections: gen,rest,mcp"
    )
    parser.add_argument(
        "--adapter-threads",
        type=int,
        default=0,
        help="run the REST adapter with gunicorn's gthread worker and this many threads per "
        "worker (default: sync workers, like the upstream)",
    )
    options = parser.parse_args()
    ADAPTER_WORKER_ARGS.extend(
        ["-k", "gthread", "--threads", str(options.adapter_threads)]
        if options.adapter_threads
        else []
    )
    runs, rounds, count, calls = (2, 1, 300, 10) if options.quick else (5, 3, 2000, 50)
    sections = {
        "gen": ("generation", lambda: bench_generation(runs)),
        "rest": ("REST proxy overhead", lambda: bench_rest(rounds, count)),
        "mcp": ("MCP", lambda: bench_mcp(runs, calls)),
    }
    RAW["environment"] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "quick": options.quick,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    errors = {}
    try:
        for key in options.only.split(","):
            title, run = sections[key.strip()]
            print(f"== {title} ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            RAW.setdefault("loadavg_before", {})[key] = os.getloadavg()
            try:
                run()
            except Exception as exc:  # noqa: BLE001 - report and go on with the next section
                traceback.print_exc()
                errors[key] = f"{type(exc).__name__}: {exc}"
                row(f"{title}: section failed", f"{type(exc).__name__}: {str(exc)[:100]}", "")
            print(f"   done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    finally:
        PROCS.stop_all()
    RAW["errors"] = errors
    load1 = max((v[0] for v in RAW.get("loadavg_before", {}).values()), default=0.0)
    print(table())
    print(
        f"\n{os.cpu_count()} CPUs; highest 1-min load average before a section: {load1:.2f}"
        + (
            " (the machine was busy: absolute numbers are inflated, ratios less so)"
            if load1 > (os.cpu_count() or 1)
            else ""
        )
    )
    RESULTS.write_text(
        json.dumps({"table": ROWS, "raw": RAW}, indent=2, default=str) + "\n", "utf-8"
    )
    print(f"\nraw numbers: {RESULTS.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
