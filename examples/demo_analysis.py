"""The demo's analysis model: waits for every simulation's dataset on the aggregation list,
then reduces them (error of the explicit Euler scheme against exp(-k))."""

import argparse
import math

from insitu.client import Client

parser = argparse.ArgumentParser()
parser.add_argument("--expect", type=int, required=True)
args = parser.parse_args()

client = Client(cluster=True)
if not client.poll_list_length("trajectories", args.expect, 100, 600):
    raise SystemExit(f"only {client.get_list_length('trajectories')} of {args.expect} arrived")
rows = []
for dataset in client.get_datasets_from_list("trajectories"):
    k = float(dataset.get_meta_scalars("k")[0])
    steps = int(dataset.get_meta_scalars("steps")[0])
    final = float(dataset.get_tensor("x")[-1])
    rows.append((k, steps, final, abs(final - math.exp(-k))))
for k, steps, final, err in sorted(rows):
    print(f"k={k:<4} steps={steps:<5} x(1)={final:.6f} |error|={err:.2e}")
worst = max(rows, key=lambda r: r[3])
print(f"{len(rows)} trajectories reduced; largest error {worst[3]:.2e} at k={worst[0]}")
