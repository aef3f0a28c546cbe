"""Training data through the store: SmartSim 0.8's ``smartsim.ml`` core, name for name.

Contract (SmartSim's layout, so producers and trainers of either system interoperate):

* :class:`DataInfo` ``publish`` writes the dataset ``<list_name>_info`` with the string
  fields ``sample_name`` (and ``target_name``) and the scalar ``num_classes`` when set;
  ``download`` reads it back (a missing one keeps the values and logs a warning).
* :class:`TrainingDataUploader` ``put_batch`` stores the dataset
  ``training_samples[_<rank>]_<batch index>`` holding the tensors ``sample_name`` (and
  ``target_name``) and appends it to the aggregation list ``list_name``. Launched as an
  ensemble member, the list and dataset keys carry the member's name (``SSKEYOUT``).
* :class:`DataDownloader` reads that list of every producer named in ``SSKEYIN`` (or the
  unprefixed list without it). Replica ``r`` of ``n`` takes the list entries ``r, r+n,
  r+2n, ...`` of each producer (its sub-indices), so replicas never share a batch.
  ``update_data`` fetches the entries appended since the last call (``dynamic``) and
  reshuffles (``shuffle``); iterating yields ``len(self)`` full batches of ``batch_size``
  samples, as ``(samples, targets)``, ``(samples, samples)`` when ``target_name ==
  sample_name`` (autoencoding), or ``samples`` alone without targets.

insitu differences: ``init_samples`` waits for data by polling the lists (each trial ends as
soon as a list grows, at the latest after ``FETCH_INTERVAL`` seconds) instead of sleeping 10 s
between attempts; the downloader's client is opened lazily in the process that uses it (so a
generator can be handed to forked or spawned data-loader workers); arguments are checked
(``TypeError``/``ValueError``) when the object is made.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import numpy as np

from insitu._checks import check_bool, check_int, check_str, check_type
from insitu.client import Client, Dataset
from insitu.errors import InvalidArgumentError, RedisKeyError, TrainingDataError
from insitu.log import get_logger

logger = get_logger("insitu.ml")

FETCH_INTERVAL = 10.0
"""Seconds one ``init_samples`` trial waits for a list to grow (SmartSim's retry period)."""
_POLL = 0.05

Batch = tuple[np.ndarray, np.ndarray] | np.ndarray


def form_name(*args: object) -> str:
    """``"_".join`` of the arguments that are not None (SmartSim's key convention)."""
    return "_".join(str(arg) for arg in args if arg is not None)


class DataInfo:
    """Where training datasets are and what their tensors are called: the aggregation list
    ``list_name``, the tensor names ``sample_name``/``target_name`` in every dataset, and
    ``num_classes`` for categorical targets (used to one-hot encode them with keras)."""

    def __init__(
        self,
        list_name: str,
        sample_name: str = "samples",
        target_name: str = "targets",
        num_classes: int | None = None,
    ) -> None:
        self.list_name = check_str("list_name", list_name)
        self.sample_name = check_str("sample_name", sample_name)
        # None or "" both mean "no targets" (SmartSim tests the name's truth).
        no_target = target_name is None
        self.target_name = "" if no_target else check_type("target_name", target_name, str)
        self.num_classes = (
            None if num_classes is None else check_int("num_classes", num_classes, minimum=0)
        )
        self._ds_name = form_name(self.list_name, "info")

    def publish(self, client: Client) -> None:
        """Store this information as the dataset ``<list_name>_info``."""
        info = Dataset(self._ds_name)
        info.add_meta_string("sample_name", self.sample_name)
        if self.target_name:
            info.add_meta_string("target_name", self.target_name)
        if self.num_classes:
            info.add_meta_scalar("num_classes", self.num_classes)
        client.put_dataset(info)

    def download(self, client: Client) -> None:
        """Read the published information; if none was published, keep these values (a
        warning says so)."""
        try:
            info = client.get_dataset(self._ds_name)
        except RedisKeyError:
            logger.warning("no DataInfo published as %r; keeping:\n%s", self._ds_name, self)
            return
        self.sample_name = info.get_meta_strings("sample_name")[0]
        fields = info.get_metadata_field_names()
        if "target_name" in fields:
            self.target_name = info.get_meta_strings("target_name")[0]
        if "num_classes" in fields:
            self.num_classes = int(info.get_meta_scalars("num_classes")[0])

    def __repr__(self) -> str:
        lines = [
            "DataInfo object",
            f"Aggregation list name: {self.list_name}",
            f"Sample tensor name: {self.sample_name}",
        ]
        if self.target_name:
            lines.append(f"Target tensor name: {self.target_name}")
        if self.num_classes:
            lines.append(f"Number of classes: {self.num_classes}")
        return "\n".join(lines)


class TrainingDataUploader:
    """Uploads batches of samples (and targets) for a trainer (see the module contract).

    ``cluster``/``address`` are those of ``Client(cluster, address)``; ``rank`` (e.g. an
    MPI rank) keeps the datasets of several processes of one producer apart."""

    def __init__(
        self,
        list_name: str = "training_data",
        sample_name: str = "samples",
        target_name: str = "targets",
        num_classes: int | None = None,
        cluster: bool = True,
        address: str | None = None,
        rank: int | None = None,
        verbose: bool = False,
    ) -> None:
        if not list_name:
            raise InvalidArgumentError("Name can not be empty")
        if not sample_name:
            raise InvalidArgumentError("Sample name can not be empty")
        self._info = DataInfo(list_name, sample_name, target_name, num_classes)
        self.rank = None if rank is None else check_int("rank", rank, minimum=0)
        self.verbose = check_bool("verbose", verbose)
        self.client = Client(check_bool("cluster", cluster), address)
        self.batch_idx = 0

    @property
    def list_name(self) -> str:
        return self._info.list_name

    @property
    def sample_name(self) -> str:
        return self._info.sample_name

    @property
    def target_name(self) -> str:
        return self._info.target_name

    @property
    def num_classes(self) -> int | None:
        return self._info.num_classes

    def publish_info(self) -> None:
        """Publish the :class:`DataInfo` of this uploader (``<list_name>_info``)."""
        self._info.publish(self.client)

    def put_batch(self, samples: np.ndarray, targets: np.ndarray | None = None) -> None:
        """Store one batch as a dataset and append it to the list; ``targets`` are stored
        unless there is no ``target_name`` or it equals ``sample_name``."""
        check_type("samples", samples, np.ndarray, "a numpy.ndarray")
        name = form_name("training_samples", self.rank, self.batch_idx)
        batch = Dataset(name)
        batch.add_tensor(self.sample_name, samples)
        if targets is not None and self.target_name and self.target_name != self.sample_name:
            check_type("targets", targets, np.ndarray, "a numpy.ndarray")
            if len(targets) != len(samples):
                raise InvalidArgumentError(
                    f"{len(samples)} samples but {len(targets)} targets in one batch"
                )
            batch.add_tensor(self.target_name, targets)
        self.client.put_dataset(batch)
        self.client.append_to_list(self.list_name, batch)
        if self.verbose:
            logger.info("added dataset %s to list %s", name, self.list_name)
        self.batch_idx += 1


class DataDownloader:
    """Downloads the batches producers upload (see the module contract)."""

    def __init__(
        self,
        data_info_or_list_name: DataInfo | str,
        batch_size: int = 32,
        dynamic: bool = True,
        shuffle: bool = True,
        cluster: bool = True,
        address: str | None = None,
        replica_rank: int = 0,
        num_replicas: int = 1,
        verbose: bool = False,
        init_samples: bool = True,
        max_fetch_trials: int = -1,
    ) -> None:
        self.address = None if address is None else check_type("address", address, str, "a str")
        self.cluster = check_bool("cluster", cluster)
        self.verbose = check_bool("verbose", verbose)
        self.batch_size = check_int("batch_size", batch_size)
        self.dynamic = check_bool("dynamic", dynamic)
        self.shuffle = check_bool("shuffle", shuffle)
        self.samples: np.ndarray | None = None
        self.targets: np.ndarray | None = None
        self.num_samples = 0
        self.indices = np.arange(0)
        self._client: Client | None = None
        self._client_pid = 0
        if isinstance(data_info_or_list_name, DataInfo):
            self._info = data_info_or_list_name
        elif isinstance(data_info_or_list_name, str):
            self._info = DataInfo(list_name=data_info_or_list_name)
            self._info.download(self.client)
        else:
            raise TypeError("data_info_or_list_name must be either DataInfo or str")
        self.uploader_keys = os.environ.get("SSKEYIN", "").split(",")
        self.set_replica_parameters(replica_rank, num_replicas)
        if check_bool("init_samples", init_samples):
            self.init_samples(max_fetch_trials)

    # ----------------------------------------------------------------- properties
    @property
    def client(self) -> Client:
        """This process's client (opened on first use; a forked worker opens its own)."""
        if self._client is None or self._client_pid != os.getpid():
            self._client = Client(self.cluster, self.address)
            self._client_pid = os.getpid()
        return self._client

    @property
    def autoencoding(self) -> bool:
        return self.sample_name == self.target_name

    @property
    def list_name(self) -> str:
        return self._info.list_name

    @property
    def sample_name(self) -> str:
        return self._info.sample_name

    @property
    def target_name(self) -> str:
        return self._info.target_name

    @property
    def num_classes(self) -> int | None:
        return self._info.num_classes

    @property
    def need_targets(self) -> bool:
        """True if targets are downloaded (there is a target name, not the samples')."""
        return bool(self.target_name) and not self.autoencoding

    # ----------------------------------------------------------------- control
    def log(self, message: str) -> None:
        if self.verbose:
            logger.info(message)

    def set_replica_parameters(self, replica_rank: int, num_replicas: int) -> None:
        """Make this object replica ``replica_rank`` of ``num_replicas`` (from now on)."""
        rank = check_int("replica_rank", replica_rank, minimum=0)
        count = check_int("num_replicas", num_replicas)
        if rank >= count:
            raise InvalidArgumentError(f"replica_rank {rank} is not below num_replicas {count}")
        self.replica_rank, self.num_replicas = rank, count
        self.next_indices = [rank] * max(1, len(self.uploader_keys))

    def init_samples(self, init_trials: int = -1) -> None:
        """Fetch data until there is one full batch: up to ``init_trials`` trials (-1 or 0:
        no limit), each waiting up to :data:`FETCH_INTERVAL` s for a list to grow.
        TrainingDataError if there is still no full batch."""
        trials = check_int("init_trials", init_trials, minimum=None) or -1
        done = 0
        self._update_samples_and_targets()
        while not self and done != trials:
            self.log("no full batch yet; waiting for producers")
            self._wait_for_more(FETCH_INTERVAL)
            self._update_samples_and_targets()
            done += 1
        if not self:
            raise TrainingDataError(
                f"no full batch of {self.batch_size} samples in list {self.list_name!r} "
                f"after {done} trial(s) ({self.num_samples} sample(s) found)"
            )
        if self.shuffle:
            np.random.shuffle(self.indices)

    def update_data(self) -> None:
        """Fetch what producers appended since the last call (``dynamic``), then reshuffle
        (``shuffle``)."""
        if self.dynamic:
            self._update_samples_and_targets()
        if self.shuffle:
            np.random.shuffle(self.indices)

    # ----------------------------------------------------------------- iteration
    def __len__(self) -> int:
        """Full batches available."""
        return self.num_samples // self.batch_size

    def __iter__(self) -> Iterator[Batch]:
        self.update_data()
        if len(self) < 1:
            raise InvalidArgumentError(
                "Not enough samples in generator for one batch. Please run init_samples() "
                "or initialize generator with init_samples=True"
            )
        for index in range(len(self)):
            yield self._data_generation(self._calc_indices(index))

    def _calc_indices(self, index: int) -> np.ndarray:
        return self.indices[index * self.batch_size : (index + 1) * self.batch_size]

    def _data_generation(self, indices: np.ndarray) -> Batch:
        if self.samples is None:
            raise InvalidArgumentError("Samples have not been initialized")
        x: np.ndarray = self.samples[indices]
        if self.need_targets and self.targets is not None:
            return x, self.targets[indices]
        if self.autoencoding:
            return x, x
        return x

    # ----------------------------------------------------------------- fetching
    def _sources(self) -> Iterator[tuple[int, str]]:
        """``(index, producer)`` of every producer, the client reading its lists."""
        for index, key in enumerate(self.uploader_keys):
            if key:
                self.client.use_list_ensemble_prefix(True)
                self.client.set_data_source(key)
            yield index, key

    def _update_samples_and_targets(self) -> None:
        self.log(f"Rank {self.replica_rank} out of {self.num_replicas} replicas")
        for index, _ in self._sources():
            length = self.client.get_list_length(self.list_name)
            start = self.next_indices[index]
            if length > start:
                entries = list(range(start, length, self.num_replicas))
                self._add_samples(entries)
                self.next_indices[index] = entries[-1] + self.num_replicas

    def _wait_for_more(self, timeout: float) -> None:
        """Return once some producer's list holds an entry not fetched yet, or after
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for index, _ in self._sources():
                if self.client.get_list_length(self.list_name) > self.next_indices[index]:
                    return
            time.sleep(_POLL)

    def _fetch(self, entries: list[int]) -> list[Dataset]:
        if self.num_replicas == 1:
            return self.client.get_dataset_list_range(self.list_name, entries[0], entries[-1])
        found: list[Dataset] = []
        for entry in entries:
            found += self.client.get_dataset_list_range(self.list_name, entry, entry)
        return found

    def _add_samples(self, entries: list[int]) -> None:
        datasets = self._fetch(entries)
        parts = [d.get_tensor(self.sample_name) for d in datasets]
        self.samples = np.concatenate(parts if self.samples is None else [self.samples, *parts])
        if self.need_targets:
            labels = [d.get_tensor(self.target_name) for d in datasets]
            self.targets = np.concatenate(
                labels if self.targets is None else [self.targets, *labels]
            )
        self.num_samples = int(self.samples.shape[0])
        self.indices = np.arange(self.num_samples)
        self.log(f"New dataset size: {self.num_samples}, batches: {len(self)}")

    def __getstate__(self) -> dict[str, object]:
        """Picklable for spawned data-loader workers: without this process's client."""
        state = dict(self.__dict__)
        state["_client"], state["_client_pid"] = None, 0
        return state
