"""The insitu demo: a 3-shard store, an ensemble of simulations, an analysis model.

Run with ``make demo``. The store is a real Redis Cluster of Valkey servers with a
generated password. Six simulations (a sweep over two parameters) each publish a dataset
to an aggregation list; an analysis model polls the list, reduces the datasets and prints
the result; then the summary of every run is printed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from insitu import Experiment
from insitu.store.readiness import find_free_port_block

HERE = Path(__file__).resolve().parent


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="insitu-demo-"))
    exp = Experiment("demo", exp_path=str(workdir), launcher="local")
    store = exp.create_database(port=find_free_port_block(3), db_nodes=3)
    sim = exp.create_run_settings(sys.executable, exe_args=[str(HERE / "demo_sim.py")])
    ensemble = exp.create_ensemble(
        "decay",
        params={"k": [0.5, 1.0, 2.0], "steps": [10, 1000]},
        run_settings=sim,
        params_as_args=["k", "steps"],
    )
    analysis = exp.create_model(
        "analysis",
        exp.create_run_settings(
            sys.executable, exe_args=[str(HERE / "demo_analysis.py"), "--expect", "6"]
        ),
    )
    exp.generate(store, ensemble, analysis)
    try:
        exp.start(store)
        print(f"store ready at {', '.join(store.get_address())} (password generated)")
        exp.start(ensemble, analysis, block=True)
    finally:
        exp.stop(store)
    print((workdir / "analysis" / "analysis.out").read_text(), end="")
    print(exp.summary())
    print(f"outputs in {workdir}")


if __name__ == "__main__":
    main()
