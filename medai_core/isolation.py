"""Untrusted bytes are parsed in isolation: readers run in a small pool of worker processes with limits.

Every upload (CT, CGM, gene panel) is read by a domain reader that leans on C libraries (pydicom's decoders, PIL,
zlib, pandas' C parser, htslib through cyvcf2). A malformed file can make such a library crash the process
(SIGSEGV, abort), loop for minutes, or allocate gigabytes. :func:`read_isolated` runs the reader in a worker
process instead, so that none of this reaches the server:

=====================================  ===================================================================
what happens in the worker             what the caller gets
=====================================  ===================================================================
the reader returns                     the same value (pickled back)
the reader raises an ``InputError``    the same type and message
the reader raises anything else        the same exception (a bug: it must surface), with the worker's
                                       traceback as its ``__cause__``
time limit passed                      the domain ``InputError`` "... could not be read safely: ..."; the
                                       worker is killed and replaced
memory limit (``RLIMIT_AS``) reached   the same, naming the limit; the worker is replaced
resident-memory limit passed           the same, "... needed more than N MiB of memory"; the worker is
                                       killed and replaced (pools with ``resident_mb``: the analysis pool)
the worker dies (signal, exit)         the same, naming the signal; the worker is replaced
=====================================  ===================================================================

Workers are fresh interpreters (``python -c``), never forks of the server (which has TensorFlow loaded), started
lazily and kept warm between reads. Each holds one read at a time; a crash only affects the read it was doing.
Requests and results travel as length-prefixed pickles over the worker's stdin/stdout; the worker's own
``sys.stdout`` points at its stderr, so a library that prints cannot corrupt the channel. The result is unpickled
in the server: a worker compromised through a parser exploit could send a hostile pickle, which is the same
trust level as running the parser in the server (the threat this module removes is the crash, hang and memory
blow-up, not code execution).

Settings (``MEDAI_ISOLATION``, ``MEDAI_ISOLATION_TIME_S``, ``MEDAI_ISOLATION_MEMORY_MB``,
``MEDAI_ISOLATION_WORKERS``) are read by :func:`medai_core.config.get_settings`. With ``MEDAI_ISOLATION=off`` the
reader runs in the calling process (for debugging only). Limits are enforced with :mod:`resource`, i.e. on POSIX.

A pool whose workers cannot take an address-space limit (the analysis pool of :mod:`medai_core.workers`: TensorFlow
reserves far more address space than it uses) takes a resident-memory limit instead (``resident_mb``): while a call
runs, a watchdog thread reads the worker's ``VmRSS`` from ``/proc/<pid>/status`` every
:data:`RESIDENT_SAMPLE_S` seconds and kills the worker once it is over the limit. It is a sampled limit (an
allocation faster than the sampling can pass it by what it allocates in one interval) and needs Linux's ``/proc``
(elsewhere it is not enforced). The worker side (the loop each worker runs) is :mod:`medai_core.isolation_worker`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, TypeVar

from medai_core.domains import DOMAINS, domain_of_module
from medai_core.errors import InputError, MedaiError
from medai_core.isolation_worker import CHUNK, HEADER, READY, REPLY_HEADER, peak_rss_mb, resident_mb, widen_pipe

__all__ = [
    "IsolatedRun",
    "IsolationPool",
    "PoolBusyError",
    "default_pool",
    "domain_error",
    "read_isolated",
    "run_isolated",
    "shutdown_default_pool",
]

T = TypeVar("T")

PRELOAD_MODULES: tuple[str, ...] = tuple(domain.reader_module for domain in DOMAINS)
"""Imported by every worker when it starts, so the first read of each domain pays no import."""
RESIDENT_SAMPLE_S = 0.02
"""Seconds between two readings of a busy worker's resident memory (pools with ``resident_mb``)."""

