"""The files in deploy/ agree with the code: the dashboard reads series wenxing exports, the
unit restarts without a start limit, the backup timer runs the backup script."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from wenxing import metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _exported() -> set[str]:
    metrics.REQUESTS.labels("/", "GET", "200")  # (series with labels show once they exist)
    metrics.LATENCY.labels("/")
    registry = CollectorRegistry()
    for metric in (
        metrics.REQUESTS,
        metrics.LATENCY,
        metrics.COPIES,
        metrics.TRACES,
        metrics.ROBOT_DELIVERIES,
    ):
        registry.register(metrics._Forward(metric))
    text = generate_latest(registry).decode()
    names = set(re.findall(r"^(wenxing_\w+?)(?:\{| )", text, re.M))
    gauges = (
        "job_queue_depth",
        "job_queue_oldest_seconds",
        "search_index_lag_changes",
        "search_index_rebuilding",
    )
    return names | {f"wenxing_{g}" for g in gauges}


def test_the_dashboard_reads_only_series_wenxing_exports():
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"wenxing_\w+", target["expr"])
    }
    assert used and used <= _exported(), used - _exported()


def test_the_unit_restarts_forever_and_the_timer_backs_up():
    unit = (DEPLOY / "wenxing.service").read_text()
    assert "Restart=always" in unit and "RestartSec=" in unit
    assert "StartLimitIntervalSec=0" in unit
    service = (DEPLOY / "wenxing-backup.service").read_text()
    assert "ExecStart=/srv/wenxing/deploy/wenxing-backup" in service
    assert "OnCalendar=" in (DEPLOY / "wenxing-backup.timer").read_text()
    script = (DEPLOY / "wenxing-backup").read_text()
    assert '"$WENXING" backup' in script and "KEEP_DAYS" in script
