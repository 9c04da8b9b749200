"""Warm-latency benchmark of the glucose analysis (``python -m medai_core bench glucose``).

Stages: reading the Dexcom fixture (when ``../shared/data`` is present), the AGP report of 90 days of readings,
one forecast with intervals and integrated-gradients attributions, the backtest over 14 days, and the personalisation
(bias learnt on the first half, backtest before/after on the second) over 14 and 90 days. The issue's
target is well under 200 ms warm on 2 CPU cores for the AGP (90 days) and for forecast + attributions.
"""

from __future__ import annotations

from medai_core.benchmarking import BenchRow, format_table, measure
from medai_core.config import REPO_ROOT
from medai_core.domains import GLUCOSE

__all__ = ["run_bench"]


def run_bench(repeat: int = 20) -> str:
    """Run the benchmark and return the table."""
    from medai_core.glucose.agp import agp_report
    from medai_core.glucose.analysis import backtest, forecast_from_last
    from medai_core.glucose.forecast import params_from_artifacts
    from medai_core.glucose.readers import read_cgm
    from medai_core.glucose.simulate import simulated_patient
    from medai_core.models import load_model

    rows: list[BenchRow] = []
    fixture = REPO_ROOT / "tests" / "data" / "glucose" / "dexcom_clarity_g7_mgdl.csv"
    if fixture.is_file():  # the synthetic fixture (scripts/make_cgm_fixtures.py); absent from an installed package
        data = fixture.read_bytes()
        rows.append(measure("read Dexcom Clarity export (4 days)", lambda: read_cgm(data), repeat=repeat))
    long = simulated_patient(days=90)
    rows.append(measure("5-minute grid, 90 days", long.grid, repeat=repeat))
    grid90 = long.grid()
    agp_row = measure("AGP report, 90 days", lambda: agp_report(long.times, long.glucose_mg_dl, grid90), repeat=repeat)
    rows.append(agp_row)
    model = load_model(GLUCOSE.model_id)
    params = params_from_artifacts(model.card.artifacts)
    short = simulated_patient(days=14)
    grid14 = short.grid()
    rows.append(
        measure(
            "forecast + intervals + hypo risk + IG (32 steps)",
            lambda: forecast_from_last(grid14, model, params),
            repeat=repeat,
        )
    )
    rows.append(
        measure(
            "backtest, 14 days (rolling every 30 min)",
            lambda: backtest(grid14, model, params),
            repeat=max(5, repeat // 2),
        )
    )
    from medai_core.glucose.personalise import personalise

    rows.append(
        measure(
            "personalisation: bias + backtest, 14 days",
            lambda: personalise(grid14, model.predict, params),
            repeat=max(5, repeat // 2),
        )
    )
    rows.append(
        measure(
            "personalisation: bias + backtest, 90 days (target < 3 s)",
            lambda: personalise(grid90, model.predict, params),
            repeat=max(3, repeat // 4),
        )
    )
    return format_table(
        rows, title="glucose: warm latency (target: AGP 90 d and forecast+attributions well under 200 ms)"
    )