_STARTUP_S = 120.0  # a fresh worker's interpreter start and imports (slow only on a machine under heavy load)
_WORKER_ENV = {
    # One thread per numerical library: threads reserve address space (counted by RLIMIT_AS) and the pool is the
    # unit of parallelism here.
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "MEDAI_ISOLATION": "off",  # a reader that itself reads through this module runs in place inside the worker
    "PYTHONFAULTHANDLER": "",
}
_SAFETY = "Check that it is a complete, unmodified export of an accepted format; other uploads are not affected."
_STEPS: dict[str, tuple[str, str, str]] = {
    "read": ("read", "reading", _SAFETY),
    "analyse": (
        "analysed",
        "analysing",
        "Other uploads are not affected; analysis runs under the same limits as reading (MEDAI_ISOLATION_TIME_S, "
        "MEDAI_ISOLATION_MEMORY_MB).",
    ),
    "analysis": (  # a job of the analysis pool (medai_core.workers)
        "analysed",
        "analysing",
        "Other uploads are not affected; each analysis runs under a time and a memory limit (MEDAI_ANALYSIS_TIME_S, "
        "MEDAI_ANALYSIS_MEMORY_MB).",
    ),
}
"""What a pooled call does (``step`` of :meth:`IsolationPool.run`): past participle, gerund, advice in messages."""


def domain_error(reader: Callable[..., Any]) -> type[InputError]:
    """The ``InputError`` subclass for a reader, from the domain whose package defines it (``InputError`` if none)."""
    module = getattr(reader, "__module__", None) or getattr(getattr(reader, "func", None), "__module__", "") or ""
    domain = domain_of_module(module)
    return InputError if domain is None else domain.error


@dataclass(frozen=True)
class IsolatedRun:
    """The outcome of one isolated call, with what it cost.

    Attributes:
        value: what the reader returned.
        wall_s: seconds from sending the request to receiving the result (includes pickling both ways).
        worker_peak_rss_mb: the worker's peak resident memory so far (MiB; the worker is reused, so this is the
            maximum over every read it has done).
    """

    value: Any
    wall_s: float
    worker_peak_rss_mb: float


class PoolBusyError(MedaiError):
    """Every worker is busy and the pool's queue is full: the call was not started (try again later)."""


class _WorkerDiedError(Exception):
    """The worker closed its channel (crash, kill or exit) before answering."""


class _WorkerTimeoutError(Exception):
    """The worker did not answer within the time limit."""


class _ResidentWatch:
    """While a call runs: a thread that reads the worker's resident memory every :data:`RESIDENT_SAMPLE_S` seconds
    and kills the worker once it holds more than ``limit_mb`` MiB (then :attr:`exceeded` is True)."""

    def __init__(self, worker: _Worker, limit_mb: int) -> None:
        self.worker = worker
        self.limit_mb = limit_mb
        self.exceeded = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="isolation-resident-watch", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        pid = self.worker.proc.pid
        while not self._stop.is_set():
            rss = resident_mb(pid)
            if rss is None:  # the process has gone (its death reaches the caller), or no /proc: nothing to watch
                return
            if rss > self.limit_mb:
                self.exceeded = True
                with contextlib.suppress(OSError):
                    self.worker.proc.kill()  # the caller sees the pipe close, then reads ``exceeded``
                return
            self._stop.wait(RESIDENT_SAMPLE_S)

    def stop(self) -> bool:
        """End the watch; whether the worker was killed for its memory."""
        self._stop.set()
        self._thread.join()
        return self.exceeded


