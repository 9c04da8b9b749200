"""Property-based tests (Hypothesis) of the gene-panel reader, TMB, evidence matching and the survival model: any
input gives a result or a ``PanelInputError``; every result is finite and in range.

Readers run through the isolation pool with the fuzz command's checks (:func:`medai_core.fuzz.genes.check_genes`: VAF in
[0, 1], TMB finite and >= 0, evidence matching completes). CI runs the "ci" profile from ``tests/conftest.py``.
"""

from __future__ import annotations

import gzip
import random
import subprocess
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medai_core.errors import PanelInputError
from medai_core.fuzz import classify, mutate, seed_corpus
from medai_core.isolation import IsolationPool

CORPUS = seed_corpus("genes")
GENES = st.sampled_from(["BRAF", "EGFR", "TP53", "KRAS", "ERBB2", "IDH1", "MET", "PTEN", "FAKE1", "braf", " ", ""])
PROTEINS = st.one_of(
    st.sampled_from(["V600E", "p.V600E", "p.Val600Glu", "V600=", "p.V600%3D", "V600fs", "V600*", "p.?", "",
                     "L858R", "E746_A750del", "X14_splice", "amplification", "EML4-ALK", "R132H"]),
    st.text(max_size=12),
)  # fmt: skip
CONSEQUENCES = st.sampled_from(
    ["missense_variant", "stop_gained", "synonymous_variant", "frameshift_variant", "Missense_Mutation", "",
     "missense_variant&splice_region_variant", "protein_protein_contact", "amplification", "nonsense"]
)  # fmt: skip
VAFS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "0", "1", "0.5", "-0.1", "1.5", "50%", "abc", "NA"]),
)


@pytest.fixture(scope="module")
def pool() -> Iterator[IsolationPool]:
    """A one-worker pool for this module (10 s per case, 3 GiB)."""
    p = IsolationPool(workers=1, time_limit_s=10.0, memory_mb=3072, stderr=subprocess.DEVNULL)
    yield p
    p.close()


def _assert_result_or_rejection(pool: IsolationPool, data: bytes, name: str) -> None:
    outcome, detail, _ = classify(pool, "genes", data, name)
    assert outcome in ("result", "rejected"), f"{outcome}: {detail}"


@given(
    prefix=st.sampled_from([b"", b"##fileformat=VCFv4.2\n", b"Hugo_Symbol\tVariant_Classification\n", b"gene,"]),
    body=st.binary(max_size=4096),
    gz=st.booleans(),
)
def test_any_bytes_give_a_result_or_an_input_error(pool: IsolationPool, prefix: bytes, body: bytes, gz: bool) -> None:
    data = prefix + body
    _assert_result_or_rejection(pool, gzip.compress(data, mtime=0) if gz else data, "panel.maf")


@given(index=st.integers(0, len(CORPUS) - 1), seed=st.integers(0, 2**32 - 1))
def test_mutated_seed_files_give_a_result_or_an_input_error(pool: IsolationPool, index: int, seed: int) -> None:
    name, data, _ = CORPUS[index]
    mutated, _ = mutate(random.Random(seed), data, "genes", CORPUS[(index + 1) % len(CORPUS)][1])
    _assert_result_or_rejection(pool, mutated, name)


@given(
    rows=st.lists(st.tuples(GENES, PROTEINS, CONSEQUENCES, VAFS), min_size=0, max_size=40),
    sep=st.sampled_from([",", "\t"]),
)
def test_generated_tables_give_a_result_or_an_input_error(
    pool: IsolationPool, rows: list[tuple[str, str, str, str]], sep: str
) -> None:
    lines = [sep.join(("gene", "protein_change", "consequence", "vaf"))]
    lines += [sep.join(r) for r in rows]
    _assert_result_or_rejection(pool, ("\n".join(lines) + "\n").encode(), "panel.csv")


