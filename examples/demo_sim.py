"""A stand-in simulation for the demo: integrates dx/dt = -k x and publishes its result.

It reaches the store only through the environment insitu gives every launched entity
(SSDB, SR_DB_TYPE, SSDB_PASSWORD; see docs/env-contract.md), and prefixes its key with
SSKEYOUT as SmartRedis would.
"""

import argparse
import math
import os

import redis

parser = argparse.ArgumentParser()
parser.add_argument("-k", type=float, required=True)
parser.add_argument("--steps", type=int, required=True)
args = parser.parse_args()

x, dt = 1.0, 1.0 / args.steps
for _ in range(args.steps):
    x -= args.k * x * dt

addresses = os.environ["SSDB"].split(",")
password = os.environ["SSDB_PASSWORD"]
if os.environ["SR_DB_TYPE"] == "Clustered":
    host, port = addresses[0].rsplit(":", 1)
    store: redis.Redis | redis.RedisCluster = redis.RedisCluster(
        host=host, port=int(port), password=password
    )
else:
    host, port = addresses[0].rsplit(":", 1)
    store = redis.Redis(host=host, port=int(port), password=password)
key = f"{os.environ.get('SSKEYOUT', 'sim')}.result"
store.set(key, repr(x))
print(f"k={args.k} steps={args.steps}: x(1)={x:.6f} (exact {math.exp(-args.k):.6f}) -> {key}")
