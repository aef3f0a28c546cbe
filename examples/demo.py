"""The insitu demo: a 3-shard store and an ensemble of simulations, then the summary.

Run with ``make demo``. The store is a real Redis Cluster of Valkey servers with a
generated password; the ensemble sweeps two parameters; each member publishes its result
to the store, and the driver reads them back with the store's password, which it never had
to type.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import redis

from insitu import Experiment
from insitu.store.readiness import find_free_port_block

HERE = Path(__file__).resolve().parent


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="insitu-demo-"))
    exp = Experiment("demo", exp_path=str(workdir), launcher="local")
    store = exp.create_database(port=find_free_port_block(3), db_nodes=3)
    settings = exp.create_run_settings(sys.executable, exe_args=[str(HERE / "demo_sim.py")])
    ensemble = exp.create_ensemble(
        "decay",
        params={"k": [0.5, 1.0, 2.0], "steps": [10, 1000]},
        run_settings=settings,
        params_as_args=["k", "steps"],
    )
    exp.generate(store, ensemble)
    try:
        exp.start(store)
        print(f"store ready at {', '.join(store.get_address())} (password generated)")
        exp.start(ensemble, block=True)
        host, port = store.get_address()[0].rsplit(":", 1)
        with redis.RedisCluster(host=host, port=int(port), password=store.password) as client:
            for member in ensemble.models:
                value = client.get(f"{member.name}.result")
                print(f"{member.name} {member.params} -> x(1) = {float(value or 'nan'):.6f}")
    finally:
        exp.stop(store)
    print(exp.summary())
    print(f"outputs in {workdir}")


if __name__ == "__main__":
    main()
