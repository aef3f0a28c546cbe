"""The trainer of the insitu.ml online-training example (see driver.py).

Trains ``y = w x + b`` on the batches of every producer (``SSKEYIN``) as they arrive:
``DynamicDataGenerator`` fetches new batches at the start of every epoch. Once an epoch
has seen all ``--samples`` samples it trains ``EXTRA_EPOCHS`` more and reports.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from insitu.client import Client
from insitu.ml import DataInfo
from insitu.ml.torch import DataLoader, DynamicDataGenerator

EXTRA_EPOCHS = 40
DEADLINE = 180.0  # seconds: a producer that never delivers fails the run instead of hanging


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    data = DynamicDataGenerator(
        data_info_or_list_name=DataInfo("training_data"), batch_size=16, cluster=False
    )
    loader = DataLoader(data, batch_size=None, num_workers=1)
    with Client(cluster=False) as client:
        client.put_tensor("trainer_ready", np.ones(1, np.int8))  # the producers may start
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    seen: list[int] = []  # samples per epoch: grows while the producers upload
    loss = torch.tensor(0.0)
    give_up = time.monotonic() + DEADLINE
    while seen.count(args.samples) < EXTRA_EPOCHS:
        if time.monotonic() > give_up:
            raise SystemExit(f"trainer: only {seen[-1:]} of {args.samples} samples arrived")
        count = 0
        for x, y in loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            count += len(x)
        seen.append(count)
    w, b = float(model.weight), float(model.bias)
    growth = sorted(set(seen))
    print(f"trainer: {args.samples} samples in {len(seen)} epochs (seen per epoch: {growth})")
    print(f"trainer: learned w={w:.3f} b={b:.3f} loss={float(loss):.2e}")


if __name__ == "__main__":
    main()
