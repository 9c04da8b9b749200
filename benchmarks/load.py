"""Multi-user load: N concurrent browser-like Streamlit sessions through the three pages, in-process vs Ray Serve.

Run (localhost only; it starts and stops its own servers)::

    python benchmarks/load.py --sessions 20                    # both configurations
    python benchmarks/load.py --sessions 5 --modes inprocess   # one
    python benchmarks/load.py --sessions 1,5,10,20 --modes serve --markdown   # the README's table for one mode

With several ``--sessions`` counts, each count gets freshly started servers (the app's shared result store would
otherwise hand a later run the results an earlier one computed), one after the other.

Each session is a real Streamlit session over the app's own websocket protocol (``/_stcore/stream``, the
``BackMsg``/``ForwardMsg`` protobufs the browser speaks; no rendering), so the server does exactly what it does for
a browser: runs the page script, caches, sends every element. Every session does distinct work (nothing is served
from another session's cache):

- **CT**: open the page, pick the synthetic phantom demo, then a phantom kind and diameter of its own -> read,
  segment, predict, Grad-CAM on every slice, deletion curve (``ct:analyse``); then move the heatmap opacity slider
  (``ct:opacity``: the browser reruns only the Grad-CAM fragment).
- **CGM**: open the page (the simulated demo), then upload a 14-day simulated export of its own through the file
  uploader's HTTP endpoint -> read in the isolated worker, AGP, forecast, integrated gradients, backtest
  (``cgm:upload``).
- **Genes**: open the page (the synthetic demo panel), then a tumour type, drug class, age group and sex of its
  own -> TMB, evidence, survival, integrated gradients (``genes:options``).

Reported per step: p50/p95 latency (request sent -> ``script_finished``), errors (an exception element, an
``st.error`` box, a timeout or a dropped connection), the mean bytes the server sent for it, and the mean CPU
seconds the server's process tree (Streamlit, its isolated readers and analysis workers) used while it ran (exact
for one session; with several, steps overlap and each counts what ran meanwhile). Per run: the CPU seconds of the
Streamlit process alone and of its worker processes, server memory (resident set of the Streamlit process and its
children after the warm-up and at its peak, per session; with Serve, the Ray processes too) and the machine's load
average (1-minute: at the start, its peak, at the end), since the machine may be shared. With Serve, the CPU
seconds of the Ray processes (the ``serve`` command and everything it started: GCS, raylet, the Serve controller,
HTTP proxy and one replica per model) are counted apart, per step and per run, split by kind of process.
Bounded: at most 50 sessions, a time limit per step and for the whole run. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.profile_pages import CT_DEMO, proc_table, tree_cpu_s  # noqa: E402
from medai_core.ct.phantom import PHANTOM_KINDS  # noqa: E402
from medai_core.genomics.prepare import AGE_GROUPS, DRUG_CLASSES  # noqa: E402
from medai_core.genomics.tumours import TUMOUR_TYPES  # noqa: E402

MAX_SESSIONS = 50
CT_SOURCE = CT_DEMO  # the CT page's phantom demo source
SEXES = ("unknown", "Female", "Male")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, MiB (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        stack.extend(children.get(current, []))
        try:
            with open(f"/proc/{current}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


class MemorySampler:
    """Samples the resident memory of a process tree every ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0.0
        self.load_peak = os.getloadavg()[0]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss_mb(self.pid))
            self.load_peak = max(self.load_peak, os.getloadavg()[0])
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def session_phantom(index: int) -> tuple[str, float]:
    """The phantom kind and diameter (mm) session ``index`` analyses at ``ct:analyse``: distinct across sessions."""
    return PHANTOM_KINDS[index % len(PHANTOM_KINDS)], float(5 + (index * 7) % 23)


def process_kind(root: int, pid: int, cmdline: list[str]) -> str:
    """A short name for one process of the Serve tree rooted at ``root`` (the ``serve`` command).

    Ray names its worker processes by what they run (``ray::ServeReplica:<app>:<deployment>``,
    ``ray::ServeController``, ``ray::ProxyActor``); its daemons are named by their executable.
    """
    if pid == root:
        return "serve command (Ray driver)"
    title = " ".join(cmdline)
    if title.startswith("ray::ServeReplica:"):
        return "replica " + title.split(":")[3]
    if title.startswith("ray::"):
        return title.split()[0][len("ray::") :].split(":")[0].split(".")[0]  # ray::ServeController.listen_...
    if not cmdline:
        return "other"
    name = Path(cmdline[0]).name
    if name.startswith("python") and len(cmdline) > 1:  # a Ray agent or monitor: its script's name
        script = next((Path(a).name for a in cmdline[1:] if a.endswith(".py")), "")
        return script.removesuffix(".py") or "python"
    return name


