"""A producer of the insitu.ml online-training example (see driver.py): once the trainer
is listening, uploads ``--batches`` batches of 16 samples of ``y = 3x + 1`` (plus a little
noise), one per simulated time step."""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from insitu.ml import TrainingDataUploader

BATCH = 16
STEP = 0.25  # seconds of "simulation" per batch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--batches", type=int, required=True)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    uploader = TrainingDataUploader(cluster=False)  # the store from SSDB
    if not uploader.client.poll_key("trainer_ready", 100, 1800):
        raise SystemExit("producer: the trainer did not start within 180 s")
    for _ in range(args.batches):
        time.sleep(STEP)  # stands for a time step of the simulation
        x = rng.uniform(-1.0, 1.0, size=(BATCH, 1)).astype(np.float32)
        y = (3.0 * x + 1.0 + rng.normal(0.0, 0.01, size=x.shape)).astype(np.float32)
        uploader.put_batch(x, y)
    print(f"{os.environ.get('SSKEYOUT')}: uploaded {args.batches} batches of {BATCH}")


if __name__ == "__main__":
    main()
