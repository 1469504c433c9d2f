"""The report of one load-test run folder (written by `loadtest.run`): PNG plots and `report.md`.

    python -m loadtest.report docs/loadtest/full      # again, from the files alone

Sources, all in the folder: locust's `locust_stats.csv` (the per-endpoint table is copied from it
as it is), `requests.csv.gz` (every request, for per-step percentiles: nearest rank, exact),
`lag.csv`, `probe.csv`, `processes.csv`, `saga.csv`, `orders.csv` + `saga_history.csv`,
`limits.json`, `meta.json` and `run.json`.

The knee: the highest step such that it and every step below it had p99 under 500 ms, no failed
request, and every processor group's lag back at zero at least once within the step.
"""

from __future__ import annotations

import csv
import gzip
import json
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

P99_LIMIT_MS = 500.0
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(-(-q * len(ordered) // 1)) - 1))]


def read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as f:
        return list(csv.DictReader(f))


def steps_of(meta: dict, run: dict) -> list[dict]:
    """The load's windows: each step (users, start, end), then the hold, in wall-clock seconds."""
    t0 = meta["started"]
    if meta["mode"] == "rate":
        return [{"label": f"{meta['rate']:g} journeys/s", "users": meta["rate_users"], "start": t0,
                 "end": t0 + meta["rate_seconds"]}]
    out, users, k = [], 0, 0
    while users < meta["max_users"]:
        users = min(meta["max_users"], (k + 1) * meta["step_users"])
        start = t0 + k * meta["step_seconds"]
        out.append({"label": f"step {k + 1}: {users} users", "users": users, "start": start,
                    "end": start + meta["step_seconds"]})
        k += 1
    if meta["hold_seconds"] > 0:
        out.append({"label": f"hold: {users} users", "users": users, "start": out[-1]["end"],
                    "end": out[-1]["end"] + meta["hold_seconds"]})
    return out


def analyse(folder: Path) -> dict:
    meta = json.loads((folder / "meta.json").read_text())
    run = json.loads((folder / "run.json").read_text()) if (folder / "run.json").exists() else {}
    limits = json.loads((folder / "limits.json").read_text()) if (folder / "limits.json").exists() else {}
    stats = read_csv(folder / "locust_stats.csv")
    requests = read_csv(folder / "requests.csv.gz") or read_csv(folder / "requests.csv")
    reqs = [(float(r["t"]), r["method"], r["name"], float(r["ms"]), r["ok"] == "1") for r in requests]
    lag = read_csv(folder / "lag.csv")
    lag_by_group: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for r in lag:
        lag_by_group[r["group"]].append((float(r["t"]), int(r["lag"])))
    steps = steps_of(meta, run)
    for s in steps:
        window = [r for r in reqs if s["start"] <= r[0] < s["end"]]
        ms = [r[3] for r in window]
        secs = s["end"] - s["start"]
        rest = [r[3] for r in window if not r[2].startswith("/auth/")]
        s.update(requests=len(window), rps=len(window) / secs, failures=sum(not r[4] for r in window),
                 p99_no_auth=pct(rest, .99),
                 writes_per_s=sum(r[1] in WRITE_METHODS for r in window) / secs,
                 p50=pct(ms, .50), p95=pct(ms, .95), p99=pct(ms, .99))
        not_zero = []
        for g, series in lag_by_group.items():
            inside = [v for t, v in series if s["start"] <= t < s["end"]]
            if inside and min(inside) > 0:
                not_zero.append(g)
        s["max_lag"] = max((v for series in lag_by_group.values() for t, v in series if s["start"] <= t < s["end"]),
                           default=0)
        s["lag_not_zero"] = not_zero
        s["ok"] = s["p99"] < P99_LIMIT_MS and s["failures"] == 0 and not not_zero
    knee = None
    for s in steps:
        if not s["ok"]:
            break
        knee = s
    agg = next((r for r in stats if r["Name"] == "Aggregated"), None)
    return {"meta": meta, "run": run, "limits": limits, "stats": stats, "agg": agg, "reqs": reqs, "steps": steps,
            "knee": knee, "lag": lag_by_group}


def saga(folder: Path) -> dict:
    orders = {r["order_id"]: r for r in read_csv(folder / "orders.csv")}
    history: dict[str, dict[str, float]] = defaultdict(dict)
    for r in read_csv(folder / "saga_history.csv"):
        history[r["order_id"]].setdefault(r["status"], float(r["at"]))
    legs = {"placed → AWAITING_PAYMENT": [], "paid → ACTIVE": [], "ACTIVE → COMPLETED": []}
    points = []
    for oid, h in history.items():
        if "PENDING" in h and "AWAITING_PAYMENT" in h:
            legs["placed → AWAITING_PAYMENT"].append((h["AWAITING_PAYMENT"] - h["PENDING"]) * 1000)
            points.append((h["PENDING"], "placed → AWAITING_PAYMENT", (h["AWAITING_PAYMENT"] - h["PENDING"]) * 1000))
        paid = orders.get(oid, {}).get("paid_t")
        if paid and "ACTIVE" in h:
            legs["paid → ACTIVE"].append((h["ACTIVE"] - float(paid)) * 1000)
            points.append((float(paid), "paid → ACTIVE", (h["ACTIVE"] - float(paid)) * 1000))
        if "ACTIVE" in h and "COMPLETED" in h:
            legs["ACTIVE → COMPLETED"].append((h["COMPLETED"] - h["ACTIVE"]) * 1000)
    funnel = {"placed": len(orders)}
    for status in ("AWAITING_PAYMENT", "ACTIVE", "COMPLETED", "REJECTED", "EXPIRED", "CANCELLED"):
        funnel[status] = sum(status in h for h in history.values())
    return {"legs": legs, "funnel": funnel, "points": points, "history": history}


# ----------------------------------------------------------------------------------- plots

def _rel(t: float, t0: float) -> float:
    return t - t0


def _shade_steps(ax, steps, t0) -> None:
    for i, s in enumerate(steps):
        if i % 2:
            ax.axvspan(_rel(s["start"], t0), _rel(s["end"], t0), color="0.93", zorder=0)


def plots(folder: Path, a: dict, sg: dict) -> list[str]:
    t0, steps, reqs, made = a["meta"]["started"], a["steps"], a["reqs"], []
    bin_s = 5.0
    names = sorted({r[2] for r in reqs}, key=lambda n: -sum(r[2] == n for r in reqs))

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(folder / name, dpi=90)
        plt.close(fig)
        made.append(name)

    # Throughput per endpoint and the users.
    fig, ax = plt.subplots(figsize=(12, 6))
    _shade_steps(ax, steps, t0)
    end = max((r[0] for r in reqs), default=t0) - t0
    nb = int(end // bin_s) + 1
    xs = [i * bin_s for i in range(nb)]
    total = [0] * nb
    for name in names[:12]:
        ys = [0] * nb
        for r in reqs:
            if r[2] == name:
                ys[int((r[0] - t0) // bin_s)] += 1 / bin_s
        ax.plot(xs, ys, label=name, lw=1)
    for r in reqs:
        total[int((r[0] - t0) // bin_s)] += 1 / bin_s
    ax.plot(xs, total, label="all requests", color="black", lw=2)
    ax2 = ax.twinx()
    ax2.step([_rel(s["start"], t0) for s in steps] + [_rel(steps[-1]["end"], t0)],
             [s["users"] for s in steps] + [steps[-1]["users"]], where="post", color="tab:gray", ls="--",
             label="users")
    ax2.set_ylabel("users")
    ax.set(xlabel="seconds since the first user", ylabel="requests/s (5 s bins)", title="Throughput per endpoint")
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    save(fig, "throughput.png")

    # Response-time percentiles over time (all requests) and per endpoint (locust's table).
    fig, ax = plt.subplots(figsize=(12, 5))
    _shade_steps(ax, steps, t0)
    bins = defaultdict(list)
    for r in reqs:
        bins[int((r[0] - t0) // bin_s)].append(r[3])
    for q, c in ((.5, "tab:green"), (.95, "tab:orange"), (.99, "tab:red")):
        ax.plot([k * bin_s for k in sorted(bins)], [pct(bins[k], q) for k in sorted(bins)], label=f"p{int(q * 100)}",
                color=c)
    ax.axhline(P99_LIMIT_MS, color="tab:red", ls=":", lw=1, label="500 ms")
    ax.set(xlabel="seconds since the first user", ylabel="ms", yscale="log",
           title="Response time, all requests (5 s bins)")
    ax.legend()
    save(fig, "latency_over_time.png")

    rows = [r for r in a["stats"] if r["Name"] != "Aggregated"]
    fig, ax = plt.subplots(figsize=(12, max(4, 0.35 * len(rows))))
    y = range(len(rows))
    for off, (col, c) in zip((-0.25, 0, 0.25), (("50%", "tab:green"), ("95%", "tab:orange"), ("99%", "tab:red")),
                             strict=True):
        ax.barh([i + off for i in y], [float(r[col] or 0) for r in rows], height=0.25, color=c, label=f"p{col[:-1]}")
    ax.set_yticks(list(y), [f"{r['Type']} {r['Name']}" for r in rows], fontsize=7)
    ax.set(xscale="log", xlabel="ms (locust_stats.csv)", title="p50 / p95 / p99 per endpoint, whole run")
    ax.axvline(P99_LIMIT_MS, color="tab:red", ls=":", lw=1)
    ax.legend()
    save(fig, "latency_per_endpoint.png")

    # Errors.
    fig, ax = plt.subplots(figsize=(12, 4))
    _shade_steps(ax, steps, t0)
    fails = defaultdict(lambda: [0] * nb)
    for r in reqs:
        if not r[4]:
            fails[r[2]][int((r[0] - t0) // bin_s)] += 1
    for name, ys in sorted(fails.items()):
        ax.bar(xs, ys, width=bin_s, label=name, alpha=0.7)
    ax.set(xlabel="seconds since the first user", ylabel="failed requests per 5 s",
           title=f"Errors ({sum(not r[4] for r in reqs)} of {len(reqs)} requests)")
    if fails:
        ax.legend(fontsize=7)
    save(fig, "errors.png")

    # Lag per group.
    fig, ax = plt.subplots(figsize=(12, 5))
    _shade_steps(ax, steps, t0)
    for g, series in sorted(a["lag"].items()):
        ax.plot([_rel(t, t0) for t, _ in series], [v for _, v in series], label=g.split("-", 1)[-1], lw=1.2)
    ax.axvline(_rel(a["run"].get("ended", t0), t0), color="black", ls="--", lw=1, label="load stops")
    ax.set(xlabel="seconds since the first user", ylabel="events behind (committed offsets)",
           title="Consumer lag per processor group")
    ax.legend(fontsize=7, ncol=2)
    save(fig, "lag.png")

    # Saga latency and outbox → consumed.
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(12, 8), sharex=True)
    _shade_steps(ax, steps, t0)
    for leg, c in (("placed → AWAITING_PAYMENT", "tab:blue"), ("paid → ACTIVE", "tab:purple")):
        pts = [(t, v) for t, name, v in sg["points"] if name == leg]
        ax.scatter([_rel(t, t0) for t, _ in pts], [v for _, v in pts], s=6, color=c, label=leg)
    ax.set(ylabel="ms", yscale="log", title="Saga legs per order (orders' history; x = when placed / paid)")
    ax.legend()
    _shade_steps(bx, steps, t0)
    probe = read_csv(folder / "probe.csv")
    bx.plot([_rel(float(r["t"]), t0) for r in probe], [float(r["ms"]) for r in probe], lw=0.8, color="tab:brown")
    bx.set(xlabel="seconds since the first user", ylabel="ms", yscale="log",
           title="Outbox → consumed: a probe committed twice a second, read back from Kafka")
    save(fig, "saga_latency.png")

    # CPU and memory per process.
    procs = read_csv(folder / "processes.csv")
    by: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for r in procs:
        by[r["process"]].append((float(r["t"]), float(r["cpu_cores"]), float(r["rss_mb"])))
    top_cpu = sorted(by, key=lambda p: -sum(x[1] for x in by[p]))[:12]
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(12, 9), sharex=True)
    _shade_steps(ax, steps, t0)
    for p in top_cpu:
        ax.plot([_rel(t, t0) for t, _, _ in by[p]], [c for _, c, _ in by[p]], label=p, lw=1)
    times = sorted({t for series in by.values() for t, _, _ in series})
    ax.set(ylabel="CPU (cores; 2 on this machine)", title="CPU per stack part (12 busiest; process + children)")
    ax.legend(fontsize=7, ncol=3)
    _shade_steps(bx, steps, t0)
    for p in sorted(by, key=lambda p: -max(x[2] for x in by[p]))[:12]:
        bx.plot([_rel(t, t0) for t, _, _ in by[p]], [m for _, _, m in by[p]], label=p, lw=1)
    bx.set(xlabel="seconds since the first user", ylabel="resident MiB", title="Memory per stack part (12 largest)")
    bx.legend(fontsize=7, ncol=3)
    save(fig, "cpu_memory.png")
    del times
    return made


# ------------------------------------------------------------------------------------ text

def _f(x: float, nd: int = 0) -> str:
    return "n/a" if x != x else f"{x:,.{nd}f}"  # NaN → dash


WRAPPERS = ("threading.py", "runpy", "click/", "importlib", "asyncio/", "uvicorn/", "anyio/", "faust/cli",
            "mode/", "starlette/", "fastapi/", "faust/__main__", "concurrent/futures", "selectors.py")


def pyspy_top(svg: Path, n: int = 14) -> list[tuple[str, float]]:
    """The widest frames of a py-spy flame graph (inclusive % of samples), leaving out the roots and
    the frameworks' wrappers (threads, event loop, uvicorn, Starlette/FastAPI routing, Faust's CLI)."""
    import html
    import re

    best: dict[str, float] = {}
    for title in re.findall(r"<title>(.*?)</title>", svg.read_text(errors="replace")):
        m = re.match(r"(.*) \(([\d,]+) samples?, ([\d.]+)%\)$", title)
        if m:
            name, share = html.unescape(m.group(1)), float(m.group(3))
            if not any(w in name for w in WRAPPERS):
                best[name] = max(best.get(name, 0.0), share)
    ranked = sorted(((s, f) for f, s in best.items() if s < 99.0), reverse=True)
    return [(f, s) for s, f in ranked[:n]]


def write(folder: Path) -> Path:
    a, sg = analyse(folder), saga(folder)
    images = plots(folder, a, sg)
    meta, run, limits, agg, knee = a["meta"], a["run"], a["limits"], a["agg"], a["knee"]
    started = datetime.fromtimestamp(meta["started"], UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# Load test `{run.get('profile', meta['mode'])}` — {started}", "",
             f"Command: `{run.get('command', '?')}` (from the repository root, against `make up`). "
             f"Locust {meta['mode']} load on {meta['host']}; every request below went to 127.0.0.1.", ""]
    if agg:
        lines += [f"**Whole run** (locust_stats.csv, Aggregated): {int(agg['Request Count']):,} requests, "
                  f"{int(agg['Failure Count'])} failed, {float(agg['Requests/s']):.1f} req/s, p50 {agg['50%']} ms, "
                  f"p95 {agg['95%']} ms, p99 {agg['99%']} ms, max {float(agg['Max Response Time']):.0f} ms.",
                  f"Check: the per-request log (`requests.csv.gz`, from locust's request event) has "
                  f"{len(a['reqs']):,} requests, locust's CSV {int(agg['Request Count']):,} "
                  f"({'equal' if len(a['reqs']) == int(agg['Request Count']) else 'they differ'}).",
                  ""]
    lines += ["## Steps", "",
              "| window | users | requests | req/s | writes/s | p50 ms | p95 ms | p99 ms | p99 without /auth ms | "
              "failed | max lag | groups whose lag never reached 0 | ok |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in a["steps"]:
        lines.append(f"| {s['label']} | {s['users']} | {s['requests']} | {s['rps']:.1f} | {s['writes_per_s']:.1f} | "
                     f"{_f(s['p50'])} | {_f(s['p95'])} | {_f(s['p99'])} | {_f(s['p99_no_auth'])} | "
                     f"{s['failures']} | {s['max_lag']} | "
                     f"{', '.join(g.split('-', 1)[-1] for g in s['lag_not_zero']) or '—'} | "
                     f"{'yes' if s['ok'] else 'no'} |")
    lines += ["", "Per-step figures come from `requests.csv.gz` (every request; percentiles by nearest rank), "
              "lag from `lag.csv` (sampled every 2 s).", ""]
    if knee:
        lines.append(f"**Knee: {knee['label']}** — {knee['rps']:.1f} req/s with p99 {knee['p99']:.0f} ms, no "
                     "failures, and every processor's lag back to zero within the step.")
    else:
        lines.append("**Knee: none** — even the first step broke a condition (p99 < 500 ms, no failures, lag back "
                     "to zero).")
    peak = max(a["steps"], key=lambda s: s["rps"])
    lines.append(f"Peak: {peak['label']}, {peak['rps']:.1f} req/s (p99 {_f(peak['p99'])} ms, "
                 f"{peak['failures']} failed).")
    if limits:
        pg, js, db = limits["pgbench_8"], limits["bare_json"], limits["bare_db"]
        ref = knee or peak
        lines += ["", "## Against the machine's limits (same machine, measured just before the load)", "",
                  "| yardstick | measured | project at the " + ("knee" if knee else "peak") + " | ratio |",
                  "|---|---|---|---|",
                  f"| bare uvicorn JSON endpoint | {js['req_per_s']} req/s (p99 {js['p99_ms']:.0f} ms) | "
                  f"{ref['rps']:.1f} req/s | {ref['rps'] / js['req_per_s']:.2f} |",
                  f"| bare uvicorn + SQLAlchemy insert | {db['req_per_s']} req/s (p99 {db['p99_ms']:.0f} ms) | "
                  f"{ref['rps']:.1f} req/s | {ref['rps'] / db['req_per_s']:.2f} |",
                  f"| Postgres single-row insert commits (pgbench, 8 clients) | {pg['commits_per_s']} commits/s | "
                  f"{ref['writes_per_s']:.1f} writing requests/s | {ref['writes_per_s'] / pg['commits_per_s']:.3f} |",
                  f"| Postgres single-row insert commits (pgbench, 1 client) | {limits['pgbench_1']['commits_per_s']} "
                  f"commits/s | {ref['writes_per_s']:.1f} writing requests/s | "
                  f"{ref['writes_per_s'] / limits['pgbench_1']['commits_per_s']:.3f} |", ""]
    legs, funnel = sg["legs"], sg["funnel"]
    lines += ["## Saga funnel (this run's orders; times from orders' history)", "",
              " → ".join(f"{k} {v}" for k, v in funnel.items() if k in ("placed", "AWAITING_PAYMENT", "ACTIVE",
                                                                         "COMPLETED")),
              f"(REJECTED {funnel['REJECTED']}, EXPIRED {funnel['EXPIRED']}, CANCELLED {funnel['CANCELLED']}; "
              "orders still ACTIVE were not yet cooked and delivered when the run ended).", "",
              "| leg | orders | p50 ms | p95 ms | p99 ms | max ms |", "|---|---|---|---|---|---|"]
    for leg, v in legs.items():
        lines.append(f"| {leg} | {len(v)} | {_f(pct(v, .5))} | {_f(pct(v, .95))} | {_f(pct(v, .99))} | "
                     f"{_f(max(v) if v else float('nan'))} |")
    probe = [float(r["ms"]) for r in read_csv(folder / "probe.csv")]
    lines += ["", f"Outbox → consumed (probe, {len(probe)} events through the stacktest outbox during the run): "
              f"p50 {_f(pct(probe, .5))} ms, p95 {_f(pct(probe, .95))} ms, p99 {_f(pct(probe, .99))} ms, "
              f"max {_f(max(probe) if probe else float('nan'))} ms.", ""]
    procs = read_csv(folder / "processes.csv")
    t_lo, t_hi = meta["started"], run.get("ended", float("inf"))
    cpu: dict[str, list[float]] = defaultdict(list)
    mem: dict[str, float] = defaultdict(float)
    for r in procs:
        if t_lo <= float(r["t"]) <= t_hi:
            cpu[r["process"]].append(float(r["cpu_cores"]))
            mem[r["process"]] = max(mem[r["process"]], float(r["rss_mb"]))
    lines += ["## CPU and memory during the load (processes.csv; 1.0 = one core of 2)", "",
              "| part | mean CPU | max CPU | max RSS MiB |", "|---|---|---|---|"]
    for p in sorted(cpu, key=lambda p: -sum(cpu[p]) / len(cpu[p]))[:14]:
        lines.append(f"| {p} | {sum(cpu[p]) / len(cpu[p]):.2f} | {max(cpu[p]):.2f} | {mem[p]:.0f} |")
    def mean(p: str) -> float:
        return sum(cpu[p]) / len(cpu[p]) if cpu.get(p) else float("nan")

    total_cpu = sum(mean(p) for p in cpu if not p.startswith("("))
    lines += ["", f"During the load the stack's parts used {total_cpu:.2f} cores on average, the load generator "
              f"(locust) {_f(mean('(locust)'), 2)}, and the whole machine was busy {_f(mean('(machine)'), 2)} of its "
              "2 cores: the rest is other engineers' tests and builds on the same machine.", ""]
    if run.get("profiles"):
        lines += ["## Profiles (py-spy, at the peak)", ""]
        for p in run["profiles"]:
            lines.append(f"- `{p['svg']}`: {p['process']} (pid {p['pid']}, {p['cpu_cores_when_chosen']} cores when "
                         f"chosen), {p['seconds']} s. Widest frames:")
            if (folder / p["svg"]).exists():
                for frame, share in pyspy_top(folder / p["svg"]):
                    lines.append(f"  - {share:.1f}% `{frame}`")
        lines.append("")
    lines += ["## Endpoints (locust_stats.csv, as written by locust)", "",
              "| type | name | requests | failed | req/s | p50 | p95 | p99 | max |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in a["stats"]:
        lines.append(f"| {r['Type']} | {r['Name']} | {r['Request Count']} | {r['Failure Count']} | "
                     f"{float(r['Requests/s']):.2f} | {r['50%']} | {r['95%']} | {r['99%']} | "
                     f"{float(r['Max Response Time']):.0f} |")
    lines += ["", "## Plots", ""] + [f"![{i}]({i})" for i in images]
    lines += ["", "Files: `locust_stats.csv`, `locust_stats_history.csv`, `locust_failures.csv`, `locust.html` "
              "(locust's own), `requests.csv.gz`, `orders.csv`, `saga_history.csv`, `lag.csv`, `probe.csv`, "
              "`processes.csv`, `saga.csv`, `limits.json`, `limits_*_stats.csv`, `run.json`, `meta.json`.", ""]
    out = folder / "report.md"
    out.write_text("\n".join(lines))
    return out


if __name__ == "__main__":
    print(write(Path(sys.argv[1])))
