"""One simulation of the online-training example (see driver.py).

It publishes ``--samples`` points of the "physics" ``truth(x)`` as datasets to the shared
aggregation list ``training_data``, waits for the trainer's network ``surrogate``, runs it
in the store on fresh points and prints the prediction error.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from insitu.client import Client, Dataset

BATCH = 16


def truth(x: np.ndarray) -> np.ndarray:
    """The quantity the simulations compute and the network learns."""
    return (np.sin(2.0 * x) + 0.5 * x).astype(np.float32)


def publish(client: Client, rng: np.random.Generator, samples: int) -> None:
    # One list for all members: its name is not prefixed. The datasets are (with the
    # member's name), and the list holds their full keys, so the trainer finds them.
    client.use_list_ensemble_prefix(False)
    for i in range(0, samples, BATCH):
        x = rng.uniform(-2.0, 2.0, size=(min(BATCH, samples - i), 1)).astype(np.float32)
        dataset = Dataset(f"samples_{i // BATCH}")
        dataset.add_tensor("x", x)
        dataset.add_tensor("y", truth(x))
        client.put_dataset(dataset)
        client.append_to_list("training_data", dataset)


def predict(client: Client, name: str, rng: np.random.Generator) -> float:
    """Run the stored network on fresh points; the mean absolute error."""
    # A member reads and writes its inference tensors under its own name, spelled out:
    # with tensor prefixing on, run_model would read the inputs under the prefix of an
    # incoming entity (SmartRedis's rule), and this member has none.
    client.use_tensor_ensemble_prefix(False)
    x = np.linspace(-1.9, 1.9, 50, dtype=np.float32).reshape(-1, 1)
    x += rng.uniform(-0.05, 0.05, size=x.shape).astype(np.float32)
    client.put_tensor(f"{name}.fresh", x)
    client.run_model("surrogate", inputs=[f"{name}.fresh"], outputs=[f"{name}.predicted"])
    predicted = client.get_tensor(f"{name}.predicted")
    return float(np.mean(np.abs(predicted - truth(x))))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--samples", type=int, required=True)
    args = parser.parse_args()
    name = os.environ.get("SSKEYOUT", f"sim{args.seed}")
    rng = np.random.default_rng(args.seed)
    with Client() as client:
        publish(client, rng, args.samples)
        if not client.poll_model("surrogate", 100, 1200):
            raise SystemExit(f"{name}: no surrogate model after 120 s")
        error = predict(client, name, rng)
    print(f"{name}: published {args.samples} samples; surrogate error {error:.3f}")


if __name__ == "__main__":
    main()
