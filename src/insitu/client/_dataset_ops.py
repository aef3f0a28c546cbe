"""Client operations on datasets and aggregation lists (SmartRedis 0.6 names).

A dataset is ONE store value (see :mod:`insitu.wire.datasets`) under the key
``[<prefix>.]{<name>}``, written by one ``SET``: a reader sees all of it or nothing. An
aggregation list is a Redis list of dataset keys.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from insitu._checks import check_int, check_type
from insitu.client._core import ClientCore
from insitu.client.dataset import Dataset
from insitu.connection.resp import Value
from insitu.errors import RedisKeyError, RedisParameterError, RedisRuntimeError
from insitu.wire import keys
from insitu.wire.datasets import decode_dataset, encode_dataset


class DatasetOps(ClientCore):
    """``put_dataset``/``get_dataset``/... and the aggregation-list operations."""

    def put_dataset(self, dataset: Dataset) -> None:
        """Store ``dataset`` atomically, replacing any dataset of the same name.
        RedisRuntimeError if it holds neither tensors nor metadata."""
        check_type("dataset", dataset, Dataset, "a Dataset")
        contents = dataset._contents()
        if contents.is_empty:
            raise RedisRuntimeError(
                f"An attempt was made to put the DataSet {dataset.get_name()!r} into the "
                "database that does not contain any fields or tensors."
            )
        key = self._dataset_key(dataset.get_name(), read=False)
        self._store.put(key, Value(tuple(encode_dataset(contents))))

    def get_dataset(self, name: str) -> Dataset:
        """The dataset ``name``; RedisKeyError if it does not exist."""
        key = self._dataset_key(name, read=True)
        buf = self._store.get(key)
        if buf is None:
            raise _missing(key, name)
        return Dataset._from_contents(name, decode_dataset(buf, key))

    def delete_dataset(self, name: str) -> None:
        """Delete the dataset ``name``; RedisKeyError if it does not exist."""
        key = self._dataset_key(name, read=True)
        if not self._store.delete(key):
            raise _missing(key, name)

    def copy_dataset(self, src_name: str, dest_name: str) -> None:
        """Copy ``src_name`` (read prefix) to ``dest_name`` (write prefix)."""
        src = self._dataset_key(src_name, read=True, arg="src_name")
        dst = self._dataset_key(dest_name, read=False, arg="dest_name")
        if not self._store.copy(src, dst):
            raise _missing(src, src_name)

    def rename_dataset(self, old_name: str, new_name: str) -> None:
        """Move ``old_name`` (read prefix) to ``new_name`` (write prefix)."""
        src = self._dataset_key(old_name, read=True, arg="old_name")
        dst = self._dataset_key(new_name, read=False, arg="new_name")
        if not self._store.rename(src, dst):
            raise _missing(src, old_name)

    def dataset_exists(self, name: str) -> bool:
        """True if the dataset ``name`` exists (read prefix applied)."""
        return self._store.exists(self._dataset_key(name, read=True))

    def poll_dataset(self, name: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """:meth:`dataset_exists`, up to ``num_tries`` times ``poll_frequency_ms`` apart."""
        key = self._dataset_key(name, read=True)
        return self._poll(lambda: self._store.exists(key), poll_frequency_ms, num_tries)

    # ----------------------------------------------------------------- aggregation lists
    def append_to_list(self, list_name: str, dataset: Dataset) -> None:
        """Append a reference to ``dataset`` (put it first with :meth:`put_dataset`)."""
        key = self._list_key(list_name, read=False)
        check_type("dataset", dataset, Dataset, "a Dataset")
        entry = keys.dataset_key(self._prefixes, dataset.get_name(), read=False)
        self._store.rpush(key, [entry])

    def delete_list(self, list_name: str) -> None:
        """Delete the list (not the datasets it refers to)."""
        self._store.delete(self._list_key(list_name, read=True))

    def copy_list(self, src_name: str, dest_name: str) -> None:
        """Make ``dest_name`` (write prefix) a copy of ``src_name`` (read prefix)."""
        src, dst = self._list_pair(src_name, dest_name)
        if src != dst and not self._store.copy_list(src, dst):
            raise RedisKeyError(src, f"The source aggregation list {src!r} does not exist.")

    def rename_list(self, src_name: str, dest_name: str) -> None:
        """Move ``src_name`` (read prefix) to ``dest_name`` (write prefix)."""
        src, dst = self._list_pair(src_name, dest_name)
        if src == dst:
            return
        if not self._store.copy_list(src, dst):
            raise RedisKeyError(src, f"The source aggregation list {src!r} does not exist.")
        self._store.delete(src)

    def get_list_length(self, list_name: str) -> int:
        """Number of entries in the list (0 if it does not exist)."""
        return self._store.llen(self._list_key(list_name, read=True))

    def poll_list_length(
        self, name: str, list_length: int, poll_frequency_ms: int, num_tries: int
    ) -> bool:
        """True once the list has exactly ``list_length`` entries (polled)."""
        return self._poll_length(name, list_length, poll_frequency_ms, num_tries, operator.eq)

    def poll_list_length_gte(
        self, name: str, list_length: int, poll_frequency_ms: int, num_tries: int
    ) -> bool:
        """True once the list has at least ``list_length`` entries (polled)."""
        return self._poll_length(name, list_length, poll_frequency_ms, num_tries, operator.ge)

    def poll_list_length_lte(
        self, name: str, list_length: int, poll_frequency_ms: int, num_tries: int
    ) -> bool:
        """True once the list has at most ``list_length`` entries (polled)."""
        return self._poll_length(name, list_length, poll_frequency_ms, num_tries, operator.le)

    def get_datasets_from_list(self, list_name: str) -> list[Dataset]:
        """Every dataset the list refers to, in list order."""
        return self.get_dataset_list_range(list_name, 0, -1)

    def get_dataset_list_range(
        self, list_name: str, start_index: int, end_index: int
    ) -> list[Dataset]:
        """Datasets at list positions ``start_index``..``end_index`` (inclusive; negative
        indices count from the end, as in Redis ``LRANGE``). RedisKeyError if an entry
        refers to a dataset that no longer exists."""
        key = self._list_key(list_name, read=True)
        if not list_name:
            raise RedisParameterError("The list name must have length greater than zero")
        start = check_int("start_index", start_index, minimum=None)
        end = check_int("end_index", end_index, minimum=None)
        entries = self._store.lrange(key, start, end)
        values = self._store.get_many(entries)
        datasets = []
        for entry, buf in zip(entries, values, strict=True):
            if buf is None:
                raise RedisKeyError(entry, f"list {key!r} refers to a missing dataset {entry!r}")
            contents = decode_dataset(buf, entry)
            datasets.append(Dataset._from_contents(keys.dataset_name(entry), contents))
        return datasets

    def _list_pair(self, src_name: str, dest_name: str) -> tuple[str, str]:
        src = self._list_key(src_name, read=True, arg="src_name")
        dst = self._list_key(dest_name, read=False, arg="dest_name")
        if not src_name or not dest_name:
            raise RedisParameterError("list names must not be empty")
        return src, dst

    def _poll_length(
        self, name: str, length: int, frequency: int, tries: int, ok: Callable[[int, int], bool]
    ) -> bool:
        key = self._list_key(name, read=True, arg="name")
        target = check_int("list_length", length, minimum=None)
        if target < 0:
            raise RedisParameterError("A positive value for list_length must be provided.")
        return self._poll(lambda: ok(self._store.llen(key), target), frequency, tries)


def _missing(key: str, name: str) -> RedisKeyError:
    return RedisKeyError(key, f"The requested DataSet {name!r} (key {key!r}) does not exist.")
