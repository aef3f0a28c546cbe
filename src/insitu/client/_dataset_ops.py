"""Client operations on datasets and aggregation lists (SmartRedis 0.6 names).

A dataset is laid out as SmartRedis lays it out (see :mod:`insitu.wire.datasets`): the
hash ``D.meta`` (its acknowledgement ``.COMPLETE`` written last) and a tensor value per
tensor under ``D.<name>``, where ``D`` is ``[<prefix>.]{<name>}``; all in one slot. insitu
writes them in one ``MULTI``/``EXEC`` and reads them in one (after learning the tensor
names), so its readers see a whole dataset or none. An aggregation list is a Redis list of
dataset keys ``D``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from insitu._checks import check_int, check_type
from insitu.client._core import ClientCore
from insitu.client.dataset import Dataset
from insitu.connection.resp import Arg, Value
from insitu.errors import RedisKeyError, RedisParameterError, RedisRuntimeError, WireFormatError
from insitu.wire import keys
from insitu.wire.datasets import (
    COMPLETE_FIELD,
    OLD_MAGIC,
    TENSOR_NAMES_FIELD,
    DatasetContents,
    decode_dataset,
    encode_dataset,
    meta_key,
    tensor_key,
    tensor_names,
)

_SNAPSHOT_TRIES = 20  # a writer that keeps changing the tensor names starves a reader


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
        self._write(self._dataset_key(dataset.get_name(), read=False), contents)

    def get_dataset(self, name: str) -> Dataset:
        """The dataset ``name``; RedisKeyError if it does not exist."""
        key = self._dataset_key(name, read=True)
        return Dataset._from_contents(name, self._read(key, name))

    def delete_dataset(self, name: str) -> None:
        """Delete the dataset ``name``; RedisKeyError if it does not exist."""
        key = self._dataset_key(name, read=True)
        if not self._delete(key):
            raise _missing(key, name)

    def copy_dataset(self, src_name: str, dest_name: str) -> None:
        """Copy ``src_name`` (read prefix) to ``dest_name`` (write prefix)."""
        src = self._dataset_key(src_name, read=True, arg="src_name")
        dst = self._dataset_key(dest_name, read=False, arg="dest_name")
        self._write(dst, self._read(src, src_name))

    def rename_dataset(self, old_name: str, new_name: str) -> None:
        """Move ``old_name`` (read prefix) to ``new_name`` (write prefix)."""
        src = self._dataset_key(old_name, read=True, arg="old_name")
        dst = self._dataset_key(new_name, read=False, arg="new_name")
        contents = self._read(src, old_name)
        if src != dst:
            self._write(dst, contents)
            self._delete(src)

    def dataset_exists(self, name: str) -> bool:
        """True if the dataset ``name`` exists (read prefix applied)."""
        return self._complete(self._dataset_key(name, read=True))

    def poll_dataset(self, name: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """:meth:`dataset_exists`, up to ``num_tries`` times ``poll_frequency_ms`` apart."""
        key = self._dataset_key(name, read=True)
        return self._poll(lambda: self._complete(key), poll_frequency_ms, num_tries)

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
        datasets = []
        for entry, contents in zip(entries, self._snapshots(entries), strict=True):
            if contents is None:
                old = self._absent(entry, keys.dataset_name(entry))
                if isinstance(old, WireFormatError):
                    raise old
                raise RedisKeyError(entry, f"list {key!r} refers to a missing dataset {entry!r}")
            datasets.append(Dataset._from_contents(keys.dataset_name(entry), contents))
        return datasets

    def _snapshots(self, entries: list[str]) -> list[DatasetContents | None]:
        """:meth:`_snapshot` of many datasets in two round trips per shard: every hash,
        then every dataset's hash and tensors in a ``MULTI``/``EXEC`` of its own."""
        metas = [meta_key(e) for e in entries]
        first = self._store.pipeline_many([(m, [("HGETALL", m)]) for m in metas])
        fields = [_hash(replies[0]) for replies in first]
        names = [
            tensor_names(f, e) if COMPLETE_FIELD in f else ()
            for f, e in zip(fields, entries, strict=True)
        ]
        groups = [
            (m, [("MULTI",), ("HGETALL", m), *[("GET", tensor_key(e, n)) for n in ns], ("EXEC",)])
            for m, e, ns in zip(metas, entries, names, strict=True)
        ]
        second = self._store.pipeline_many(groups)
        out: list[DatasetContents | None] = []
        for entry, before, replies in zip(entries, names, second, strict=True):
            result = replies[-1]
            if not isinstance(result, list):
                raise RedisRuntimeError(f"MULTI/EXEC on {entry!r} was aborted")
            now = _hash(result[0])
            if COMPLETE_FIELD not in now:
                out.append(None)
            elif tensor_names(now, entry) != before:  # rewritten in between: read it alone
                out.append(self._snapshot(entry))
            else:
                out.append(decode_dataset(now, [_writable(v) for v in result[1:]], entry))
        return out

    # ----------------------------------------------------------------- the layout
    def _write(self, key: str, contents: DatasetContents) -> None:
        """Replace the dataset at ``key`` in one transaction, the acknowledgement last."""
        write = encode_dataset(contents)
        meta = meta_key(key)
        for name, tensor in write.tensors:  # an oversized tensor fails before anything is sent
            self._store.check_size(tensor_key(key, name), tensor.nbytes)
        fields: list[Arg] = [part for field in write.fields for part in field]
        commands: list[tuple[Arg, ...]] = [("DEL", meta), ("HSET", meta, *fields)]
        commands += [
            ("SET", tensor_key(key, name), Value(tensor.parts())) for name, tensor in write.tensors
        ]
        commands.append(("HSET", meta, COMPLETE_FIELD, "1"))
        self._store.transaction(meta, commands)

    def _read(self, key: str, name: str) -> DatasetContents:
        contents = self._snapshot(key)
        if contents is None:
            raise self._absent(key, name)
        return contents

    def _snapshot(self, key: str) -> DatasetContents | None:
        """The dataset at ``key`` as one transaction saw it; None if it is not complete."""
        meta = meta_key(key)
        fields = _hash(self._store.command(meta, "HGETALL", meta))
        for _ in range(_SNAPSHOT_TRIES):
            if COMPLETE_FIELD not in fields:
                return None
            names = tensor_names(fields, key)
            if not names:
                return decode_dataset(fields, (), key)
            gets = [("GET", tensor_key(key, n)) for n in names]
            replies = self._store.transaction(meta, [("HGETALL", meta), *gets])
            fields = _hash(replies[0])
            if tensor_names(fields, key) == names and COMPLETE_FIELD in fields:
                values = [_writable(v) for v in replies[1:]]
                return decode_dataset(fields, values, key)
        raise RedisRuntimeError(f"dataset {key!r} kept changing while it was read")

    def _delete(self, key: str) -> bool:
        """Delete the dataset at ``key`` (its hash and tensors); False if it had no hash."""
        meta = meta_key(key)
        raw = self._store.command(meta, "HGET", meta, TENSOR_NAMES_FIELD)
        listed = _writable(raw)
        names = tensor_names({} if listed is None else {TENSOR_NAMES_FIELD: listed}, key)
        deleted = self._store.command(meta, "DEL", meta, *(tensor_key(key, n) for n in names))
        return isinstance(deleted, int) and deleted > 0

    def _complete(self, key: str) -> bool:
        meta = meta_key(key)
        return self._store.command(meta, "HEXISTS", meta, COMPLETE_FIELD) == 1

    def _absent(self, key: str, name: str) -> RedisKeyError | WireFormatError:
        """Why the dataset at ``key`` cannot be read: missing, or in insitu's old layout."""
        old = self._store.get(key)
        if old is not None and bytes(old[:4]) == OLD_MAGIC:
            return WireFormatError(
                key, "a dataset in insitu's old one-value layout (before 0.2): rewrite it"
            )
        return _missing(key, name)

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


def _writable(reply: object) -> memoryview | None:
    """A bulk reply as a writable buffer (arrays decoded from it may be written to)."""
    if reply is None:
        return None
    if not isinstance(reply, bytes | bytearray | memoryview):
        raise RedisRuntimeError(f"unexpected reply {type(reply).__name__} for a value")
    return memoryview(bytearray(reply))


def _hash(reply: object) -> dict[str, bytes]:
    """A ``HGETALL`` reply as field name to value (in the hash's order)."""
    if not isinstance(reply, list) or len(reply) % 2:
        raise RedisRuntimeError(f"unexpected HGETALL reply {type(reply).__name__}")
    items = [bytes(item) for item in reply]
    return {items[i].decode("utf-8", "replace"): items[i + 1] for i in range(0, len(items), 2)}


def _missing(key: str, name: str) -> RedisKeyError:
    return RedisKeyError(key, f"The requested DataSet {name!r} (key {key!r}) does not exist.")
