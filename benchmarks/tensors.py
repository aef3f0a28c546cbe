"""Tensor benchmarks: insitu ``put_tensor``/``get_tensor`` vs raw redis-py ``SET``/``GET``.

For float64 tensors of 8 B .. 64 MiB, on a standalone store over TCP, one over a Unix
socket and a 3-shard cluster, the same bytes are written and read by the insitu client and
by a plain redis-py client (hiredis parser, default settings) on the same server in the
same run, alternating call by call so that both see the same machine noise. Reported:
median and p99 latency, throughput at the median, and the ratios the targets are about
(throughput for >= 1 MiB, median latency for <= 1 KiB).

Run with ``python benchmarks/tensors.py`` (about two minutes). Results are printed and
written to the "Tensors" section of docs/benchmarks.md.

``python benchmarks/tensors.py --tls`` measures what TLS costs instead: the insitu client
against a TLS store and a plain one, both on the same TLS-capable server binary, started in
the same run (standalone and 3-shard cluster), calls alternated; written to the "TLS
overhead" section.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import redis
from _report import write_section
from redis.cluster import ClusterNode, RedisCluster

from insitu import Experiment
from insitu.client import Client
from insitu.store.readiness import find_free_port_block

KIB, MIB = 1024, 1024 * 1024
SIZES = [(8, "8 B", 2000), (KIB, "1 KiB", 2000), (64 * KIB, "64 KiB", 400),
         (MIB, "1 MiB", 200), (16 * MIB, "16 MiB", 15), (64 * MIB, "64 MiB", 7)]  # fmt: skip


@dataclass(frozen=True)
class Row:
    topology: str
    size: str
    nbytes: int
    op: str
    ours: list[float]
    raw: list[float]

    def median(self, xs: list[float]) -> float:
        return statistics.median(xs)

    def p99(self, xs: list[float]) -> float:
        ordered = sorted(xs)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]

    @property
    def ratio(self) -> float:
        """Throughput ratio ours/raw (= raw median time / our median time)."""
        return self.median(self.raw) / self.median(self.ours)

    def cells(self) -> list[str]:
        mo, mr = self.median(self.ours), self.median(self.raw)
        target = ""
        if self.nbytes >= MIB:
            target = "≥ 0.90 ✓" if self.ratio >= 0.9 else "≥ 0.90 ✗"
        elif self.nbytes <= KIB:
            target = "≤ 1.20 ✓" if mo / mr <= 1.2 else "≤ 1.20 ✗"
        return [
            self.topology, self.size, self.op,
            f"{mo * 1e6:,.0f} / {self.p99(self.ours) * 1e6:,.0f}",
            f"{mr * 1e6:,.0f} / {self.p99(self.raw) * 1e6:,.0f}",
            f"{self.nbytes / mo / MIB:,.1f}", f"{self.nbytes / mr / MIB:,.1f}",
            f"{mo / mr:.2f}", f"{self.ratio:.2f}", target,
        ]  # fmt: skip


def timed_pair(
    ours: Callable[[], object], raw: Callable[[], object], n: int
) -> tuple[list[float], list[float]]:
    """Alternate the two calls ``n`` times each (after one warm-up call)."""
    ours(), raw()
    a: list[float] = []
    b: list[float] = []
    for i in range(n):
        for fn, out in ((ours, a), (raw, b)) if i % 2 else ((raw, b), (ours, a)):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return a, b


def bench_store(name: str, client: Client, raw: redis.Redis | RedisCluster) -> list[Row]:
    rows = []
    for nbytes, label, n in SIZES:
        array = np.random.default_rng(0).random(nbytes // 8)
        blob = array.tobytes()
        ours_put, raw_put = timed_pair(
            lambda a=array: client.put_tensor("bench_ours", a),
            lambda b=blob: raw.set("bench_raw", b),
            n,
        )
        got = client.get_tensor("bench_ours")
        assert np.array_equal(got, array) and raw.get("bench_raw") == blob
        ours_get, raw_get = timed_pair(
            lambda: client.get_tensor("bench_ours"), lambda: raw.get("bench_raw"), n
        )
        rows.append(Row(name, label, nbytes, "put", ours_put, raw_put))
        rows.append(Row(name, label, nbytes, "get", ours_get, raw_get))
        client.delete_tensor("bench_ours")
        raw.delete("bench_raw")
    return rows


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="insitu-bench-tensors-"))
    exp = Experiment("bench-tensors", exp_path=str(root), launcher="local")
    rows: list[Row] = []
    try:
        tcp = exp.create_database(port=find_free_port_block(1), db_identifier="tcp")
        uds = exp.create_database(unix_socket=str(root / "db.sock"), db_identifier="uds")
        cluster = exp.create_database(port=find_free_port_block(3), db_nodes=3, db_identifier="cl")
        exp.start(tcp, uds, cluster)
        host, port = tcp.get_address()[0].rsplit(":", 1)
        plain = redis.Redis(host=host, port=int(port), password=tcp.password)
        rows += bench_store("standalone TCP", Client(False, tcp.get_address()[0]), plain)
        socket_raw = redis.Redis(unix_socket_path=str(root / "db.sock"), password=uds.password)
        rows += bench_store("standalone UDS", Client(False, uds.get_address()[0]), socket_raw)
        nodes = [ClusterNode(a.split(":")[0], int(a.split(":")[1])) for a in cluster.get_address()]
        raw_cluster = RedisCluster(startup_nodes=nodes, password=cluster.password)
        rows += bench_store("3-shard cluster", Client(True, cluster.get_address()[0]), raw_cluster)
    finally:
        exp.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    report(rows)


def report(rows: list[Row]) -> None:
    head = ["store", "size", "op", "insitu median / p99 (µs)", "raw median / p99 (µs)",
            "insitu MiB/s", "raw MiB/s", "latency ratio", "throughput ratio", "target"]  # fmt: skip
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    table += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    text = "\n".join(table)
    print(text)
    misses = [r for r in rows if r.cells()[-1].endswith("✗")]
    verdict = "All targets met." if not misses else f"{len(misses)} target(s) missed."
    write_section(
        "Tensors",
        "float64 tensors; insitu `put_tensor`/`get_tensor` vs raw redis-py `SET`/`GET` of the "
        "same bytes (hiredis parser, default settings) on the same server, calls alternated. "
        "Latency ratio = insitu median / raw median (target ≤ 1.2 for ≤ 1 KiB); throughput "
        "ratio = insitu / raw at the median (target ≥ 0.9 for ≥ 1 MiB). "
        f"{verdict}\n\n{text}\n",
    )


TLS_SIZES = [(8, "8 B", 1000), (KIB, "1 KiB", 1000), (64 * KIB, "64 KiB", 300),
             (MIB, "1 MiB", 100), (16 * MIB, "16 MiB", 11)]  # fmt: skip


@dataclass(frozen=True)
class TlsRow:
    topology: str
    size: str
    nbytes: int
    op: str
    tls: list[float]
    plain: list[float]

    def cells(self) -> list[str]:
        mt, mp = statistics.median(self.tls), statistics.median(self.plain)
        return [
            self.topology, self.size, self.op, f"{mp * 1e6:,.0f}", f"{mt * 1e6:,.0f}",
            f"{self.nbytes / mp / MIB:,.1f}", f"{self.nbytes / mt / MIB:,.1f}", f"{mt / mp:.2f}",
        ]  # fmt: skip


def bench_tls_pair(name: str, tls: Client, plain: Client) -> list[TlsRow]:
    rows = []
    for nbytes, label, n in TLS_SIZES:
        array = np.random.default_rng(0).random(nbytes // 8)
        t_put, p_put = timed_pair(
            lambda a=array: tls.put_tensor("bench", a),
            lambda a=array: plain.put_tensor("bench", a),
            n,
        )
        assert np.array_equal(tls.get_tensor("bench"), plain.get_tensor("bench"))
        t_get, p_get = timed_pair(
            lambda: tls.get_tensor("bench"), lambda: plain.get_tensor("bench"), n
        )
        rows += [TlsRow(name, label, nbytes, "put", t_put, p_put),
                 TlsRow(name, label, nbytes, "get", t_get, p_get)]  # fmt: skip
    return rows


def main_tls() -> None:
    root = Path(tempfile.mkdtemp(prefix="insitu-bench-tls-"))
    exp = Experiment("bench-tls", exp_path=str(root), launcher="local")
    rows: list[TlsRow] = []
    try:
        tls = exp.create_database(port=find_free_port_block(1), db_identifier="tls", tls=True,
                                  inference_workers=0)  # fmt: skip
        engine = tls.server_binary.path  # the plain stores run the very same binary
        plain = exp.create_database(port=find_free_port_block(1), db_identifier="plain",
                                    server_binary=engine, inference_workers=0)  # fmt: skip
        tls_cl = exp.create_database(port=find_free_port_block(3), db_nodes=3, tls=True,
                                     db_identifier="tlscl", inference_workers=0)  # fmt: skip
        plain_cl = exp.create_database(port=find_free_port_block(3), db_nodes=3,
                                       db_identifier="plaincl", server_binary=engine,
                                       inference_workers=0)  # fmt: skip
        exp.start(tls, plain, tls_cl, plain_cl)
        rows += bench_tls_pair("standalone TCP", Client(False, tls.get_address()[0]),
                               Client(False, plain.get_address()[0]))  # fmt: skip
        rows += bench_tls_pair("3-shard cluster", Client(True, tls_cl.get_address()[0]),
                               Client(True, plain_cl.get_address()[0]))  # fmt: skip
        flavor = f"{tls.server_binary.flavor} {tls.server_binary.version_string}"
    finally:
        exp.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    head = ["store", "size", "op", "plain median (µs)", "TLS median (µs)", "plain MiB/s",
            "TLS MiB/s", "TLS / plain time"]  # fmt: skip
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    table += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    text = "\n".join(table)
    print(text)
    write_section(
        "TLS overhead",
        f"float64 tensors through the insitu client; a TLS store (`tls=True`: TLS 1.3, "
        f"ECDSA P-256 certificate, server verified) against a plain TCP store on the same "
        f"server binary ({flavor}), started in the same run, calls alternated. "
        "`TLS / plain time` is the ratio of median latencies (1.00: no overhead).\n\n"
        f"{text}\n",
    )


if __name__ == "__main__":
    if "--tls" in sys.argv[1:]:
        main_tls()
    else:
        main()
