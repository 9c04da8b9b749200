"""The analysis pool (medai_core.workers) and the shared result store (medai_core.ui.cache.SharedResults)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from medai_core.errors import CGMInputError, MedaiError, PanelInputError
from medai_core.isolation import IsolationPool, PoolBusyError
from medai_core.ui.cache import SharedResults, result_key


def nap(seconds: float) -> float:
    """A job that holds its worker for a while (module level: the worker imports it by reference)."""
    time.sleep(seconds)
    return seconds


def holds(megabytes: int, seconds: float) -> int:
    """A job that fills ``megabytes`` MiB of memory (resident: every page written) and keeps it for ``seconds``."""
    block = np.ones(megabytes << 20, dtype=np.uint8)
    time.sleep(seconds)
    return int(block.size >> 20)


# --- SharedResults ---


def test_concurrent_callers_share_one_computation() -> None:
    store = SharedResults(max_entries=4, ttl_s=60.0)
    calls: list[int] = []
    gate = threading.Event()

    def compute() -> str:
        calls.append(1)
        gate.wait(10)
        return "result"

    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(store.get("k", compute))) for _ in range(8)]
    for thread in threads:
        thread.start()
    while not calls:
        time.sleep(0.01)
    gate.set()
    for thread in threads:
        thread.join(10)
    assert results == ["result"] * 8 and len(calls) == 1


def test_a_failed_computation_is_not_kept_and_reaches_its_caller() -> None:
    store = SharedResults(max_entries=4, ttl_s=60.0)

    def fails() -> str:
        raise PanelInputError("bad file")

    with pytest.raises(PanelInputError, match="bad file"):
        store.get("k", fails)
    assert len(store) == 0
    assert store.get("k", lambda: "ok") == "ok"


def test_least_recently_used_results_go_first() -> None:
    store = SharedResults(max_entries=2, ttl_s=60.0)
    store.get("a", lambda: 1)
    store.get("b", lambda: 2)
    store.get("a", lambda: -1)  # a hit: "a" becomes the most recent
    store.get("c", lambda: 3)
    assert len(store) == 2
    assert store.get("a", lambda: -1) == 1 and store.get("b", lambda: 20) == 20


def test_expired_results_are_recomputed() -> None:
    store = SharedResults(max_entries=2, ttl_s=0.0)
    store.get("a", lambda: 1)
    time.sleep(0.01)
    assert store.get("a", lambda: 2) == 2


def test_result_key_hashes_bytes_and_separates_options() -> None:
    assert result_key(b"x" * 10, "a", None) == result_key(b"x" * 10, "a", None)
    assert result_key(b"x", "a") != result_key(b"y", "a")
    assert result_key("ab", "c") != result_key("a", "bc")
    assert result_key(None) != result_key("None")


# --- the pool's queue ---


@pytest.fixture
def one_worker() -> Iterator[IsolationPool]:
    pool = IsolationPool(1, 60.0, None, preload=(), max_waiting=1)
    yield pool
    pool.close()


def _wait_until(condition: object, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.02)


def test_queue_counts_waiting_calls_and_refuses_beyond_its_bound(one_worker: IsolationPool) -> None:
    pool = one_worker
    pool.warm(1)
    done: list[float] = []
    first = threading.Thread(target=lambda: done.append(pool.run(nap, 1.0).value))
    first.start()
    _wait_until(lambda: pool.busy == 1)
    second = threading.Thread(target=lambda: done.append(pool.run(nap, 0.0).value))
    second.start()
    _wait_until(lambda: pool.waiting == 1)
    assert pool.busy == 1 and pool.waiting == 1
    with pytest.raises(PoolBusyError, match="busy") as caught:
        pool.run(nap, 0.0)
    assert isinstance(caught.value, MedaiError)
    first.join(60)
    second.join(60)
    assert sorted(done) == [0.0, 1.0] and pool.busy == 0 and pool.waiting == 0


def stamp() -> float:
    """A job that returns when it ran (the system's monotonic clock: the same in every process)."""
    return time.monotonic()


def test_a_background_call_waits_while_a_user_call_waits(one_worker: IsolationPool) -> None:
    """The workers' warm-up runs as background calls: a user's call waiting for a worker goes first, is the only
    one counted as waiting, and the queue's bound ignores background calls."""
    pool = one_worker
    pool.warm(1)
    for _ in range(4):  # the woken waiters race for the lock: every round must give the user the worker
        ran: dict[str, float] = {}
        holder = threading.Thread(target=lambda: pool.run(nap, 0.5))
        holder.start()
        _wait_until(lambda: pool.busy == 1)
        background = threading.Thread(
            target=lambda ran=ran: ran.update(background=pool.run(stamp, background=True).value)
        )
        background.start()
        time.sleep(0.1)
        assert pool.waiting == 0  # not among the analyses a user is told are ahead of them
        user = threading.Thread(target=lambda ran=ran: ran.update(user=pool.run(stamp).value))
        user.start()
        _wait_until(lambda: pool.waiting == 1)
        for thread in (holder, background, user):
            thread.join(60)
        assert set(ran) == {"user", "background"} and ran["user"] < ran["background"]
    assert pool.busy == 0 and pool.waiting == 0


def test_warming_starts_missing_workers_without_waiting_for_a_busy_one() -> None:
    """The app starts the workers on the server's first page run (a worker may already be busy, e.g. naming the
    device): ``warm`` starts the missing ones and returns while that call still runs."""
    pool = IsolationPool(2, 60.0, None, preload=())
    try:
        holder = threading.Thread(target=lambda: pool.run(nap, 3.0))
        holder.start()
        _wait_until(lambda: pool.busy == 1)
        warming = threading.Thread(target=pool.warm, args=(2,))
        warming.start()
        warming.join(60)
        assert pool.busy == 1  # returned while the first call still runs
        assert pool.run(stamp).value > 0  # the started worker takes the next call
        holder.join(60)
    finally:
        pool.close()


def test_pool_without_memory_limit_runs_calls() -> None:
    pool = IsolationPool(1, 60.0, None, preload=())
    try:
        assert pool.run(nap, 0.0).value == 0.0
    finally:
        pool.close()


def test_a_job_over_the_resident_memory_limit_is_stopped_and_the_pool_keeps_working() -> None:
    pool = IsolationPool(1, 120.0, None, preload=(), resident_mb=256)
    try:
        assert pool.run(holds, 16, 0.0, step="analysis").value == 16  # under the limit: left alone
        with pytest.raises(CGMInputError) as info:  # held far longer than the watch needs, far shorter than 120 s
            pool.run(holds, 512, 60.0, error=CGMInputError, label="export.csv", step="analysis")
        message = str(info.value)
        assert type(info.value) is CGMInputError
        assert message.startswith(
            "export.csv could not be analysed safely: analysing it needed more than 256 MiB of memory, so it was "
            "stopped."
        ), message
        assert "MEDAI_ANALYSIS_MEMORY_MB" in message
        assert pool.run(holds, 16, 0.0).value == 16  # a fresh worker took the killed one's place
        assert pool.busy == 0 and pool.waiting == 0
    finally:
        pool.close()


def test_pool_rejects_a_resident_limit_below_256_mib() -> None:
    with pytest.raises(ValueError, match="memory"):
        IsolationPool(1, 60.0, None, resident_mb=128)


# --- the analysis pool ---


def test_pool_size_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from medai_core import workers

    monkeypatch.setenv("MEDAI_ANALYSIS_WORKERS", "0")
    assert workers.analysis_workers() == 0 and workers.analysis_pool() is None
    monkeypatch.setenv("MEDAI_ANALYSIS_WORKERS", "3")
    assert workers.analysis_workers() == 3
    monkeypatch.setenv("MEDAI_ANALYSIS_WORKERS", "-1")
    with pytest.raises(MedaiError, match="MEDAI_ANALYSIS_WORKERS"):
        workers.analysis_workers()
    monkeypatch.delenv("MEDAI_ANALYSIS_WORKERS")
    assert 1 <= workers.analysis_workers() <= workers.MAX_DEFAULT_WORKERS


def test_analysis_memory_setting_reaches_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    from medai_core import workers

    monkeypatch.setenv("MEDAI_ANALYSIS_WORKERS", "1")
    monkeypatch.delenv("MEDAI_ANALYSIS_MEMORY_MB", raising=False)
    try:
        assert workers.analysis_memory_mb() == workers.ANALYSIS_MEMORY_MB == 4096
        pool = workers.analysis_pool()
        assert pool is not None and pool.resident_mb == 4096 and pool.memory_mb is None
        monkeypatch.setenv("MEDAI_ANALYSIS_MEMORY_MB", "512")
        replaced = workers.analysis_pool()  # a changed limit replaces the pool
        assert replaced is not pool and replaced is not None and replaced.resident_mb == 512
        for bad in ("100", "lots"):
            monkeypatch.setenv("MEDAI_ANALYSIS_MEMORY_MB", bad)
            with pytest.raises(MedaiError, match="MEDAI_ANALYSIS_MEMORY_MB"):
                workers.analysis_memory_mb()
    finally:
        workers.shutdown_analysis_pool()


def test_an_analysis_over_the_memory_limit_fails_with_the_domain_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from medai_core import workers

    monkeypatch.setenv("MEDAI_ANALYSIS_WORKERS", "1")
    monkeypatch.setenv("MEDAI_ANALYSIS_MEMORY_MB", "256")
    monkeypatch.setitem(workers.JOBS, "glucose", (holds, CGMInputError))  # a tiny job in place of the model's
    try:
        with pytest.raises(CGMInputError, match="analysing it needed more than 256 MiB of memory"):
            workers.run_job("glucose", 512, 60.0, label="The uploaded file")
        assert workers.run_job("glucose", 1, 0.0) == 1
    finally:
        workers.shutdown_analysis_pool()


def _same(a: object, b: object) -> bool:
    import dataclasses

    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(_same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a):
        return bool(np.isnan(b))
    return a == b


def test_gene_analysis_in_a_worker_equals_the_in_process_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from medai_core import workers
    from medai_core.domains import GENES
    from medai_core.genomics.demo import DEMO_FILENAME, demo_maf
    from medai_core.models import read_card
    from medai_core.models.registry import model_dir

    MODEL_ID = GENES.model_id
    version = read_card(model_dir(MODEL_ID)).version
    options = {"tumour_type": "Melanoma", "panel": "IMPACT468", "sample": None, "drug_class": "CTLA-4"}
    args = (MODEL_ID, version, demo_maf(), DEMO_FILENAME, None, {**options, "age_group": None, "sex": "Female"})
    monkeypatch.setenv("MEDAI_ANALYSIS_WORKERS", "1")
    try:
        pooled = workers.run_job("genes", *args)
        with pytest.raises(PanelInputError, match="tumour type"):  # the domain error crosses the process boundary
            workers.run_job("genes", *args[:5], {**args[5], "tumour_type": "no such cancer"})
    finally:
        workers.shutdown_analysis_pool()
    monkeypatch.setenv("MEDAI_ANALYSIS_WORKERS", "0")
    assert _same(pooled, workers.run_job("genes", *args))