class _RemoteTracebackError(Exception):
    """The traceback of an exception raised in a worker, kept as the ``__cause__`` of the re-raised one."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f"\n(in the isolated reader)\n{self.text}"


class _Worker:
    """One worker process and its pipes."""

    def __init__(
        self, memory_mb: int | None, stderr: int | IO[bytes] | None, preload: tuple[str, ...] = PRELOAD_MODULES
    ) -> None:
        env = {**os.environ, **_WORKER_ENV}
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        code = "from medai_core.isolation_worker import worker_main; worker_main()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, str(memory_mb or 0), ",".join(preload)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            bufsize=0,
            close_fds=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin
        self.stdout = self.proc.stdout
        for pipe in (self.stdin, self.stdout):
            widen_pipe(pipe.fileno())
        self.ready = False

    def wait_ready(self) -> None:
        """Wait until the worker has imported the readers (not counted in a read's time limit)."""
        if not self.ready:
            if self._read_exact(1, time.monotonic() + _STARTUP_S) != READY:
                raise _WorkerDiedError()
            self.ready = True

    def send(self, payload: bytes) -> None:
        try:
            self.stdin.write(HEADER.pack(len(payload)))
            self.stdin.write(payload)
            self.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise _WorkerDiedError() from exc

    def receive(self, deadline: float) -> tuple[bytearray, list[bytearray]]:
        """The reply: its pickle and its out-of-band buffers (array data, sent without a copy into the pickle)."""
        size, count = REPLY_HEADER.unpack(self._read_exact(REPLY_HEADER.size, deadline))
        sizes = struct.unpack(f"<{count}Q", self._read_exact(8 * count, deadline)) if count else ()
        blob = self._read_exact(size, deadline)
        return blob, [self._read_exact(n, deadline) for n in sizes]

    def _read_exact(self, size: int, deadline: float) -> bytearray:
        buffer = bytearray(size)
        view = memoryview(buffer)
        done = 0
        fd = self.stdout.fileno()
        while done < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _WorkerTimeoutError()
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise _WorkerTimeoutError()
            n = os.readv(fd, [view[done : min(size, done + CHUNK)]])
            if n == 0:
                raise _WorkerDiedError()
            done += n
        return buffer

    def kill(self) -> int | None:
        """Stop the worker (if still running) and return its exit code (negative: the signal that ended it)."""
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not wait for the process
            code = None
        for pipe in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                pipe.close()
        return code


class IsolationPool:
    """A small pool of worker processes, each with a time and a memory limit; safe to share between threads.

    Args:
        workers: the most calls in flight at once (more wait for a free worker).
        time_limit_s: seconds a call may take before its worker is killed.
        memory_mb: the worker's address-space limit in MiB (``RLIMIT_AS``), the interpreter included; None for no
            limit (the analysis pool: TensorFlow reserves far more address space than it uses).
        resident_mb: the worker's resident-memory limit in MiB while it runs a call (a sampled watch, see the
            module docstring), the interpreter and what it keeps between calls (loaded models) included; None for
            none.
        stderr: where the workers' stderr goes (None: the server's; ``subprocess.DEVNULL`` to silence them).
        preload: modules every worker imports when it starts (default: the readers).
        max_waiting: the most calls that may wait for a worker; one more raises :class:`PoolBusyError` at once
            (None: no bound).
    """

    def __init__(
        self,
        workers: int,
        time_limit_s: float,
        memory_mb: int | None,
        stderr: int | IO[bytes] | None = None,
        *,
        preload: tuple[str, ...] = PRELOAD_MODULES,
        max_waiting: int | None = None,
        resident_mb: int | None = None,
    ) -> None:
        if workers < 1 or time_limit_s <= 0 or any(mb is not None and mb < 256 for mb in (memory_mb, resident_mb)):
            raise ValueError("an isolation pool needs >= 1 worker, a positive time limit and >= 256 MiB of memory")
        self.workers = workers
        self.time_limit_s = float(time_limit_s)
        self.memory_mb = None if memory_mb is None else int(memory_mb)
        self.resident_mb = None if resident_mb is None else int(resident_mb)
        self.preload = preload
        self.max_waiting = max_waiting
        self._stderr = stderr
        self._idle: list[_Worker] = []
        self._alive = 0
        self._busy = 0
        self._waiting = 0
        self._waiting_background = 0
        self._closed = False
        self._cond = threading.Condition()

    @property
    def waiting(self) -> int:
        """Calls waiting for a free worker now (not counting those being run, nor background calls)."""
        with self._cond:
            return self._waiting

    @property
    def busy(self) -> int:
        """Calls being run by a worker now."""
        with self._cond:
            return self._busy

    def _checkout(self, background: bool = False) -> _Worker:
        with self._cond:
            full = not (self._idle or self._alive < self.workers)
            if not background and full and self.max_waiting is not None and self._waiting >= self.max_waiting:
                raise PoolBusyError(
                    f"the server is busy ({self._waiting} analyses are waiting for a free worker); "
                    "please try again in a minute"
                )
            if background:
                self._waiting_background += 1
            else:
                self._waiting += 1
            try:
                while True:
                    if self._closed:
                        raise RuntimeError("the isolation pool is closed")
                    if background and self._waiting:  # a background call goes after every waiting call
                        self._cond.wait()
                        continue
                    if self._idle:
                        self._busy += 1
                        return self._idle.pop()
                    if self._alive < self.workers:
                        self._alive += 1
                        self._busy += 1
                        break
                    self._cond.wait()
            finally:
                if background:
                    self._waiting_background -= 1
                else:
                    self._waiting -= 1
                    if self._waiting_background:  # background calls wait for this one: let them look again
                        self._cond.notify_all()
        return self._spawn()

    def _spawn(self) -> _Worker:
        """A new worker process, its place already counted in ``_alive`` and ``_busy`` (given back on failure)."""
        try:
            return _Worker(self.memory_mb, self._stderr, self.preload)
        except BaseException:
            self._discard(None)
            raise

    def _checkin(self, worker: _Worker) -> None:
        with self._cond:
            self._busy -= 1
            if self._closed:
                worker.kill()
                self._alive -= 1
            else:
                self._idle.append(worker)
            self._notify()

    def _discard(self, worker: _Worker | None) -> int | None:
        code = worker.kill() if worker is not None else None
        with self._cond:
            self._alive -= 1
            self._busy -= 1
            self._notify()
        return code

    def _notify(self) -> None:
        # a worker came free: wake one waiter, or all of them while background calls wait too (the one woken could
        # be a background call that must go on waiting behind another call)
        if self._waiting_background:
            self._cond.notify_all()
        else:
            self._cond.notify()

    def warm(self, n: int = 1) -> None:
        """Start workers now until ``n`` are alive (they import the readers in the background); never waits for a
        busy worker."""
        with self._cond:
            count = max(0, min(n, self.workers) - self._alive) if not self._closed else 0
            self._alive += count
            self._busy += count
        for _ in range(count):
            self._checkin(self._spawn())

    def close(self) -> None:
        """Stop every idle worker; busy ones stop when their read ends."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._alive -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.kill()

    def run(
        self,
        reader: Callable[..., T],
        *args: Any,
        error: type[InputError] | None = None,
        label: str = "The file",
        step: str = "read",
        background: bool = False,
        **kwargs: Any,
    ) -> IsolatedRun:
        """Call ``reader(*args, **kwargs)`` in a worker; see the module docstring for what each outcome gives.

        Args:
            reader: a module-level function (it is pickled by reference).
            error: the ``InputError`` subclass for failures of the worker (default: from the reader's module).
            label: how the message names the input ("The uploaded file").
            step: ``read`` (a reader), ``analyse`` (an analysis step of the input, under the readers' limits) or
                ``analysis`` (a job of the analysis pool): how messages word a failure.
            background: a call that takes a worker only while no other call waits for one (warming workers up):
                it never delays a user's call that arrives after it, and is not counted in :attr:`waiting` nor
                bounded by ``max_waiting``.

        Raises:
            InputError: (the domain subclass) what the reader raised, or the worker crashed, hung or ran out of
                memory.
        """
        error = error or domain_error(reader)
        done, doing, advice = _STEPS[step]
        payload = pickle.dumps((reader, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        for attempt in range(2):
            worker = self._checkout(background)
            try:
                worker.wait_ready()
                start = time.monotonic()
                worker.send(payload)
            except (_WorkerDiedError, _WorkerTimeoutError):
                self._discard(worker)  # died while idle (killed from outside): one retry on a fresh worker
                if attempt == 0:
                    continue
                raise MedaiError(  # not the file's fault: exit code 1, not 2
                    "the isolated reader process could not start (see the server log); set MEDAI_ISOLATION=off "
                    "only to debug"
                ) from None
            watch = None if self.resident_mb is None else _ResidentWatch(worker, self.resident_mb)
            try:
                reply = worker.receive(start + self.time_limit_s)
            except (_WorkerTimeoutError, _WorkerDiedError) as exc:
                failure: BaseException | None = exc
            except BaseException:  # interrupted mid-reply: the worker's channel is out of step, replace it
                if watch is not None:
                    watch.stop()
                self._discard(worker)
                raise
            else:
                failure = None
            if watch is not None and watch.stop():  # killed for its memory (even if its reply got through first)
                self._discard(worker)
                raise error(
                    f"{label} could not be {done} safely: {doing} it needed more than {self.resident_mb} MiB of "
                    f"memory, so it was stopped. {advice}"
                ) from None
            if isinstance(failure, _WorkerTimeoutError):
                self._discard(worker)
                raise error(
                    f"{label} could not be {done} safely: {doing} it took longer than the {self.time_limit_s:g} s "
                    f"limit, so it was stopped. {advice}"
                ) from None
            if failure is not None:
                code = self._discard(worker)
                death = _death(code, self.memory_mb, doing)
                raise error(f"{label} could not be {done} safely: {death}. {advice}") from None
            wall = time.monotonic() - start
            return self._unpack(worker, reply, wall, error, label, step)
        raise AssertionError("unreachable")  # pragma: no cover

    def _unpack(
        self,
        worker: _Worker,
        reply: tuple[bytearray, list[bytearray]],
        wall: float,
        error: type[InputError],
        label: str,
        step: str = "read",
    ) -> IsolatedRun:
        blob, buffers = reply
        kind, body, peak_mb = pickle.loads(blob, buffers=buffers)
        if kind == "ok":
            self._checkin(worker)
            return IsolatedRun(body, wall, peak_mb)
        if kind == "memory":
            self._discard(worker)  # a MemoryError can leave a library half-initialised: start afresh
            limit = "the machine's memory" if self.memory_mb is None else f"the {self.memory_mb} MiB memory limit"
            done, doing, advice = _STEPS[step]
            raise error(f"{label} could not be {done} safely: {doing} it needed more than {limit}. {advice}")
        self._checkin(worker)
        exc, type_name, message, tb_text = body
        if exc is None:  # the exception could not be pickled
            if type_name == "input":
                raise error(message)
            raise RuntimeError(f"the isolated reader raised {type_name}: {message}") from _RemoteTracebackError(tb_text)
        if isinstance(exc, InputError):
            raise exc.with_traceback(None) from None
        raise exc.with_traceback(None) from _RemoteTracebackError(tb_text)


def _death(code: int | None, memory_mb: int | None, doing: str = "reading") -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if name == "SIGKILL":
            if memory_mb is None:
                return f"the {doing} process was killed ({name})"
            return f"the {doing} process was killed ({name}), most likely for using more than {memory_mb} MiB"
        return f"the {doing} process crashed ({name})"
    return f"the {doing} process stopped unexpectedly (exit code {code})"


# ------------------------------------------------------------------------------------------------ default pool

_default: IsolationPool | None = None
_default_key: tuple[int, float, int] | None = None
_default_lock = threading.Lock()


def default_pool() -> IsolationPool:
    """The process-wide pool, built from the settings (rebuilt when they change)."""
    global _default, _default_key
    from medai_core.config import get_settings

    settings = get_settings()
    key = (settings.isolation_workers, settings.isolation_time_s, settings.isolation_memory_mb)
    with _default_lock:
        if _default is None or _default_key != key:
            if _default is not None:
                _default.close()
            _default = IsolationPool(*key)
            _default_key = key
        return _default


def shutdown_default_pool() -> None:
    """Stop the process-wide pool's workers (registered with :mod:`atexit`)."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
            _default = None


atexit.register(shutdown_default_pool)


def run_isolated(
    reader: Callable[..., T],
    *args: Any,
    error: type[InputError] | None = None,
    label: str = "The file",
    step: str = "read",
    **kwargs: Any,
) -> IsolatedRun:
    """:meth:`IsolationPool.run` on the default pool, or in place when ``MEDAI_ISOLATION=off``."""
    from medai_core.config import get_settings

    if not get_settings().isolation:
        start = time.monotonic()
        value = reader(*args, **kwargs)
        return IsolatedRun(value, time.monotonic() - start, peak_rss_mb())
    return default_pool().run(reader, *args, error=error, label=label, step=step, **kwargs)


def read_isolated(
    reader: Callable[..., T],
    *args: Any,
    error: type[InputError] | None = None,
    label: str = "The file",
    **kwargs: Any,
) -> T:
    """``reader(*args, **kwargs)`` run in an isolated worker (see the module docstring).

    Example: ``read_isolated(read_cgm, data, name="export.csv", label="export.csv")``.

    Raises:
        InputError: the domain subclass: what the reader raised, or "could not be read safely" when the worker
            crashed, hung past the time limit or ran out of memory.
    """
    value: T = run_isolated(reader, *args, error=error, label=label, **kwargs).value
    return value