def tree_cpu_by_kind(root: int) -> dict[str, float]:
    """CPU seconds of the live processes of the tree under ``root``, summed by :func:`process_kind`."""
    children, cpu = proc_table()
    totals: dict[str, float] = {}
    stack = [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdline = [a.decode(errors="replace") for a in handle.read().split(b"\0") if a]
        except OSError:
            continue
        kind = process_kind(root, pid, cmdline)
        totals[kind] = totals.get(kind, 0.0) + cpu.get(pid, 0.0)
    return totals


def _own_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` alone (``/proc``)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_http(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1.0)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s")


def start_streamlit(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``streamlit run app.py`` on localhost:port (XSRF off: the benchmark's uploads carry no browser cookie)."""
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless=true",
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--server.enableXsrfProtection=false",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    _wait_http(f"http://127.0.0.1:{port}/_stcore/health", 120)
    return process


def start_serve(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python -m medai_core serve`` on localhost:port with the CPU split between the three models."""
    command = [sys.executable, "-m", "medai_core", "serve", f"--port={port}", "--num-cpus=0.5"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    _wait_http(f"http://127.0.0.1:{port}/health", 300)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 30 s (only the processes this benchmark started)."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class StepResult:
    """One timed interaction of one session."""

    step: str
    seconds: float
    error: str | None
    cpu_s: float = 0.0
    bytes: int = 0
    serve_cpu_s: float = 0.0


@dataclass
class Session:
    """One browser-like session over Streamlit's websocket protocol."""

    base: str
    step_timeout_s: float
    server_pid: int = 0
    serve_pid: int = 0
    received: int = 0
    widget_ids: dict[str, str] = field(default_factory=dict)
    fragments: dict[str, str] = field(default_factory=dict)
    pages: dict[str, str] = field(default_factory=dict)
    session_id: str = ""
    ws: Any = None
    page_hash: str = ""

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        url = self.base.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = await connect(url, subprotocols=["streamlit"], max_size=None, open_timeout=60)  # type: ignore[list-item]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def rerun(self, page: str, widgets: dict[str, Any], fragment_of: str | None = None) -> str | None:
        """Run ``page`` with ``widgets`` (user key -> value) and read until the script finishes; the error or None.

        With ``fragment_of`` (a widget's user key), only the fragment that holds that widget reruns, as the browser
        asks when a widget inside a fragment changes.
        """
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        state = msg.rerun_script
        if fragment_of is not None:
            state.fragment_id = self.fragments[fragment_of]
        if page in self.pages:
            state.page_script_hash = self.pages[page]
        else:
            state.page_name = page
        for key, value in widgets.items():
            widget = state.widget_states.widgets.add()
            widget.id = self.widget_ids[key]
            if isinstance(value, str):
                widget.string_value = value
            elif isinstance(value, float):
                widget.double_array_value.data.append(value)
            else:
                widget.file_uploader_state_value.CopyFrom(value)
        await self.ws.send(msg.SerializeToString())
        return await self._read_until_finished()

    async def _read_until_finished(self) -> str | None:
        from streamlit.proto.Alert_pb2 import Alert
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        error: str | None = None
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout=self.step_timeout_s)
            self.received += len(raw)
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                if msg.new_session.initialize.session_id:
                    self.session_id = msg.new_session.initialize.session_id
                for app_page in msg.new_session.app_pages:
                    self.pages[app_page.url_pathname] = app_page.page_script_hash
            elif kind == "navigation":
                for app_page in msg.navigation.app_pages:
                    self.pages[app_page.url_pathname] = app_page.page_script_hash
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                name = element.WhichOneof("type")
                body = getattr(element, name) if name else None
                widget_id = getattr(body, "id", "") if body is not None else ""
                if widget_id and "-" in widget_id:
                    self.widget_ids[widget_id.split("-", 2)[-1]] = widget_id
                    if msg.delta.fragment_id:
                        self.fragments[widget_id.split("-", 2)[-1]] = msg.delta.fragment_id
                if name == "exception":
                    where = " | ".join(line.strip() for line in element.exception.stack_trace[-4:])
                    error = f"exception: {element.exception.type}: {element.exception.message[:200]} at {where}"
                elif name == "alert" and element.alert.format == Alert.ERROR and error is None:
                    error = f"error box: {element.alert.body[:200]}"
            elif kind == "page_not_found":
                error = "page not found"
            elif kind == "script_finished":
                if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue
                if msg.script_finished not in (
                    ForwardMsg.FINISHED_SUCCESSFULLY,
                    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
                ):
                    error = error or f"script finished with status {msg.script_finished}"
                return error

    async def upload(self, key: str, name: str, data: bytes) -> Any:
        """Upload ``data`` through the file uploader ``key`` the way the browser does; the widget value to send."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.Common_pb2 import FileUploaderState
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        request = BackMsg()
        request.file_urls_request.request_id = uuid.uuid4().hex
        request.file_urls_request.file_names.append(name)
        request.file_urls_request.session_id = self.session_id
        await self.ws.send(request.SerializeToString())
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await asyncio.wait_for(self.ws.recv(), timeout=self.step_timeout_s))
            if msg.WhichOneof("type") == "file_urls_response":
                break
        urls = msg.file_urls_response.file_urls[0]
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                "Content-Type: text/csv\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        target = urls.upload_url if urls.upload_url.startswith("http") else self.base + urls.upload_url
        put = urllib.request.Request(
            target, data=body, method="PUT", headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        await asyncio.to_thread(lambda: urllib.request.urlopen(put, timeout=self.step_timeout_s).read())
        state = FileUploaderState()
        info = state.uploaded_file_info.add()
        info.name, info.size, info.file_id = name, len(data), urls.file_id
        info.file_urls.CopyFrom(urls)
        return state


async def timed(results: list[StepResult], step: str, action: Any, session: Session | None = None) -> None:
    """Run one awaitable interaction and record its latency, error, server (and Ray) CPU and bytes received."""
    pid = session.server_pid if session is not None else 0
    ray_pid = session.serve_pid if session is not None else 0
    cpu = tree_cpu_s(pid) if pid else 0.0
    ray_cpu = tree_cpu_s(ray_pid) if ray_pid else 0.0
    received = session.received if session is not None else 0
    start = time.perf_counter()
    try:
        error = await action
    except TimeoutError:
        error = "timeout"
    except Exception as exc:  # a dropped connection or protocol failure is an error of this step
        error = f"{type(exc).__name__}: {exc}"[:200]
    seconds = time.perf_counter() - start
    cpu = tree_cpu_s(pid) - cpu if pid else 0.0
    ray_cpu = tree_cpu_s(ray_pid) - ray_cpu if ray_pid else 0.0
    sent = session.received - received if session is not None else 0
    results.append(StepResult(step, seconds, error, cpu, sent, ray_cpu))


async def user(
    base: str, index: int, step_timeout_s: float, cgm: bytes, server_pid: int = 0, serve_pid: int = 0
) -> list[StepResult]:
    """One user's visit: the three pages' demo/upload flows with inputs of its own.

    ``server_pid`` / ``serve_pid``: the Streamlit process and the ``serve`` command, whose process trees' CPU each
    step records (0: not measured).
    """
    results: list[StepResult] = []
    session = Session(base, step_timeout_s, server_pid, serve_pid)

    async def step(name: str, action: Any) -> None:
        await timed(results, name, action, session)

    try:
        await session.connect()
        await step("home:open", session.rerun("", {}))
        await step("ct:open", session.rerun("ct", {}))
        await step("ct:demo", session.rerun("ct", {"ct.source": CT_SOURCE}))
        kind, mm = session_phantom(index)
        widgets = {"ct.source": CT_SOURCE, "ct.phantom_kind": kind, "ct.phantom_mm": mm}
        await step("ct:analyse", session.rerun("ct", widgets))
        opacity = {**widgets, "ct.opacity": 0.25 + 0.05 * (index % 10)}
        await step("ct:opacity", session.rerun("ct", opacity, fragment_of="ct.opacity"))
        await step("cgm:open", session.rerun("cgm", {}))

        async def cgm_upload() -> str | None:
            state = await session.upload("glucose.upload", f"session_{index}.csv", cgm)
            return await session.rerun("cgm", {"glucose.upload": state})

        await step("cgm:upload", cgm_upload())
        await step("genes:open", session.rerun("genes", {}))
        options = {
            "genes.tumour_type": list(TUMOUR_TYPES)[index % len(TUMOUR_TYPES)],
            "genes.drug_class": list(DRUG_CLASSES)[index % len(DRUG_CLASSES)],
            "genes.age": ("unknown", *AGE_GROUPS)[(index // 3) % (len(AGE_GROUPS) + 1)],
            "genes.sex": SEXES[(index // 2) % 3],
        }
        await step("genes:options", session.rerun("genes", options))
    except Exception as exc:  # the connection itself failed: one error for the whole visit
        results.append(StepResult("connect", 0.0, f"{type(exc).__name__}: {exc}"[:200]))
    finally:
        await session.close()
    return results


def percentile(values: list[float], q: float) -> float:
    """The ``q`` percentile (0-100) by linear interpolation; NaN for no values."""
    import numpy as np

    return float(np.percentile(values, q)) if values else float("nan")


def run_mode(mode: str, sessions: int, step_timeout_s: float, total_timeout_s: float, tmp: Path) -> dict[str, Any]:
    """Start the servers for ``mode``, warm up with one session, run ``sessions`` at once, stop; the summary."""
    from medai_core.glucose.simulate import simulated_csv, simulated_patient

    env = {**os.environ, "MEDAI_AUDIT_DB": str(tmp / f"audit_{mode}.sqlite"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("MEDAI_SERVE_ADDRESS", None)
    serve_process = None
    if mode == "serve":
        serve_port = _free_port()
        serve_process = start_serve(serve_port, env, tmp / "serve.log")
        env["MEDAI_SERVE_ADDRESS"] = f"http://127.0.0.1:{serve_port}"
    port = _free_port()
    app = start_streamlit(port, env, tmp / f"streamlit_{mode}.log")
    base = f"http://127.0.0.1:{port}"
    uploads = [simulated_csv(simulated_patient(days=14, seed=1000 + i)) for i in range(sessions + 1)]
    try:
        ray_pid = serve_process.pid if serve_process else 0
        warm = asyncio.run(user(base, sessions, step_timeout_s, uploads[-1], app.pid, ray_pid))
        baseline_mb = _tree_rss_mb(app.pid)
        serve_baseline = _tree_rss_mb(serve_process.pid) if serve_process else 0.0

        async def crowd() -> list[list[StepResult]]:
            tasks = [
                asyncio.ensure_future(user(base, i, step_timeout_s, uploads[i], app.pid, ray_pid))
                for i in range(sessions)
            ]
            done, pending = await asyncio.wait(tasks, timeout=total_timeout_s)
            for task in pending:  # past the run's time limit: stopped, and counted as an error
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            unfinished = [StepResult("unfinished", total_timeout_s, "the run's time limit was reached")]
            return [task.result() if task in done else unfinished for task in tasks]

        start = time.perf_counter()
        serve_pid = serve_process.pid if serve_process else app.pid
        load_start = os.getloadavg()[0]
        cpu_tree, cpu_app = tree_cpu_s(app.pid), _own_cpu_s(app.pid)
        ray_before = tree_cpu_by_kind(ray_pid) if ray_pid else {}
        client_cpu = time.process_time()
        with MemorySampler(app.pid) as app_memory, MemorySampler(serve_pid) as serve_memory:
            visits = asyncio.run(crowd())
        wall = time.perf_counter() - start
        client_cpu = time.process_time() - client_cpu
        cpu_tree, cpu_app = tree_cpu_s(app.pid) - cpu_tree, _own_cpu_s(app.pid) - cpu_app
        ray_after = tree_cpu_by_kind(ray_pid) if ray_pid else {}
        ray_by_kind = {kind: cpu - ray_before.get(kind, 0.0) for kind, cpu in ray_after.items()}
        load_end = os.getloadavg()[0]
    finally:
        stop(app)
        if serve_process is not None:
            stop(serve_process)
    steps: dict[str, list[StepResult]] = {}
    for visit in visits:
        for result in visit:
            steps.setdefault(result.step, []).append(result)
    return {
        "mode": mode,
        "sessions": sessions,
        "wall_s": wall,
        "warmup_errors": [r.error for r in warm if r.error],
        "steps": {
            name: {
                "n": len(rs),
                "p50_s": percentile([r.seconds for r in rs], 50),
                "p95_s": percentile([r.seconds for r in rs], 95),
                "errors": sum(1 for r in rs if r.error),
                "first_error": next((r.error for r in rs if r.error), None),
                "cpu_s_mean": sum(r.cpu_s for r in rs) / len(rs),
                "bytes_mean": sum(r.bytes for r in rs) / len(rs),
                "serve_cpu_s_mean": sum(r.serve_cpu_s for r in rs) / len(rs),
            }
            for name, rs in steps.items()
        },
        "app_cpu_s": cpu_app,
        "workers_cpu_s": cpu_tree - cpu_app,
        "client_cpu_s": client_cpu,
        "serve_cpu_s": sum(ray_by_kind.values()),
        "serve_cpu_s_by_kind": {kind: round(cpu, 2) for kind, cpu in sorted(ray_by_kind.items(), key=lambda i: -i[1])},
        "loadavg_start": load_start,
        "loadavg_peak": app_memory.load_peak,
        "loadavg_end": load_end,
        "app_rss_baseline_mb": baseline_mb,
        "app_rss_peak_mb": app_memory.peak,
        "app_mb_per_session": (app_memory.peak - baseline_mb) / sessions,
        "serve_rss_baseline_mb": serve_baseline,
        "serve_rss_peak_mb": serve_memory.peak if serve_process else 0.0,
    }


def format_report(reports: list[dict[str, Any]]) -> str:
    """The per-step table of every configuration (with Serve, the Ray processes' CPU too), then memory and CPU."""
    lines = [
        f"{'mode':<10}{'sessions':>9} {'step':<15}{'n':>4}{'p50 s':>9}{'p95 s':>9}{'errors':>8}{'CPU s':>8}"
        f"{'Ray CPU s':>10}{'kB sent':>9}"
    ]
    for report in reports:
        for step, s in report["steps"].items():
            ray = f"{s['serve_cpu_s_mean']:>10.2f}" if report["mode"] == "serve" else f"{'-':>10}"
            lines.append(
                f"{report['mode']:<10}{report['sessions']:>9} {step:<15}{s['n']:>4}{s['p50_s']:>9.2f}"
                f"{s['p95_s']:>9.2f}{s['errors']:>8}{s['cpu_s_mean']:>8.2f}{ray}{s['bytes_mean'] / 1000:>9.0f}"
            )
    lines.append("")
    for r in reports:
        lines.append(
            f"{r['mode']}: {r['sessions']} sessions in {r['wall_s']:.0f} s; app RSS {r['app_rss_baseline_mb']:.0f} MiB "
            f"after warm-up, peak {r['app_rss_peak_mb']:.0f} MiB ({r['app_mb_per_session']:.1f} MiB per session); "
            f"CPU {r['app_cpu_s']:.0f} s in the Streamlit process, {r['workers_cpu_s']:.0f} s in its workers, "
            f"{r.get('client_cpu_s', float('nan')):.0f} s in this benchmark's own sessions (same machine); "
            f"load average {r['loadavg_start']:.1f} at the start, peak {r['loadavg_peak']:.1f}, "
            f"{r['loadavg_end']:.1f} at the end"
            + (
                f"; Ray Serve RSS {r['serve_rss_baseline_mb']:.0f} -> peak {r['serve_rss_peak_mb']:.0f} MiB, "
                f"CPU {r['serve_cpu_s']:.1f} s ("
                + ", ".join(f"{kind} {cpu:.1f}" for kind, cpu in r["serve_cpu_s_by_kind"].items() if cpu >= 0.05)
                + ")"
                if r["mode"] == "serve"
                else ""
            )
        )
    return "\n".join(lines)


def markdown_table(reports: list[dict[str, Any]], mode: str) -> str:
    """The ``benchmarks/README.md`` table of one mode: a row per step, a column per session count."""
    runs = sorted((r for r in reports if r["mode"] == mode), key=lambda r: r["sessions"])
    serve = mode == "serve"
    cpu = "CPU s, Ray CPU s" if serve else "CPU s"
    head = [f"{r['sessions']} sessions p50 / p95 s ({cpu})" for r in runs]
    lines = [f"| step | {' | '.join(head)} |", "|---" * (len(runs) + 1) + "|"]
    steps = list(dict.fromkeys(step for r in runs for step in r["steps"]))

    def cell(run: dict[str, Any], step: str) -> str:
        s = run["steps"].get(step)
        if s is None:
            return "-"
        ray = f", {s['serve_cpu_s_mean']:.2f}" if serve else ""
        return f"{s['p50_s']:.2f} / {s['p95_s']:.2f} ({s['cpu_s_mean']:.2f}{ray})"

    for step in steps:
        lines.append(f"| {step} | {' | '.join(cell(r, step) for r in runs)} |")

    def row(name: str, values: list[str]) -> None:
        lines.append(f"| {name} | {' | '.join(values)} |")

    row("errors", [str(sum(s["errors"] for s in r["steps"].values()) + len(r["warmup_errors"])) for r in runs])
    row(
        "load average start / peak / end",
        [f"{r['loadavg_start']:.1f} / {r['loadavg_peak']:.1f} / {r['loadavg_end']:.1f}" for r in runs],
    )
    row("wall s", [f"{r['wall_s']:.0f}" for r in runs])
    cpu_head = "CPU s: Streamlit process / workers" + (" / Ray" if serve else "")
    row(
        cpu_head,
        [
            f"{r['app_cpu_s']:.0f} / {r['workers_cpu_s']:.0f}" + (f" / {r['serve_cpu_s']:.0f}" if serve else "")
            for r in runs
        ],
    )
    row(
        "server RSS after warm-up / peak MiB (per session)",
        [f"{r['app_rss_baseline_mb']:.0f} / {r['app_rss_peak_mb']:.0f} ({r['app_mb_per_session']:.0f})" for r in runs],
    )
    if serve:
        row(
            "Ray RSS after warm-up / peak MiB",
            [f"{r['serve_rss_baseline_mb']:.0f} / {r['serve_rss_peak_mb']:.0f}" for r in runs],
        )
    return "\n".join(lines)


def parse_sessions(text: str) -> list[int]:
    """``--sessions``: one count or several, comma-separated (``1,5,10,20``), each 1..:data:`MAX_SESSIONS`.

    Raises:
        ValueError: a count is not an integer in range, or the list is empty.
    """
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or any(not 1 <= n <= MAX_SESSIONS for n in counts):
        raise ValueError(f"--sessions takes counts of 1..{MAX_SESSIONS}, comma-separated; got {text!r}")
    return counts


def main() -> None:
    """Parse options, run each configuration, print the table (and write JSON with --json-out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sessions", default="20", help="concurrent sessions, or several counts run one after the other: 1,5,10,20"
    )
    parser.add_argument("--modes", default="inprocess,serve", help="inprocess, serve, or both (comma-separated)")
    parser.add_argument("--step-timeout", type=float, default=300.0, help="seconds one interaction may take")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds all sessions together may take")
    parser.add_argument("--json-out", type=Path, default=None)
    parser.add_argument("--markdown", action="store_true", help="also print each mode's table for the README")
    args = parser.parse_args()
    try:
        counts = parse_sessions(args.sessions)
    except ValueError as exc:
        parser.error(str(exc))
    modes = args.modes.split(",")
    for mode in modes:
        if mode not in ("inprocess", "serve"):
            parser.error(f"unknown mode {mode!r}")
    reports = []
    for mode in modes:
        for count in counts:
            with tempfile.TemporaryDirectory() as tmp:  # fresh servers, audit database and logs for every run
                reports.append(run_mode(mode, count, args.step_timeout, args.timeout, Path(tmp)))
            print(json.dumps(reports[-1], indent=1), file=sys.stderr, flush=True)
            if args.json_out:  # written after every run, so a long series keeps what it measured
                args.json_out.write_text(json.dumps(reports, indent=1))
    print(format_report(reports))
    if args.markdown:
        for mode in modes:
            print(f"\n{mode}:\n\n{markdown_table(reports, mode)}")


if __name__ == "__main__":
    main()
