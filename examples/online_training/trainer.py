"""The trainer of the online-training example (see driver.py).

Waits until ``--datasets`` datasets are in the aggregation list ``training_data``, trains a
small network on them (torch, CPU, full batch), exports it to ONNX and stores it as
``surrogate`` for the simulations to run.
"""

from __future__ import annotations

import argparse
import io
import warnings

import numpy as np
import torch

from insitu.client import Client

STEPS = 300


def gather(client: Client, datasets: int) -> tuple[np.ndarray, np.ndarray]:
    """Every sample, once the ``datasets`` the simulations publish are in the list."""
    if not client.poll_list_length_gte("training_data", datasets, 100, 1200):
        raise SystemExit("the training data did not arrive within 120 s")
    found = client.get_datasets_from_list("training_data")
    x = np.concatenate([d.get_tensor("x") for d in found])
    y = np.concatenate([d.get_tensor("y") for d in found])
    return x, y


def train(x: np.ndarray, y: np.ndarray) -> tuple[torch.nn.Module, float]:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(1, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32), torch.nn.Tanh(),
        torch.nn.Linear(32, 1),
    )  # fmt: skip
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
    loss = torch.tensor(0.0)
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(net(inputs), targets)
        loss.backward()
        optimizer.step()
    return net, float(loss)


def to_onnx(net: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its retirement
        torch.onnx.export(
            net, (torch.zeros(1, 1),), buffer, input_names=["x"], output_names=["y"],
            dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False,
        )  # fmt: skip
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, required=True)
    args = parser.parse_args()
    with Client() as client:
        x, y = gather(client, args.datasets)
        net, loss = train(x, y)
        client.set_model("surrogate", to_onnx(net), "ONNX", device="CPU")
    print(f"trainer: trained on {len(x)} samples for {STEPS} steps; final loss {loss:.2e}")


if __name__ == "__main__":
    main()
