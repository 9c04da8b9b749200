"""``benchmarks/load.py``'s bookkeeping: session counts, names of the Ray processes, and the README table."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.load import MAX_SESSIONS, format_report, markdown_table, parse_sessions, process_kind


def test_parse_sessions_takes_one_count_or_several() -> None:
    assert parse_sessions("20") == [20]
    assert parse_sessions("1,5,10,20") == [1, 5, 10, 20]
    assert parse_sessions("1, 5,") == [1, 5]
    for bad in ("0", f"1,{MAX_SESSIONS + 1}", "", ","):
        with pytest.raises(ValueError, match="--sessions"):
            parse_sessions(bad)
    with pytest.raises(ValueError):
        parse_sessions("five")


@pytest.mark.parametrize(
    ("pid", "cmdline", "kind"),
    [
        (10, ["python", "-m", "medai_core", "serve"], "serve command (Ray driver)"),
        (11, ["ray::ServeReplica:ct_nodule:ct_nodule"], "replica ct_nodule"),
        (12, ["ray::ServeReplica:health:HealthDeployment"], "replica health"),
        (13, ["ray::ServeController.listen_for_change"], "ServeController"),
        (14, ["ray::ProxyActor"], "ProxyActor"),
        (15, ["/site-packages/ray/core/src/ray/raylet/raylet", "--raylet_socket_name=/tmp/x"], "raylet"),
        (16, ["/usr/bin/python", "-u", "/site-packages/ray/_private/log_monitor.py", "--x"], "log_monitor"),
        (17, ["/usr/bin/python3.11", "-c", "pass"], "python"),
        (18, [], "other"),
    ],
)
def test_process_kind_names_each_ray_process(pid: int, cmdline: list[str], kind: str) -> None:
    assert process_kind(10, pid, cmdline) == kind


def _report(mode: str, sessions: int, p50: float, errors: int = 0) -> dict[str, Any]:
    step = {
        "n": sessions,
        "p50_s": p50,
        "p95_s": 2 * p50,
        "errors": errors,
        "first_error": "timeout" if errors else None,
        "cpu_s_mean": 0.5,
        "bytes_mean": 2000.0,
        "serve_cpu_s_mean": 0.25,
    }
    return {
        "mode": mode,
        "sessions": sessions,
        "wall_s": 10.0 * sessions,
        "warmup_errors": [],
        "steps": {"home:open": step, "ct:analyse": {**step, "p50_s": 3 * p50, "p95_s": 6 * p50}},
        "app_cpu_s": 7.0,
        "workers_cpu_s": 2.0,
        "serve_cpu_s": 4.0 if mode == "serve" else 0.0,
        "serve_cpu_s_by_kind": {"replica ct_nodule": 3.0, "raylet": 1.0} if mode == "serve" else {},
        "loadavg_start": 1.0,
        "loadavg_peak": 2.0,
        "loadavg_end": 1.5,
        "app_rss_baseline_mb": 2000.0,
        "app_rss_peak_mb": 2100.0,
        "app_mb_per_session": 100.0 / sessions,
        "serve_rss_baseline_mb": 4000.0 if mode == "serve" else 0.0,
        "serve_rss_peak_mb": 4050.0 if mode == "serve" else 0.0,
    }


def test_markdown_table_has_a_column_per_session_count_in_order() -> None:
    reports = [_report("serve", 5, 1.0, errors=2), _report("serve", 1, 0.5), _report("inprocess", 1, 9.0)]
    lines = markdown_table(reports, "serve").splitlines()
    assert lines[0] == (
        "| step | 1 sessions p50 / p95 s (CPU s, Ray CPU s) | 5 sessions p50 / p95 s (CPU s, Ray CPU s) |"
    )
    assert lines[1] == "|---|---|---|"
    assert lines[2] == "| home:open | 0.50 / 1.00 (0.50, 0.25) | 1.00 / 2.00 (0.50, 0.25) |"
    assert lines[3] == "| ct:analyse | 1.50 / 3.00 (0.50, 0.25) | 3.00 / 6.00 (0.50, 0.25) |"
    assert "| errors | 0 | 4 |" in lines
    assert "| CPU s: Streamlit process / workers / Ray | 7 / 2 / 4 | 7 / 2 / 4 |" in lines
    assert "| Ray RSS after warm-up / peak MiB | 4000 / 4050 | 4000 / 4050 |" in lines
    inprocess = markdown_table(reports, "inprocess").splitlines()
    assert inprocess[2] == "| home:open | 9.00 / 18.00 (0.50) |"
    assert not any("Ray" in line for line in inprocess)


def test_format_report_shows_ray_cpu_only_in_serve_mode() -> None:
    text = format_report([_report("inprocess", 1, 1.0), _report("serve", 1, 1.0)])
    rows = [line.split() for line in text.splitlines()[1:5]]
    assert rows[0][0] == "inprocess" and rows[0][-2] == "-"
    assert rows[2][0] == "serve" and rows[2][-2] == "0.25"
    assert "Ray Serve RSS 4000 -> peak 4050 MiB, CPU 4.0 s (replica ct_nodule 3.0, raylet 1.0)" in text
