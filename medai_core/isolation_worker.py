"""The worker side of :mod:`medai_core.isolation`: the loop each worker process runs, and the wire format both
sides share.

A worker is started as ``python -c "from medai_core.isolation_worker import worker_main; worker_main()" <memory MiB>
<modules>``: it sets its address-space limit (``0``: none), imports the modules, writes :data:`READY` and then
answers requests until the server closes its stdin. A request is a length-prefixed pickle of ``(function, args,
kwargs)``; a reply is ``(kind, body, peak MiB)`` with its array buffers sent out of band (see :func:`_reply`).
This module imports nothing of the project but :mod:`medai_core.errors`, so a worker starts with only the modules
it is told to preload.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
import traceback
from typing import Any

from medai_core.errors import InputError

__all__ = ["CHUNK", "HEADER", "READY", "REPLY_HEADER", "peak_rss_mb", "resident_mb", "widen_pipe", "worker_main"]

HEADER = struct.Struct("<Q")
"""A request's size."""
REPLY_HEADER = struct.Struct("<QQ")
"""A reply's pickle size and number of out-of-band buffers (their sizes follow, one ``<Q`` each)."""
CHUNK = 1 << 24
"""Bytes per read() or write() on a pipe (16 MiB)."""
READY = b"R"
"""Written once by a worker when its imports are done."""
_PIPE_BYTES = 1 << 20


def _status_mb(pid: int | str, field: str) -> float | None:
    """A memory field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``) in MiB, or None when it cannot be read (the
    process has gone, or this is not Linux)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return None


def resident_mb(pid: int) -> float | None:
    """The resident memory (``VmRSS``) of process ``pid`` in MiB; None when it cannot be read."""
    return _status_mb(pid, "VmRSS")


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB: ``VmHWM`` on Linux (``ru_maxrss`` would include the size of the
    server at the moment it started the worker, which survives ``exec``), ``ru_maxrss`` elsewhere."""
    peak = _status_mb("self", "VmHWM")
    if peak is not None:
        return peak
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return float("nan")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 1024.0 if sys.platform != "darwin" else maxrss / (1024.0 * 1024.0)


def _limit(memory_mb: int) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX: no limits
        return
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no core file of patient data


def widen_pipe(fd: int) -> None:
    """Ask Linux for a 1 MiB pipe buffer (default 64 KiB): a 60 MiB volume then crosses in 60 writes, not 1000."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_BYTES)
    except (ImportError, OSError):  # not Linux, or above /proc/sys/fs/pipe-max-size: the default buffer works
        pass


def _read_exact_fd(fd: int, size: int) -> bytearray | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    done = 0
    while done < size:
        n = os.readv(fd, [view[done : min(size, done + CHUNK)]])
        if n == 0:
            return None
        done += n
    return buffer


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data).cast("B")
    while view:
        n = os.write(fd, view[:CHUNK])
        view = view[n:]


def _reply(fd: int, kind: str, body: Any) -> None:
    buffers: list[pickle.PickleBuffer] = []
    try:
        try:  # arrays travel out of band: their bytes go to the pipe as they are, not copied into the pickle
            blob = pickle.dumps((kind, body, peak_rss_mb()), protocol=5, buffer_callback=buffers.append)
            raws = [b.raw() for b in buffers]
        except BufferError:  # a non-contiguous buffer: in band
            blob, raws = pickle.dumps((kind, body, peak_rss_mb()), protocol=5), []
    except MemoryError:
        blob = pickle.dumps(("memory", None, peak_rss_mb()))
    except Exception as exc:  # the result cannot be pickled: a bug of the reader, reported as such
        text = "".join(traceback.format_exception(exc))
        blob = pickle.dumps(("raised", (None, type(exc).__name__, str(exc), text), peak_rss_mb()))
    else:
        _write_all(
            fd, REPLY_HEADER.pack(len(blob), len(raws)) + struct.pack(f"<{len(raws)}Q", *(r.nbytes for r in raws))
        )
        _write_all(fd, blob)
        for raw in raws:
            _write_all(fd, raw)
        return
    _write_all(fd, REPLY_HEADER.pack(len(blob), 0))
    _write_all(fd, blob)


def worker_main() -> None:  # pragma: no cover - runs in the worker process (covered by tests/cli/test_isolation)
    """The worker loop: read a request, run it, answer; exit when the server closes the pipe."""
    out_fd = os.dup(1)
    os.dup2(2, 1)  # anything printed goes to stderr, never into the result channel
    sys.stdout = sys.stderr
    memory_mb = int(sys.argv[1])
    if memory_mb:
        _limit(memory_mb)
    import importlib

    for module in filter(None, sys.argv[2].split(",") if len(sys.argv) > 2 else ()):
        try:
            importlib.import_module(module)
        except Exception:  # a broken import surfaces on the read that needs it, with its traceback
            traceback.print_exc()
    try:
        _write_all(out_fd, READY)
        _serve(out_fd)
    except BrokenPipeError:  # the server went away (shut down, or gave up on this read) while we answered
        return


def _serve(out_fd: int) -> None:  # pragma: no cover - runs in the worker process
    """Answer requests from stdin on ``out_fd`` until the server closes stdin."""
    while True:
        header = _read_exact_fd(0, HEADER.size)
        if header is None:
            return
        (size,) = HEADER.unpack(header)
        request = _read_exact_fd(0, size)
        if request is None:
            return
        try:
            reader, args, kwargs = pickle.loads(request)
            del request
            value = reader(*args, **kwargs)
        except MemoryError:
            value = None
            _reply(out_fd, "memory", None)
            continue
        except BaseException as exc:
            text = "".join(traceback.format_exception(exc))
            try:
                pickle.loads(pickle.dumps(exc))
                body: tuple[Any, ...] = (exc, type(exc).__name__, str(exc), text)
            except Exception:
                kind = "input" if isinstance(exc, InputError) else type(exc).__name__
                body = (None, kind, str(exc), text)
            _reply(out_fd, "raised", body)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                return
            continue
        _reply(out_fd, "ok", value)
        del value
