"""The exporter's CPU per part (monitoring/exporter.py): reaped children count, except apps reaped
by the fork server, which reported their own CPU while they ran."""

from __future__ import annotations

from monitoring.exporter import ProcStat, descendants, tree_cpu_seconds


def stat(pid: int, ppid: int, own: float, reaped: float = 0.0) -> ProcStat:
    return ProcStat(pid=pid, ppid=ppid, cpu_seconds=own + reaped, threads=1, start_ticks=0, rss_bytes=0,
                    own_cpu_seconds=own)


def test_a_postmaster_counts_the_backends_it_reaped() -> None:
    procs = {10: stat(10, 1, own=2.0, reaped=30.0), 11: stat(11, 10, own=1.0)}
    assert tree_cpu_seconds(descendants(10, procs), procs, roots=[10]) == 33.0


def test_the_fork_server_counts_its_own_time_not_the_apps_it_reaped() -> None:
    # 20: the fork server (a stray part), 21 and 22: apps it forked (parts of their own). An app
    # that ran 50 s and was restarted left its 50 s in the server's reaped time.
    procs = {20: stat(20, 1, own=3.0, reaped=50.0), 21: stat(21, 20, own=7.0), 22: stat(22, 20, own=5.0)}
    roots = [20, 21, 22]
    assert tree_cpu_seconds(descendants(20, procs, roots), procs, roots) == 3.0
    assert tree_cpu_seconds(descendants(21, procs, roots), procs, roots) == 7.0
    assert sum(tree_cpu_seconds(descendants(r, procs, roots), procs, roots) for r in roots) == 15.0


def test_a_dead_fork_server_is_not_a_part_down_but_a_dead_engine_is(tmp_path) -> None:
    import subprocess

    from monitoring.exporter import ProcessCollector

    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / "forkserver.pid").write_text(str(dead.pid))
    (tmp_path / "kafka.pid").write_text(str(2**22 + 1))  # past the largest pid_max: never alive
    up = next(m for m in ProcessCollector(tmp_path).collect() if m.name == "calories_process_up")
    assert {s.labels["process"]: s.value for s in up.samples} == {"kafka": 0}
