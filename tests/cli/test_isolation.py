"""Isolated reading (medai_core.isolation): a crash, hang or memory blow-up in a reader never reaches the caller.

The hostile readers below are module-level so the worker can import them by reference.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import time
from collections.abc import Iterator

import numpy as np
import pytest

from medai_core.config import get_settings
from medai_core.errors import CGMInputError, ImageInputError, InputError, PanelInputError
from medai_core.isolation import IsolationPool, domain_error, read_isolated, run_isolated

CSQ_FORMAT = "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature|BIOTYPE|HGVSc|HGVSp|Protein_position|Amino_acids|CANONICAL"


def malformed_gt_vcf(gt: str = "99999999999999999999/0") -> bytes:
    """A VEP-annotated single-sample VCF whose GT htslib cannot parse, with an AD field read after it.

    In-process, cyvcf2's ``variant.format("AD")`` after "Couldn't read GT data" dereferences freed memory: SIGSEGV.
    """
    return (
        "##fileformat=VCFv4.2\n"
        f'##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: '
        f'{CSQ_FORMAT}">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n"
        "7\t140453136\t.\tA\tT\t.\tPASS\tCSQ=T|missense_variant|MODERATE|BRAF|ENSG1|ENST1|protein_coding|c.1799T>A|"
        f"ENSP1:p.Val600Glu|600|V/E|YES\tGT:AD\t{gt}:60,40\n"
    ).encode()


# --- hostile readers (run in the worker) ---


def echo_length(data: bytes, *, scale: int = 1) -> int:
    """A well-behaved reader."""
    return len(data) * scale


def calls_abort(data: bytes) -> None:
    """A reader whose C library aborts."""
    os.abort()


def segfaults(data: bytes) -> bytes:
    """A reader whose C library dereferences NULL."""
    return ctypes.string_at(0)


def sleeps(data: bytes) -> None:
    """A reader stuck in a loop (here: asleep) far past any limit."""
    time.sleep(600)


def allocates(data: bytes) -> int:
    """A reader that decodes a 'bomb': 8 GiB at once."""
    return int(np.ones(8 << 30, dtype=np.uint8).sum())


def raises_input_error(data: bytes) -> None:
    """A reader that rejects its input the normal way."""
    raise CGMInputError("the glucose column holds text: 'abc' on line 3. Accepted: numbers in mg/dL or mmol/L.")


def raises_bug(data: bytes) -> None:
    """A reader with a bug (an exception outside the InputError tree)."""
    return {}["Event Type"]  # type: ignore[no-any-return]


def exits(data: bytes) -> None:
    """A reader that calls os._exit (a library that 'handles' an error by exiting)."""
    os._exit(3)


@pytest.fixture(scope="module")
def pool() -> Iterator[IsolationPool]:
    """One worker, a 3 s limit, 1 GiB of address space; stderr silenced (the crashes print)."""
    p = IsolationPool(workers=1, time_limit_s=3.0, memory_mb=1024, stderr=subprocess.DEVNULL)
    yield p
    p.close()


def test_result_comes_back_with_its_cost(pool: IsolationPool) -> None:
    run = pool.run(echo_length, b"abcd", scale=3)
    assert run.value == 12
    assert run.wall_s > 0
    assert 20 < run.worker_peak_rss_mb < 1024


@pytest.mark.parametrize(
    ("reader", "error", "reason"),
    [
        (calls_abort, CGMInputError, "crashed (SIGABRT)"),
        (segfaults, ImageInputError, "crashed (SIGSEGV)"),
        (sleeps, PanelInputError, "longer than the 3 s limit"),
        (allocates, CGMInputError, "more than the 1024 MiB memory limit"),
        (exits, InputError, "stopped unexpectedly (exit code 3)"),
    ],
)
def test_worker_failure_is_a_domain_input_error_and_the_next_read_works(
    pool: IsolationPool, reader: object, error: type[InputError], reason: str
) -> None:
    start = time.monotonic()
    with pytest.raises(error, match="could not be read safely") as info:
        pool.run(reader, b"x", error=error, label="upload.bin")  # type: ignore[arg-type]
    assert type(info.value) is error
    assert reason in str(info.value)
    assert str(info.value).startswith("upload.bin could not be read safely")
    assert time.monotonic() - start < 30
    assert pool.run(echo_length, b"next").value == 4


def test_input_error_comes_back_as_the_same_type_and_message(pool: IsolationPool) -> None:
    with pytest.raises(CGMInputError) as info:
        pool.run(raises_input_error, b"x")
    assert type(info.value) is CGMInputError
    assert str(info.value) == "the glucose column holds text: 'abc' on line 3. Accepted: numbers in mg/dL or mmol/L."
    assert pool.run(echo_length, b"ok").value == 2


def test_a_bug_in_the_reader_surfaces_as_itself_with_the_worker_traceback(pool: IsolationPool) -> None:
    with pytest.raises(KeyError, match="Event Type") as info:
        pool.run(raises_bug, b"x")
    assert not isinstance(info.value, InputError)
    assert "raises_bug" in str(info.value.__cause__)
    assert pool.run(echo_length, b"ok").value == 2


@pytest.mark.parametrize("gt", ["99999999999999999999/0", "0/-1"])
def test_malformed_gt_vcf_is_an_input_error_not_a_dead_process(pool: IsolationPool, gt: str) -> None:
    from medai_core.genomics.readers import read_panel

    with pytest.raises(PanelInputError):  # in-process, both end the interpreter with SIGSEGV (cyvcf2 / htslib)
        pool.run(read_panel, malformed_gt_vcf(gt), name="tumour.vcf", label="tumour.vcf")
    panel = pool.run(read_panel, malformed_gt_vcf("0/1"), name="tumour.vcf").value
    assert [(v.gene, v.protein_change) for v in panel.variants] == [("BRAF", "V600E")]
    assert panel.variants[0].vaf == pytest.approx(0.4)


def test_concurrent_reads_all_complete() -> None:
    from concurrent.futures import ThreadPoolExecutor

    p = IsolationPool(workers=2, time_limit_s=20.0, memory_mb=1024, stderr=subprocess.DEVNULL)
    try:
        with ThreadPoolExecutor(4) as executor:
            values = list(executor.map(lambda n: p.run(echo_length, b"x" * n).value, range(1, 9)))
        assert values == list(range(1, 9))
    finally:
        p.close()
    with pytest.raises(RuntimeError, match="closed"):
        p.run(echo_length, b"x")


def test_pool_rejects_unusable_limits() -> None:
    with pytest.raises(ValueError, match="worker"):
        IsolationPool(workers=0, time_limit_s=1.0, memory_mb=1024)
    with pytest.raises(ValueError, match="memory"):
        IsolationPool(workers=1, time_limit_s=1.0, memory_mb=64)


def test_domain_error_follows_the_reader_module() -> None:
    from medai_core.ct.readers import read_ct
    from medai_core.genomics.readers import read_panel

    assert domain_error(read_ct) is ImageInputError
    assert domain_error(read_panel) is PanelInputError
    assert domain_error(echo_length) is InputError


def test_read_isolated_uses_the_default_pool_and_returns_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    from medai_core.genomics.readers import read_panel

    monkeypatch.setenv("MEDAI_ISOLATION_TIME_S", "20")
    panel = read_isolated(read_panel, b"gene,protein_change\nBRAF,V600E\n", name="calls.csv")
    assert [(v.gene, v.protein_change) for v in panel.variants] == [("BRAF", "V600E")]
    with pytest.raises(PanelInputError, match="empty"):
        read_isolated(read_panel, b"   ", name="calls.csv")


def test_isolation_off_runs_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAI_ISOLATION", "off")
    run = run_isolated(echo_length, b"abc")
    assert run.value == 3
    with pytest.raises(KeyError):  # in place: the bug is raised directly, no worker traceback
        run_isolated(raises_bug, b"x")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MEDAI_ISOLATION", "maybe", "on or off"),
        ("MEDAI_ISOLATION_TIME_S", "soon", "must be a number"),
        ("MEDAI_ISOLATION_TIME_S", "0", "at least"),
        ("MEDAI_ISOLATION_TIME_S", "inf", "at least"),
        ("MEDAI_ISOLATION_MEMORY_MB", "100", "at least 256"),
        ("MEDAI_ISOLATION_WORKERS", "0", "at least 1"),
        ("MEDAI_ISOLATION_WORKERS", "1.5", "must be a number"),
    ],
)
def test_isolation_settings_are_checked(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=message):
        get_settings()


def test_isolation_settings_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("MEDAI_ISOLATION", "MEDAI_ISOLATION_TIME_S", "MEDAI_ISOLATION_MEMORY_MB"):
        monkeypatch.delenv(variable, raising=False)
    settings = get_settings()
    assert settings.isolation and settings.isolation_time_s == 30.0 and settings.isolation_memory_mb == 3072
    monkeypatch.setenv("MEDAI_ISOLATION", "OFF")
    monkeypatch.setenv("MEDAI_ISOLATION_MEMORY_MB", "2048")
    settings = get_settings()
    assert not settings.isolation and settings.isolation_memory_mb == 2048


# --- the CLI reads through the worker ---


def test_predict_genes_on_the_malformed_gt_vcf_exits_2(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    from medai_core.cli import main

    path = Path(str(tmp_path)) / "tumour.vcf"
    path.write_bytes(malformed_gt_vcf())
    code = main(["predict", "genes", str(path), "--tumour-type", "melanoma"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


# --- the CT volume cache (medai_core.ui.cache) ---


def _study(hu: np.ndarray) -> object:
    from medai_core.ct.readers import CTStudy

    return CTStudy(hu=hu.astype(np.float32), spacing_mm=(0.7, 0.7), slice_spacing_mm=1.25, source_format="DICOM")


def test_ct_volume_store_keeps_integer_hu_as_int16_and_returns_float32() -> None:
    from medai_core.ui.cache import CTVolumeStore

    store = CTVolumeStore(max_bytes=10_000_000, ttl_s=60)
    hu = np.arange(-1024, 1024, dtype=np.float32).reshape(2, 32, 32)
    store.put("a", _study(hu))  # type: ignore[arg-type]
    assert store.total_bytes == hu.size * 2  # int16: half of float32
    got = store.get("a")
    assert got is not None and got.hu.dtype == np.float32
    np.testing.assert_array_equal(got.hu, hu)
    got.hu[0, 0, 0] = 5  # the caller's copy is its own
    again = store.get("a")
    assert again is not None and again.hu[0, 0, 0] == -1024


def test_ct_volume_store_keeps_fractional_hu_exactly() -> None:
    from medai_core.ui.cache import CTVolumeStore

    store = CTVolumeStore(max_bytes=10_000_000, ttl_s=60)
    hu = np.linspace(-1000.0, 400.0, 2 * 16 * 16).reshape(2, 16, 16)
    store.put("png", _study(hu))  # type: ignore[arg-type]
    assert store.total_bytes == hu.size * 4  # not integer: float32 kept, nothing rounded
    got = store.get("png")
    assert got is not None
    np.testing.assert_array_equal(got.hu, hu.astype(np.float32))


def test_ct_volume_store_evicts_least_recent_beyond_the_byte_cap_and_skips_oversize() -> None:
    from medai_core.ui.cache import CTVolumeStore

    one = np.zeros((4, 64, 64), dtype=np.float32)  # 32 KiB as int16
    store = CTVolumeStore(max_bytes=3 * one.size * 2, ttl_s=60)
    for key in "abc":
        store.put(key, _study(one))  # type: ignore[arg-type]
    assert store.get("a") is not None  # a is now the most recent
    store.put("d", _study(one))  # type: ignore[arg-type]
    assert len(store) == 3 and store.total_bytes <= store.max_bytes
    assert store.get("b") is None and store.get("a") is not None
    store.put("big", _study(np.zeros((40, 64, 64))))  # type: ignore[arg-type]
    assert store.get("big") is None and len(store) == 3


def test_ct_volume_store_expires_after_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    from medai_core.ui import cache

    now = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: now[0])
    store = cache.CTVolumeStore(max_bytes=10_000_000, ttl_s=60)
    store.put("a", _study(np.zeros((1, 8, 8))))  # type: ignore[arg-type]
    now[0] += 59
    assert store.get("a") is not None  # use refreshes the entry
    now[0] += 59
    assert store.get("a") is not None
    now[0] += 61
    assert store.get("a") is None and len(store) == 0


def test_read_ct_upload_reads_in_the_worker_and_holds_identical_uploads_once() -> None:
    from medai_core.ct.demo import demo_bytes
    from medai_core.ui.cache import get_ct_volume_store, read_ct_upload

    data, _ = demo_bytes("ct_small")
    store = get_ct_volume_store()
    store.clear()  # the store is process-wide: an earlier test may hold the same demo slice
    first = read_ct_upload(data, "first session.dcm")
    second = read_ct_upload(data, "another name, another session.dcm")
    assert len(store) == 1
    np.testing.assert_array_equal(first.hu, second.hu)
    assert first.hu.dtype == np.float32 and first.hu is not second.hu
    with pytest.raises(ImageInputError):
        read_ct_upload(b"not an image at all", "x.bin")


def returns_array(n: int) -> np.ndarray:
    """A reader that returns a decoded volume."""
    return np.arange(n, dtype=np.float32).reshape(-1, 8, 8)


def test_arrays_come_back_whole_and_writable(pool: IsolationPool) -> None:
    volume = pool.run(returns_array, 64 * 300).value
    np.testing.assert_array_equal(volume, np.arange(64 * 300, dtype=np.float32).reshape(-1, 8, 8))
    volume[0, 0, 0] = -1  # the caller owns its copy
    assert volume.flags.writeable and volume[0, 0, 0] == -1
    strided = pool.run(returns_array, 64).value[:, ::2]  # views work too
    assert strided.shape == (1, 4, 8)


def test_a_worker_killed_while_idle_is_replaced_without_failing_the_read(pool: IsolationPool) -> None:
    pool.run(echo_length, b"warm")
    (idle,) = pool._idle
    idle.proc.kill()
    idle.proc.wait()
    assert pool.run(echo_length, b"after").value == 5


def test_a_worker_that_cannot_start_is_a_server_error_not_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from medai_core import isolation
    from medai_core.errors import MedaiError

    monkeypatch.setattr(isolation, "PRELOAD_MODULES", ())
    monkeypatch.setattr(isolation, "READY", b"?")  # the worker's ready byte never matches: it "cannot start"
    p = IsolationPool(workers=1, time_limit_s=3.0, memory_mb=1024, stderr=subprocess.DEVNULL)
    try:
        with pytest.raises(MedaiError, match="could not start") as info:
            p.run(echo_length, b"x")
        assert not isinstance(info.value, InputError)
    finally:
        p.close()


def test_gene_page_reader_survives_the_segfaulting_vcf_and_reads_the_next_upload() -> None:
    from medai_core.ui.cache import list_panel_samples

    with pytest.raises(PanelInputError, match="genotype"):  # refused before cyvcf2 (the worker no longer crashes)
        list_panel_samples(malformed_gt_vcf(), "tumour.vcf")
    assert list_panel_samples(malformed_gt_vcf("0/1"), "tumour.vcf") == ("TUMOR",)


def test_worker_peak_memory_is_its_own_not_the_servers_at_start() -> None:
    ballast = np.ones(400 * 2**20, dtype=np.uint8)  # the "server" holds 400 MiB when the worker starts
    p = IsolationPool(workers=1, time_limit_s=20.0, memory_mb=1024, stderr=subprocess.DEVNULL)
    try:
        run = p.run(echo_length, b"x")
    finally:
        p.close()
    assert int(ballast[-1]) == 1
    assert 20 < run.worker_peak_rss_mb < 350


def test_resident_memory_of_a_process_and_of_one_that_has_gone() -> None:
    from medai_core.isolation_worker import peak_rss_mb, resident_mb

    ballast = np.ones(64 * 2**20, dtype=np.uint8)
    rss = resident_mb(os.getpid())
    assert rss is not None and 64 < rss <= peak_rss_mb()
    assert int(ballast[-1]) == 1
    assert resident_mb(2**22 + 1) is None  # above Linux's largest pid: no such process
