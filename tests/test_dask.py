"""Sweeps on a Dask cluster (127.0.0.1 only): the same table as local processes, and a worker
killed mid-sweep neither loses nor duplicates a point."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import steppe
from steppe.cli import main
from steppe.errors import SimulationError
from steppe.sweeps.designs import make_design
from steppe.sweeps.executors import DaskExecutor, SerialExecutor
from steppe.sweeps.points import PointRunner

distributed = pytest.importorskip("distributed")

SMOKE = Path(__file__).parent / "data" / "smoke.yaml"
VARY = {"contagion": (0.0, 2.0), "base": (0.02, 0.2)}


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # not 8787: leave it to other clusters
    )  # fmt: skip
    with cluster, distributed.Client(cluster) as c:
        yield c


def test_dask_gives_the_local_table(client: object) -> None:
    kwargs = {"vary": VARY, "design": "lhs", "n": 8, "replications": 100, "seed": 5}
    local = steppe.sweep(SMOKE, **kwargs)  # type: ignore[arg-type]
    dask = steppe.sweep(SMOKE, executor=DaskExecutor(client=client), **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(local, dask, check_exact=True)


def test_cli_dask_options_give_the_local_table(client: object, tmp_path: Path) -> None:
    """``--scheduler`` uses the running cluster, ``--dask-local 1`` starts its own."""
    args = ["sweep", str(SMOKE), "--vary", "contagion=0:2:4", "--replications", "50", "-q"]
    address = client.scheduler.address  # type: ignore[attr-defined]
    local = steppe.sweep(SMOKE, vary={"contagion": (0.0, 2.0)}, n=4, replications=50)
    local.attrs = {}
    runner = CliRunner()
    for name, extra in [
        ("scheduler", ["--scheduler", address]),
        ("dask-local", ["--dask-local", "1"]),
    ]:
        result = runner.invoke(main, [*args, "--out", str(tmp_path / name), *extra])
        assert result.exit_code == 0, result.output
        table = pd.read_parquet(tmp_path / name / "points.parquet")
        pd.testing.assert_frame_equal(table, local, check_exact=True)
        manifest = json.loads((tmp_path / name / "manifest.json").read_text())
        assert manifest["executor"].startswith("dask")


def test_a_killed_worker_loses_and_duplicates_no_point(client: object) -> None:
    """Kill one of the two workers (os._exit, as kill -9 would) after the first point
    arrives, while both are busy: its running point is rescheduled by Dask, the nanny starts
    a new worker, and the client receives every point exactly once, with the numbers a
    serial run gives."""
    sc = steppe.load(SMOKE)
    design = make_design(VARY, design="lhs", n=12, seed=3)
    fn = PointRunner(
        scenario=sc, names=design.names, points=design.points,
        outcomes=("uz_by_2027", "trade_2027"), seed=3, replications=1000, engine="compiled",
    )  # fmt: skip
    expected = dict(SerialExecutor().run(fn, range(12)))
    pids: dict[str, int] = client.run(os.getpid)  # type: ignore[attr-defined]
    got: list[tuple[int, object]] = []
    killed = False
    with DaskExecutor(client=client) as ex:
        for i, row in ex.run(fn, range(12)):
            got.append((i, row))
            if not killed:
                busy = client.processing()  # type: ignore[attr-defined]
                victim = next(w for w, tasks in busy.items() if tasks)
                os.kill(pids[victim], signal.SIGKILL)
                killed = True
    assert sorted(i for i, _ in got) == list(range(12))  # each point exactly once
    assert dict(got) == expected
    after: dict[str, int] = client.run(os.getpid)  # type: ignore[attr-defined]
    assert pids[victim] not in after.values()  # the worker really died


def test_a_point_that_ends_its_workers_stops_the_sweep_with_steppes_error() -> None:
    """Dask gives up on a task that ended ``allowed-failures`` + 1 workers (KilledWorker):
    the sweep stops with steppe's error naming the point."""
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        )  # fmt: skip
    with (
        cluster,
        distributed.Client(cluster) as c,
        DaskExecutor(client=c) as ex,
        pytest.raises(SimulationError, match="design point 0 ended every Dask worker"),
    ):
        list(ex.run(lambda i: os._exit(3), [0]))
