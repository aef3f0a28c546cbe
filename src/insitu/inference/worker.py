"""The inference worker process: ``python -m insitu.inference.worker --address ... ``
(see :func:`insitu.wire.worker.worker_argv`; the password comes from
:data:`~insitu.wire.worker.WORKER_PASSWORD_ENV`).

One worker serves one shard with ``threads_per_queue`` threads (default 1) per path. Each
channel thread serves the store module's execution commands (``AI.MODELEXECUTE`` & co.,
:mod:`insitu.inference.channel`). Each queue thread
reads requests from the shard's entry stream and its device's stream through the consumer
group ``insitu``, runs them (:mod:`insitu.inference.executor`) and, once a second, refreshes
its liveness keys and takes over the requests held by workers that died (their liveness key
expired): such a request is run once more, and answered with WorkerLostError if it was
already retried. After serving a request a thread polls for the next one for
``INSITU_WORKER_SPIN_US`` before it sleeps (see :func:`~insitu.wire.worker.worker_spin_us`).

Contract with the runtime: starts fast (no ML framework is imported until a model of that
backend is used); exits 0 within about a second of SIGTERM/SIGINT after finishing the
request it is running (pending batches run at once); keeps retrying, then serves again,
while its store is unreachable or restarted.

Watchdog: a worker whose starter (the driver, or the step that launched it) is gone and
whose store has been unreachable for :data:`ORPHAN_GRACE_S` exits (code 0): nobody will
restart that store for it, and a worker retrying forever after its driver was SIGKILLed
was the leftover of a dead experiment. While its starter lives it retries without end.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence

import redis.exceptions as rex

from insitu.inference.backends import BackendThreads
from insitu.inference.channel import ChannelLoop
from insitu.inference.executor import Executor
from insitu.inference.model_cache import ModelCache
from insitu.inference.shard import shard_endpoint
from insitu.inference.store_link import Queues, StoreLink
from insitu.wire.worker import WORKER_LOG_LEVEL_ENV, WorkerConfig, parse_worker_argv

log = logging.getLogger("insitu.inference.worker")

HOUSEKEEPING_S = 1.0  # heartbeat and orphan check period (liveness keys live 3 s)
READ_BLOCK_MS = 500  # longest wait for requests, so that a stop is noticed quickly
READ_COUNT = 64
ORPHAN_GRACE_S = 5.0  # store unreachable this long, starter gone: the worker exits
_UNREACHABLE = (
    rex.ConnectionError,
    rex.TimeoutError,
    rex.ClusterError,
    rex.RedisClusterException,
    OSError,
)


class Worker:
    """Serves one shard until :meth:`stop` (see the module docs)."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self._stop = threading.Event()
        threads = BackendThreads(config.threads.inter_op_threads, config.threads.intra_op_threads)
        self._cache = ModelCache(threads)
        self._starter = os.getppid()

    def orphaned(self) -> bool:
        """True once the process that started this worker has ended (it was re-parented)."""
        return os.getppid() != self._starter

    def stop(self) -> None:
        """Ask every thread to finish its current request and exit (signal-safe)."""
        self._stop.set()

    def serve(self) -> None:
        """Serve until stopped; returns once every thread has exited."""
        count = self.config.threads.threads_per_queue or 1
        helpers = [
            threading.Thread(target=self._serve_thread, args=(i,), name=f"queue-{i}", daemon=True)
            for i in range(1, count)
        ]
        helpers += [
            threading.Thread(target=self._serve_channel, name=f"channel-{i}", daemon=True)
            for i in range(count)
        ]
        for thread in helpers:
            thread.start()
        self._serve_thread(0)
        for thread in helpers:
            thread.join()

    def _serve_channel(self) -> None:
        """Serve the store module's channel (``AI.*`` execution commands)."""
        cfg = self.config
        endpoint = shard_endpoint(cfg.address, cfg.password, timeout=10.0, tls_ca=cfg.tls_ca)
        ChannelLoop(endpoint, self._cache, cfg.device, self.orphaned, ORPHAN_GRACE_S).run(
            self._stop
        )
        if self.orphaned():  # the watchdog fired: the other threads exit too
            self._stop.set()

    def _serve_thread(self, index: int) -> None:
        cfg = self.config
        link = StoreLink(
            shard_endpoint(cfg.address, cfg.password, timeout=10.0, tls_ca=cfg.tls_ca),
            cfg.shard_index,
            cfg.device,
        )
        try:
            executor = Executor(link, self._cache)
            loop = _QueueLoop(link, executor, link.consumer(index), cfg.spin_us / 1e6)
            loop.orphaned = self.orphaned
            loop.run(self._stop)
            if self.orphaned():  # the watchdog fired: the other threads exit too
                self._stop.set()
        finally:
            link.close()