@given(alt=st.integers(-5, 10**6), ref=st.integers(-5, 10**6), depth=st.one_of(st.none(), st.integers(-5, 10**6)))
def test_maf_read_counts_give_a_vaf_in_0_1_or_an_input_error(alt: int, ref: int, depth: int | None) -> None:
    from medai_core.genomics.readers import read_panel

    head = ["Hugo_Symbol", "Variant_Classification", "HGVSp_Short", "Tumor_Sample_Barcode", "t_alt_count",
            "t_ref_count"] + (["t_depth"] if depth is not None else [])  # fmt: skip
    row = ["BRAF", "Missense_Mutation", "p.V600E", "T1", str(alt), str(ref)] + (
        [str(depth)] if depth is not None else []
    )
    data = ("\t".join(head) + "\n" + "\t".join(row) + "\n").encode()
    try:
        panel = read_panel(data, name="tumour.maf")
    except PanelInputError:
        return
    (call,) = panel.variants
    assert call.vaf is None or (np.isfinite(call.vaf) and 0.0 <= call.vaf <= 1.0)


@given(
    classes=st.lists(
        st.sampled_from(["Missense_Mutation", "Silent", "Nonsense_Mutation", "Frame_Shift_Del", "Intron", "Unknown"]),
        max_size=60,
    ),
    genes=st.lists(GENES.filter(str.strip), min_size=1, max_size=5),
    panel_name=st.sampled_from(["IMPACT341", "IMPACT410", "IMPACT468"]),
)
def test_tmb_is_finite_non_negative_and_counts_observed_nonsynonymous_calls(
    classes: list[str], genes: list[str], panel_name: str
) -> None:
    from medai_core.genomics.panels import resolve_panel
    from medai_core.genomics.readers import Variant
    from medai_core.genomics.tmb import compute_tmb

    panel = resolve_panel(panel_name)
    calls = [Variant(genes[i % len(genes)].upper(), "", c, None, "") for i, c in enumerate(classes)]
    tmb = compute_tmb(calls, panel, cancer_type="Melanoma")
    counted = sum(1 for v in calls if v.nonsynonymous and panel.observes(v.gene))
    assert tmb.n_nonsynonymous == counted
    assert np.isfinite(tmb.tmb_per_mb) and tmb.tmb_per_mb >= 0
    assert tmb.tmb_per_mb == pytest.approx(counted / panel.size_mb)
    assert tmb.percentile is None or 0 <= tmb.percentile <= 100


@pytest.fixture(scope="module")
def gene_model() -> object:
    from medai_core.models import load_model

    return load_model("gene_ici_survival")


@settings(max_examples=8)
@given(
    calls=st.lists(st.tuples(GENES.filter(str.strip), st.sampled_from(["V600E", "R175H", "G12D", "L858R", ""])),
                   max_size=30),
    tumour=st.sampled_from(["melanoma", "Non-Small Cell Lung Cancer", "bladder"]),
)  # fmt: skip
def test_survival_probabilities_are_in_0_1_and_intervals_ordered(
    gene_model: object, calls: list[tuple[str, str]], tumour: str
) -> None:
    from medai_core.genomics.analysis import analyse_bytes

    data = ("gene,protein_change\n" + "".join(f"{g},{p}\n" for g, p in calls)).encode()
    try:
        result = analyse_bytes(data, "panel.csv", model=gene_model, tumour_type=tumour)  # type: ignore[arg-type]
    except PanelInputError:
        return
    assert np.isfinite(result.tmb.tmb_per_mb) and result.tmb.tmb_per_mb >= 0
    for s in result.survival:
        for mean, low, high in (s.os_12m, s.os_24m):
            assert all(np.isfinite(v) and 0.0 <= v <= 1.0 for v in (mean, low, high))
            assert low <= mean + 1e-6 and mean <= high + 1e-6
    for v in result.variants:
        assert v.vaf is None or 0.0 <= v.vaf <= 1.0
