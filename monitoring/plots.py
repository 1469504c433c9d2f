"""PNG plots of the key series for docs/monitoring.md, from real Prometheus query results.

    .venv/bin/python -m monitoring.plots                       # needs `make up`: own Prometheus + load, then plots
    .venv/bin/python -m monitoring.plots --prometheus URL      # plot what an existing Prometheus holds

Without --prometheus it starts a Prometheus of its own (free port, temporary data, 2 s scrapes)
and the project's exporter if none runs, drives a bounded load through the HTTP entry (the
dashboards test's pass through every service, again and again for `--seconds`), waits half a
minute, and plots the run (at most `--minutes`) into docs/monitoring/*.png.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx

OUT = Path(__file__).resolve().parent.parent / "docs" / "monitoring"

PLOTS = [
    ("http-rate.png", "HTTP requests per second by service (1m rate)",
     "sum by (service) (rate(http_server_request_duration_seconds_count[1m]))", "{service}", "req/s"),
    ("http-p99.png", "HTTP p99 latency by service (1m window)",
     "histogram_quantile(0.99, sum by (service, le) (rate(http_server_request_duration_seconds_bucket[1m])))",
     "{service}", "seconds"),
    ("consumer-lag.png", "Consumer lag by group (events)",
     'sum by (consumergroup) (kafka_consumergroup_lag{consumergroup=~"calories-[a-z]+_[a-z_]+"})',
     "{consumergroup}", "events"),
    ("saga-funnel.png", "Saga: orders in flight by status, and finished", 'calories_sagas_in_flight or '
     'label_replace(sum by (outcome) (calories_sagas_finished_total), "status", "finished $1", "outcome", "(.*)")',
     "{status}", "orders"),
    ("events-applied.png", "Events applied per second by processor",
     'sum by (processor) (rate(calories_stream_events_total{outcome="applied"}[1m]))', "{processor}", "events/s"),
    ("cpu-per-process.png", "CPU by part of the stack", "process:calories_process_cpu:rate1m", "{process}",
     "cores"),
    ("memory-per-process.png", "Proportional memory (PSS) by part of the stack",
     "calories_process_proportional_memory_bytes / 2^20", "{process}", "MiB"),
]


def query_range(base: str, expr: str, start: float, end: float, step: float) -> list[dict]:
    resp = httpx.get(f"{base}/api/v1/query_range", params={"query": expr, "start": start, "end": end,
                                                           "step": step}, timeout=30)
    body = resp.json()
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body.get('error', resp.text)}")
    return body["data"]["result"]


def plot(base: str, minutes: float, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    end = time.time()
    start, step = end - minutes * 60, max(2.0, minutes * 60 / 300)
    written = []
    for name, title, expr, legend, unit in PLOTS:
        series = query_range(base, expr, start, end, step)
        fig, ax = plt.subplots(figsize=(9, 4.2), dpi=100)
        for s in sorted(series, key=lambda s: -max(float(v) for _, v in s["values"]))[:12]:
            xs = [datetime.fromtimestamp(float(t)) for t, _ in s["values"]]
            ys = [float(v) for _, v in s["values"]]
            ax.plot(xs, ys, label=legend.format_map(_Labels(s["metric"])), linewidth=1.4)
        ax.set_title(title)
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
        if series:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        else:
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center")
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(out / name)
        plt.close(fig)
        written.append(out / name)
    return written


class _Labels(dict):
    def __missing__(self, key: str) -> str:
        return "?"


@contextlib.contextmanager
def own_prometheus() -> Iterator[str]:
    """A Prometheus (and exporter, if none runs) of our own, as the dashboards test starts them."""
    from monitoring import local_stack
    from tests.monitoring.test_dashboards import _spawn, _stop, free_port

    prom_bin, _ = local_stack.ensure_prometheus()
    started = []
    with tempfile.TemporaryDirectory(prefix="calories-prom-") as tmp_dir:
        tmp = Path(tmp_dir)
        try:
            exporter_port = local_stack.EXPORTER_PORT
            if not local_stack.exporter_ready(exporter_port):
                exporter_port = free_port()
                argv, env = local_stack.exporter_args(port=exporter_port)
                started.append(_spawn(argv, tmp / "exporter.log", env))
            port = free_port()
            config = local_stack.render_config(tmp / "etc", exporter_port=exporter_port, prometheus_port=port,
                                               scrape_interval="2s")
            started.append(_spawn([prom_bin, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
                                   f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                                  tmp / "prometheus.log"))
            deadline = time.monotonic() + 60
            while not local_stack.prometheus_ready(port):
                if time.monotonic() > deadline:
                    raise SystemExit("Prometheus did not become ready")
                time.sleep(0.5)
            yield f"http://127.0.0.1:{port}"
        finally:
            for proc in reversed(started):
                _stop(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prometheus", help="plot from this Prometheus instead of starting one with a load")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=240.0,
                        help="how long the load runs (passes through every service, one after another)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.prometheus:
        written = plot(args.prometheus, args.minutes, args.out)
    else:
        from tests.monitoring.test_dashboards import short_load

        with own_prometheus() as base:
            t0 = time.monotonic()
            while time.monotonic() - t0 < args.seconds:  # bounded: stops by itself
                short_load()
            time.sleep(30)  # the quiet after the load, so the plots show it end
            written = plot(base, min(args.minutes, (time.monotonic() - t0) / 60), args.out)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