class _QueueLoop:
    """One worker thread: read, run, reply; heartbeats and orphan checks once a second;
    reconnection with back-off while the store is unreachable."""

    def __init__(
        self, link: StoreLink, executor: Executor, consumer: str, spin: float = 0.0
    ) -> None:
        self.link = link
        self.executor = executor
        self.consumer = consumer
        self.queues: Queues | None = None
        self.last_beat = 0.0
        self.backoff = 0.05
        self.spin = spin  # seconds to poll for the next request after serving one
        self.busy = False  # the last read brought requests
        self.orphaned: Callable[[], bool] = lambda: False
        self.down_since: float | None = None  # when the store became unreachable

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set, then answer what is still waiting."""
        while not stop.is_set():
            try:
                if not self._step():
                    stop.wait(0.2)
                    continue
                self.backoff, self.down_since = 0.05, None
            except _UNREACHABLE as err:
                if self.queues is not None or self.backoff == 0.05:  # once per outage
                    log.warning("store at %s unreachable (%s); retrying", self.link.address, err)
                now = time.monotonic()
                self.down_since = self.down_since or now
                if now - self.down_since >= ORPHAN_GRACE_S and self.orphaned():
                    log.warning(
                        "store at %s gone for %.0f s and the process that started this "
                        "worker has ended: exiting", self.link.address, now - self.down_since,
                    )  # fmt: skip
                    return
                self.queues, self.last_beat = None, 0.0
                stop.wait(self.backoff)
                self.backoff = min(self.backoff * 2, 1.0)
            except Exception:  # never die of one bad request or a surprise reply
                log.exception("unexpected worker error; continuing")
                stop.wait(0.5)
        self._drain()

    def _step(self) -> bool:
        """One round; False while the shard cannot be served yet (no slot)."""
        if self.queues is None:
            self.queues = self.link.open()
            if self.queues is None:
                return False
            log.info("serving %s as %s", self.queues.entry, self.consumer)
        queues = self.queues
        if time.monotonic() - self.last_beat >= HOUSEKEEPING_S:
            self.link.heartbeat(queues)
            self.executor.process(queues, self.link.claim_orphans(queues, self.consumer))
            self.last_beat = time.monotonic()
        due = self.executor.next_due()
        block = READ_BLOCK_MS if due is None else min(READ_BLOCK_MS, int(due * 1000))
        # Poll only right after serving: requests that follow closely find the worker
        # awake; an idle worker sleeps.
        spin = self.spin if self.busy else 0.0
        entries = self.link.read(queues, self.consumer, READ_COUNT, block, spin)
        self.busy = bool(entries)
        for error in self.link.late_errors():
            log.error("the store refused an output, reply or acknowledgement: %s", error)
        if entries is None:  # flushed: recreate the groups and beat at once
            self.queues, self.last_beat = None, 0.0
        else:
            self.executor.process(queues, entries)
        return True

    def _drain(self) -> None:
        """Run batches still waiting, so that no request read is left unanswered."""
        if self.queues is None or not self.executor.pending:
            return
        try:
            self.executor.run_due(self.queues, force=True)
        except _UNREACHABLE as err:
            log.warning("could not run waiting batches before exiting: %s", err)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a worker until SIGTERM or SIGINT; the process exit code."""
    config = parse_worker_argv(argv)
    logging.basicConfig(
        level=os.environ.get(WORKER_LOG_LEVEL_ENV, "INFO").upper(),
        format=f"%(asctime)s worker[{config.db_identifier}:{config.shard_index}] "
        "%(levelname)s %(message)s",
        stream=sys.stderr,
    )
    worker = Worker(config)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stop())
    worker.serve()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
