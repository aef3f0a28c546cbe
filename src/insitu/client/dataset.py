"""``Dataset``: named tensors plus metadata, built locally and stored as one value.

The API is SmartRedis 0.6's, name for name. A Dataset is an in-memory object: nothing
reaches the store until ``Client.put_dataset``. ``add_tensor`` copies the array (later
changes to the caller's array do not leak into the dataset).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from insitu._checks import check_type
from insitu.client.logging import LogContext
from insitu.connection.resp import encode_text
from insitu.errors import ParameterTypeError, RedisKeyError, RedisRuntimeError
from insitu.wire.datasets import META_DTYPES, STRING, DatasetContents, MetaField
from insitu.wire.tensors import wire_dtype


@dataclass
class _Field:
    """A metadata field being built: its element dtype (None for strings) and values."""

    dtype: np.dtype[np.generic] | None
    values: list[object] = field(default_factory=list)


@dataclass
class PyDataset:
    """The data behind a :class:`Dataset` (SmartRedis's pybind ``PyDataset``; here a plain
    holder shared with the Dataset it came from), for ``get_data``/``set_data``/
    ``from_pybind``."""

    name: str
    tensors: dict[str, np.ndarray]
    fields: dict[str, _Field]


class Dataset(LogContext):
    """A named group of tensors and metadata fields (SmartRedis ``Dataset``)."""

    def __init__(self, name: str) -> None:
        self._name = _text("name", name)
        self._log_context = name
        self._tensors: dict[str, np.ndarray] = {}
        self._fields: dict[str, _Field] = {}

    def __str__(self) -> str:
        tensors = ", ".join(
            f"{n} ({self.get_tensor_type(n).__name__} {list(a.shape)})"
            for n, a in self._tensors.items()
        )
        fields = ", ".join(f"{n} ({self._type_name(f)})" for n, f in self._fields.items())
        return (
            f"DataSet ({self._name}):\n  Tensors: {tensors or '(none)'}\n"
            f"  Metadata: {fields or '(none)'}"
        )

    def __repr__(self) -> str:
        return f"Dataset({self._name!r})"

    @staticmethod
    def from_pybind(dataset: PyDataset) -> Dataset:
        """A Dataset over ``dataset`` (the value of :meth:`get_data`); TypeError otherwise."""
        check_type("dataset", dataset, PyDataset, "a PyDataset")
        result = Dataset(dataset.name)
        result.set_data(dataset)
        return result

    def get_data(self) -> PyDataset:
        """The data behind this Dataset (shared, not copied)."""
        return PyDataset(self._name, self._tensors, self._fields)

    def set_data(self, dataset: PyDataset) -> None:
        """Make this Dataset a view of ``dataset``; TypeError unless it is a PyDataset."""
        check_type("dataset", dataset, PyDataset, "a PyDataset")
        self._name, self._log_context = dataset.name, dataset.name
        self._tensors, self._fields = dataset.tensors, dataset.fields

    # ----------------------------------------------------------------- tensors
    def add_tensor(self, name: str, data: np.ndarray) -> None:
        """Add the tensor ``name`` (a copy of ``data``). TypeError for unsupported dtypes;
        RedisRuntimeError if the dataset already has a tensor of that name."""
        _text("name", name)
        check_type("data", data, np.ndarray, "a numpy.ndarray")
        wire_dtype(data)
        if name in self._tensors:
            raise RedisRuntimeError(f"dataset {self._name!r} already has a tensor {name!r}")
        self._tensors[name] = np.array(data, copy=True, order="K")

    def get_tensor(self, name: str) -> np.ndarray:
        """The tensor ``name``; RedisKeyError if there is none."""
        return self._tensor(name)

    def get_tensor_names(self) -> list[str]:
        """Names of the tensors, in the order they were added."""
        return list(self._tensors)

    def get_tensor_type(self, name: str) -> type[np.generic]:
        """The numpy scalar type of the tensor ``name`` (``np.float64`` ...)."""
        return self._tensor(name).dtype.type

    def get_tensor_dims(self, name: str) -> list[int]:
        """The shape of the tensor ``name`` as a list."""
        return list(self._tensor(name).shape)

    def get_name(self) -> str:
        """The dataset's name."""
        return self._name

    # ----------------------------------------------------------------- metadata
    def add_meta_scalar(self, name: str, data: int | float | np.generic) -> None:
        """Append a scalar to the field ``name`` (created if missing).

        Scalars are float64, float32, int32, int64, uint32 or uint64 (Python ``int`` is
        int64, ``float`` float64); anything else, or more than one value, is a TypeError.
        A field keeps the type of its first value (RedisRuntimeError otherwise).
        """
        _text("name", name)
        value = np.asarray(data)
        if value.size != 1:
            raise ParameterTypeError("Argument provided is not a scalar")
        dtype = value.dtype.newbyteorder("<")
        if value.dtype.kind not in "fiu" or dtype not in META_DTYPES:
            kinds = ", ".join(str(d) for d in META_DTYPES)
            raise ParameterTypeError(
                f"Incompatible metadata type provided {value.dtype}: use one of {kinds}"
            )
        entry = self._fields.setdefault(name, _Field(dtype))
        if entry.dtype != dtype:
            raise RedisRuntimeError(
                f"metadata field {name!r} holds {self._type_name(entry)}, not {META_DTYPES[dtype]}"
            )
        entry.values.append(value.reshape(()).item())

    def add_meta_string(self, name: str, data: str) -> None:
        """Append a string to the field ``name`` (created if missing)."""
        _text("name", name)
        _text("data", data)
        entry = self._fields.setdefault(name, _Field(None))
        if entry.dtype is not None:
            raise RedisRuntimeError(f"metadata field {name!r} holds scalars, not strings")
        entry.values.append(data)

    def get_meta_scalars(self, name: str) -> np.ndarray:
        """The values of the scalar field ``name`` (a 1-D array of the field's type)."""
        entry = self._field(name)
        if entry.dtype is None:
            raise RedisRuntimeError(f"metadata field {name!r} holds strings, not scalars")
        return np.array(entry.values, dtype=entry.dtype)

    def get_meta_strings(self, name: str) -> list[str]:
        """The values of the string field ``name``."""
        entry = self._field(name)
        if entry.dtype is not None:
            raise RedisRuntimeError(f"metadata field {name!r} holds scalars, not strings")
        return [str(v) for v in entry.values]

    def get_metadata_field_names(self) -> list[str]:
        """Names of the metadata fields, in the order they were created."""
        return list(self._fields)

    def get_metadata_field_type(self, name: str) -> type:
        """``str`` for a string field, else the numpy scalar type (``np.int64`` ...)."""
        entry = self._field(name)
        return str if entry.dtype is None else entry.dtype.type

    # ----------------------------------------------------------------- codec bridge
    def _contents(self) -> DatasetContents:
        """The dataset as a value for the codec."""
        fields = tuple(
            MetaField(n, strings=tuple(str(v) for v in f.values))
            if f.dtype is None
            else MetaField(n, scalars=np.array(f.values, dtype=f.dtype))
            for n, f in self._fields.items()
        )
        return DatasetContents(tuple(self._tensors.items()), fields)

    @classmethod
    def _from_contents(cls, name: str, contents: DatasetContents) -> Dataset:
        """A Dataset holding ``contents`` (arrays are kept as given: no copy)."""
        dataset = cls(name)
        dataset._tensors = dict(contents.tensors)
        for meta in contents.metadata:
            if meta.scalars is None:
                dataset._fields[meta.name] = _Field(None, list(meta.strings))
            else:
                dataset._fields[meta.name] = _Field(meta.scalars.dtype, meta.scalars.tolist())
        return dataset

    def _tensor(self, name: str) -> np.ndarray:
        check_type("name", name, str, "a str")
        try:
            return self._tensors[name]
        except KeyError:
            raise RedisKeyError(name, f"dataset {self._name!r} has no tensor {name!r}") from None

    def _field(self, name: str) -> _Field:
        check_type("name", name, str, "a str")
        try:
            return self._fields[name]
        except KeyError:
            raise RedisKeyError(
                name, f"dataset {self._name!r} has no metadata field {name!r}"
            ) from None

    @staticmethod
    def _type_name(entry: _Field) -> str:
        return STRING if entry.dtype is None else META_DTYPES[entry.dtype]


def _text(arg: str, value: object) -> str:
    """``value`` if it is a ``str`` with a UTF-8 form, the form everything is stored in
    (TypeError; RedisParameterError for a lone surrogate, caught here and not at put time)."""
    text = check_type(arg, value, str, "a str")
    encode_text(text, arg)
    return text
