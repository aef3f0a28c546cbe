"""``DatasetConverter``: SmartRedis 0.6's xarray bridge for a :class:`Dataset`.

``add_metadata_for_xarray(dataset, data_names, dim_names, coord_names=None,
attr_names=None)`` describes tensors of ``dataset`` as xarray variables, in string metadata
fields (the layout SmartRedis writes, so datasets are interchangeable):

* ``_xarray_data_names``: one entry per described tensor;
* ``_xarray_<name>_dim_names`` / ``_coord_names`` / ``_attr_names``: the comma-joined
  names, or ``"null"`` when not given.

``dim_names`` and ``attr_names`` name *metadata fields*: a dimension's name is the first
string of its field, an attribute's value the first string of its field (its key is the
field name). ``coord_names`` name tensors that are themselves described (their own
``data_names`` call) and become coordinates of the variable.

``transform_to_xarray(dataset)`` returns ``{name: xarray.DataArray}`` for every described
tensor that is not a coordinate of another. It needs xarray (``pip install
'insitu[xarray]'``, else :class:`~insitu.errors.MissingDependencyError`);
``add_metadata_for_xarray`` does not.

Differences from SmartRedis, each a fix: a coordinate is attached only to the variables
that list it (SmartRedis attached every coordinate found to every variable); ``"null"``
attribute or coordinate lists mean none (SmartRedis looked up a field named ``null``); an
empty name raises ``RedisParameterError`` (SmartRedis meant to refuse it and did not); a
listed coordinate that was never described raises ``RedisKeyError`` naming it (SmartRedis
dropped it silently).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from insitu._checks import check_type, type_error
from insitu.client.dataset import Dataset
from insitu.errors import MissingDependencyError, RedisParameterError

if TYPE_CHECKING:
    import xarray

DATA_NAMES = "_xarray_data_names"
NONE = "null"
_KINDS = ("dim", "coord", "attr")


def field_name(name: str, kind: str) -> str:
    """The metadata field listing the ``kind`` (dim, coord, attr) names of ``name``."""
    return f"_xarray_{name}_{kind}_names"


class DatasetConverter:
    """Static helpers between a :class:`Dataset` and xarray (see the module docs)."""

    @staticmethod
    def add_metadata_for_xarray(
        dataset: Dataset,
        data_names: str | list[str],
        dim_names: str | list[str],
        coord_names: str | list[str] | None = None,
        attr_names: str | list[str] | None = None,
    ) -> None:
        """Describe the tensors ``data_names`` of ``dataset`` for :meth:`transform_to_xarray`.

        TypeError unless ``dataset`` is a Dataset and each names argument is a str or a list
        of str (``coord_names``/``attr_names`` may be None); RedisParameterError for an
        empty name. Nothing is written when an argument is refused."""
        check_type("dataset", dataset, Dataset, "a Dataset")
        names = _names("data_names", data_names)
        lists = {
            "dim": _names("dim_names", dim_names),
            "coord": None if coord_names is None else _names("coord_names", coord_names),
            "attr": None if attr_names is None else _names("attr_names", attr_names),
        }
        for name in names:
            dataset.add_meta_string(DATA_NAMES, name)
            for kind, values in lists.items():
                text = NONE if values is None else ",".join(values)
                dataset.add_meta_string(field_name(name, kind), text)

    @staticmethod
    def transform_to_xarray(dataset: Dataset) -> dict[str, xarray.DataArray]:
        """``{name: DataArray}`` of every described variable of ``dataset`` that is not a
        coordinate of another, with its dims, coordinates and attributes."""
        check_type("dataset", dataset, Dataset, "a Dataset")
        try:
            import xarray as xr
        except ImportError as err:
            raise MissingDependencyError(
                "xarray (DatasetConverter.transform_to_xarray)",
                "install it with: pip install 'insitu[xarray]'",
            ) from err
        names = dataset.get_meta_strings(DATA_NAMES)
        coords_of = {name: _listed(dataset, name, "coord") for name in names}
        coordinates = {c for listed in coords_of.values() for c in listed if c in names}
        result: dict[str, xarray.DataArray] = {}
        for name in names:
            if name in coordinates or name in result:
                continue
            coords = {c: _variable(dataset, c) for c in coords_of[name]}
            dims, data, attrs = _variable(dataset, name)
            result[name] = xr.DataArray(name=name, data=data, coords=coords, dims=dims, attrs=attrs)
        return result


def _variable(dataset: Dataset, name: str) -> tuple[list[str], np.ndarray, dict[str, str]]:
    """``(dims, data, attrs)`` of the described tensor ``name``."""
    dims = [dataset.get_meta_strings(f)[0] for f in _listed(dataset, name, "dim")]
    attrs = {f: dataset.get_meta_strings(f)[0] for f in _listed(dataset, name, "attr")}
    return dims, dataset.get_tensor(name), attrs


def _listed(dataset: Dataset, name: str, kind: str) -> list[str]:
    text = dataset.get_meta_strings(field_name(name, kind))[0]
    return [] if text in (NONE, "") else text.split(",")


def _names(arg: str, value: object) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise type_error(arg, value, "a str or a list of str")
    for item in items:
        if not isinstance(item, str):
            raise type_error(f"an item of {arg}", item, "a str")
        if not item:
            raise RedisParameterError(f"{arg} must not contain an empty name")
    return items
