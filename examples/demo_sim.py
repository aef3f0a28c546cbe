"""A stand-in simulation for the demo: integrates dx/dt = -k x and publishes the trajectory.

It reaches the store only through the environment insitu gives every launched entity
(see docs/env-contract.md): a SmartRedis-style ``Client`` needs no address or password.
The result goes out as a Dataset (trajectory tensor + metadata) appended to the shared
aggregation list ``trajectories``.
"""

import argparse

import numpy as np

from insitu.client import Client, Dataset, LLInfo

parser = argparse.ArgumentParser()
parser.add_argument("-k", type=float, required=True)
parser.add_argument("--steps", type=int, required=True)
args = parser.parse_args()

dt = 1.0 / args.steps
x = np.empty(args.steps + 1)
x[0] = 1.0
for i in range(args.steps):
    x[i + 1] = x[i] - args.k * x[i] * dt

client = Client(cluster=True)
# Datasets are prefixed with this member's name (SSKEYOUT), so names never collide;
# the list itself is shared by every member.
client.use_list_ensemble_prefix(False)
dataset = Dataset("trajectory")
dataset.add_tensor("x", x)
dataset.add_meta_scalar("k", args.k)
dataset.add_meta_scalar("steps", args.steps)
client.put_dataset(dataset)
client.append_to_list("trajectories", dataset)
client.log_data(LLInfo, f"k={args.k} steps={args.steps}: x(1)={x[-1]:.6f}")
