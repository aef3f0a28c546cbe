"""Online training with insitu.ml (SmartSim's ``smartsim.ml``): an ensemble of producers
feeds a trainer through the store while it trains.

Two producers each upload batches of samples of ``y = 3x + 1`` with
``TrainingDataUploader`` (their keys carry their member names). The trainer reads both
through ``insitu.ml.torch.DynamicDataGenerator`` in a ``DataLoader`` worker: every epoch
sees the batches appended since the last one, shuffled. It trains a linear model until it
has seen every sample, then a few epochs more, and prints what it learned.

Run with ``python examples/online_training_ml/driver.py`` (needs ``insitu[torch]``).
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
PRODUCERS = 2
BATCHES = 8
BATCH = 16


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="insitu-online-ml-"))
    exp = Experiment("online-ml", exp_path=str(workdir), launcher="local")
    port = int(os.environ.get("INSITU_EXAMPLE_PORT", "0")) or find_free_port_block(1)
    store = exp.create_database(port=port, inference_workers=0)
    producers = exp.create_ensemble(
        "producer",
        params={"seed": list(range(PRODUCERS))},
        run_settings=exp.create_run_settings(
            sys.executable, exe_args=[str(HERE / "producer.py"), f"--batches={BATCHES}"]
        ),
        params_as_args=["seed"],
    )
    producers.enable_key_prefixing()  # each producer's list is <member>.training_data
    trainer = exp.create_model(
        "trainer",
        exp.create_run_settings(
            sys.executable,
            exe_args=[str(HERE / "trainer.py"), f"--samples={PRODUCERS * BATCHES * BATCH}"],
        ),
    )
    for member in producers.models:
        trainer.register_incoming_entity(member)  # SSKEYIN: the trainer reads every producer
    exp.generate(store, producers, trainer)
    try:
        exp.start(store)
        exp.start(trainer, producers, block=True)
    finally:
        exp.stop(store)
    for entity in [trainer, *producers.models]:
        print((Path(entity.path) / f"{entity.name}.out").read_text(), end="")
    print(exp.summary())


if __name__ == "__main__":
    main()
