"""PyTorch data generators over the store (SmartSim 0.8's ``smartsim.ml.torch``).

``StaticDataGenerator`` and ``DynamicDataGenerator`` are ``torch.utils.data.IterableDataset``
views of a :class:`~insitu.ml.data.DataDownloader` (``dynamic`` False / True) that yield
batches as torch tensors; ``DataLoader`` runs them in worker processes, worker ``w`` of
``W`` becoming replica ``rank * W + w`` of ``num_replicas * W`` so that no two workers
yield the same batch, and fetches the samples in the worker.

As in SmartSim the generators are made with ``init_samples=False`` (a ``True`` is logged
and ignored): the ``DataLoader`` initialises them in its workers. insitu additions: a
generator iterated directly, or through ``DataLoader(num_workers=0)``, initialises itself
on first use instead of failing; ``DataLoader`` keeps its workers between epochs only
when it has workers (``persistent_workers``).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.utils.data

from insitu.ml.data import DataDownloader

TorchBatch = tuple[torch.Tensor, torch.Tensor] | torch.Tensor


class _TorchDataGenerationCommon(DataDownloader, torch.utils.data.IterableDataset):  # type: ignore[type-arg]
    def __init__(self, **kwargs: object) -> None:
        asked = kwargs.pop("init_samples", False)
        kwargs["init_samples"] = False
        DataDownloader.__init__(self, **kwargs)  # type: ignore[arg-type]
        self._initialised = False
        if asked:
            self.log(
                "PyTorch Data Generator has to be created with init_samples=False. "
                "Setting it to False automatically."
            )

    def init_samples(self, init_trials: int = -1) -> None:
        DataDownloader.init_samples(self, init_trials)
        self._initialised = True

    def __iter__(self) -> Iterator[TorchBatch]:  # type: ignore[override]
        if not self._initialised:
            self.init_samples()
        for batch in DataDownloader.__iter__(self):
            if isinstance(batch, tuple):
                yield torch.from_numpy(batch[0]), torch.from_numpy(batch[1])
            else:
                yield torch.from_numpy(batch)


class StaticDataGenerator(_TorchDataGenerationCommon):
    """The samples present when it is initialised, reshuffled every epoch (``dynamic`` is
    forced to False; a ``True`` is logged and ignored)."""

    def __init__(self, **kwargs: object) -> None:
        dynamic = kwargs.pop("dynamic", False)
        kwargs["dynamic"] = False
        super().__init__(**kwargs)
        if dynamic:
            self.log(
                "Static data generator cannot be started with dynamic=True, setting it to False"
            )


class DynamicDataGenerator(_TorchDataGenerationCommon):
    """New batches as producers append them, fetched at the start of every epoch
    (``dynamic`` is forced to True; a ``False`` is logged and ignored)."""

    def __init__(self, **kwargs: object) -> None:
        dynamic = kwargs.pop("dynamic", True)
        kwargs["dynamic"] = True
        super().__init__(**kwargs)
        if not dynamic:
            self.log(
                "Dynamic data generator cannot be started with dynamic=False, setting it to True"
            )


def _worker_init_fn(worker_id: int) -> None:
    info = torch.utils.data.get_worker_info()
    if info is None:  # not in a worker
        return
    dataset = info.dataset
    assert isinstance(dataset, _TorchDataGenerationCommon)
    dataset.set_replica_parameters(
        replica_rank=dataset.replica_rank * info.num_workers + info.id,
        num_replicas=dataset.num_replicas * info.num_workers,
    )
    dataset.log(
        f"Worker {info.id + 1}/{info.num_workers}: dataset replica "
        f"{dataset.replica_rank + 1}/{dataset.num_replicas}"
    )
    dataset.init_samples()


class DataLoader(torch.utils.data.DataLoader):  # type: ignore[type-arg]
    """A ``torch.utils.data.DataLoader`` for the generators above; pass ``batch_size=None``
    (the generators yield whole batches) and e.g. ``num_workers``."""

    def __init__(self, dataset: _TorchDataGenerationCommon, **kwargs: object) -> None:
        workers = kwargs.get("num_workers", 0)
        kwargs.setdefault("persistent_workers", isinstance(workers, int) and workers > 0)
        super().__init__(dataset, worker_init_fn=_worker_init_fn, **kwargs)  # type: ignore[arg-type]


__all__ = ["DataLoader", "DynamicDataGenerator", "StaticDataGenerator"]
