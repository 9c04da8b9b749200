"""``python -m medai_core bench genes``: warm latency of a 500-variant MAF to the full result on this machine."""

from __future__ import annotations

from medai_core.domains import GENES

__all__ = ["run_bench"]


def run_bench(repeat: int = 20) -> str:
    """Time each stage (read, evidence, TMB, survival + interval, attributions) and the whole analysis."""
    from medai_core.benchmarking import format_table, measure
    from medai_core.genomics.analysis import analyse_bytes, analyse_panel
    from medai_core.genomics.demo import demo_maf
    from medai_core.genomics.evidence import load_evidence, match_evidence
    from medai_core.genomics.panels import resolve_panel
    from medai_core.genomics.readers import read_panel
    from medai_core.genomics.tmb import compute_tmb
    from medai_core.models import configure_runtime, load_model

    device = configure_runtime()
    loaded = load_model(GENES.model_id)
    data = demo_maf(500)
    base = load_evidence()
    panel = resolve_panel("IMPACT468")
    calls = read_panel(data, name="bench.maf").for_sample(None)
    tumour = "Melanoma"
    ref = loaded.card.artifacts["tmb_reference"]
    rows = [
        measure("read 500-variant MAF", lambda: read_panel(data, name="bench.maf"), repeat=repeat),
        measure("evidence match (CIViC + FDA)", lambda: match_evidence(base, calls, tumour), repeat=repeat),
        measure(
            "TMB + percentile", lambda: compute_tmb(calls, panel, cancer_type=tumour, reference=ref), repeat=repeat
        ),
        measure(
            "survival x3 classes + IG (32 steps)",
            lambda: analyse_panel(calls, model=loaded, tumour_type=tumour, panel=panel, evidence_base=base),
            repeat=repeat,
        ),
    ]
    full = measure(
        "full: bytes -> GeneResult",
        lambda: analyse_bytes(
            data, "bench.maf", model=loaded, tumour_type=tumour, panel="IMPACT468", evidence_base=base
        ),
        repeat=repeat,
    )
    target = 200.0
    rows.append(
        type(full)(
            full.stage,
            full.median_ms,
            full.p90_ms,
            full.calls,
            f"target < {target:.0f} ms: {'met' if full.p90_ms < target else 'NOT met'}",
        )
    )
    civic = base.civic_release or "not installed"
    return format_table(rows, title=f"genes bench ({device.label}; CIViC {civic}; 500 calls, warm)")
