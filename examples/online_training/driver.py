"""Online training: simulations feed a trainer through the store, then use what it learned.

An ensemble of four simulations samples a function and publishes the samples as datasets
to one aggregation list. A trainer gathers them, trains a small network (torch, CPU, a few
hundred steps), exports it to ONNX and stores it with ``set_model``. Each simulation then
asks the store to run the network on fresh points (``run_model``: an inference worker beside
the store's shard runs it) and reports how close the prediction is to the truth.

Run with ``python examples/online_training/driver.py`` (needs ``insitu[onnx,torch]``).
``INSITU_EXAMPLE_PORT`` picks the store's port (default: a free one).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from insitu import Experiment
from insitu.store.readiness import find_free_port_block

HERE = Path(__file__).resolve().parent
SEEDS = [1, 2, 3, 4]
SAMPLES_PER_SIM = 64
BATCH = 16  # as in sim.py


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="insitu-online-training-"))
    exp = Experiment("online-training", exp_path=str(workdir), launcher="local")
    port = int(os.environ.get("INSITU_EXAMPLE_PORT", "0")) or find_free_port_block(1)
    store = exp.create_database(port=port)
    sims = exp.create_ensemble(
        "sim",
        params={"seed": SEEDS, "samples": SAMPLES_PER_SIM},
        run_settings=exp.create_run_settings(sys.executable, exe_args=[str(HERE / "sim.py")]),
        params_as_args=["seed", "samples"],
    )
    datasets = len(SEEDS) * -(-SAMPLES_PER_SIM // BATCH)  # each sim sends batches of 16
    trainer = exp.create_model(
        "trainer",
        exp.create_run_settings(
            sys.executable, exe_args=[str(HERE / "trainer.py"), f"--datasets={datasets}"]
        ),
    )
    exp.generate(store, sims, trainer)
    try:
        exp.start(store)
        exp.start(sims, trainer, block=True)
    finally:
        exp.stop(store)
    for entity in [trainer, *sims]:
        print((Path(entity.path) / f"{entity.name}.out").read_text(), end="")
    print(exp.summary())


if __name__ == "__main__":
    main()
