"""SmartRedis's ``DatasetConverter``: xarray metadata on a Dataset and back to DataArrays,
also after a trip through a real store."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np
import pytest
import xarray as xr

from insitu.client import Client, Dataset, DatasetConverter
from insitu.errors import MissingDependencyError, RedisKeyError, RedisParameterError
from tests.topologies import Store

LON = np.linspace(0, 360, 10)
LAT = np.linspace(-90, 90, 5)
ATTRS = {"units": "m/s", "longname": "velocity", "convention": "CF1.5"}


def _reference_2d(data: np.ndarray) -> xr.DataArray:
    return xr.DataArray(
        name="2ddata",
        data=data,
        dims=["x", "y"],
        coords=(
            ("x", LON, {"x_coord_units": "degrees E", "x_coord_longname": "Longitude"}),
            ("y", LAT, {"y_coord_units": "degrees N", "y_coord_longname": "Latitude"}),
        ),
        attrs=ATTRS,
    )


def _dataset_2d(data: np.ndarray) -> Dataset:
    ds = Dataset("ds-2d")
    ds.add_tensor("2ddata", data)
    ds.add_tensor("x", LON)
    ds.add_tensor("y", LAT)
    for field, value in (("x_coord_units", "degrees E"), ("x_coord_longname", "Longitude"),
                         ("y_coord_units", "degrees N"), ("y_coord_longname", "Latitude"),
                         ("dim_data_x", "x"), ("dim_data_y", "y"), *ATTRS.items()):  # fmt: skip
        ds.add_meta_string(field, value)
    DatasetConverter.add_metadata_for_xarray(
        ds,
        data_names=["2ddata"],
        dim_names=["dim_data_x", "dim_data_y"],
        coord_names=["x", "y"],
        attr_names=["units", "longname", "convention"],
    )
    DatasetConverter.add_metadata_for_xarray(
        ds, data_names="x", dim_names="dim_data_x", attr_names=["x_coord_units", "x_coord_longname"]
    )
    DatasetConverter.add_metadata_for_xarray(
        ds, data_names=["y"], dim_names=["dim_data_y"],
        attr_names=["y_coord_units", "y_coord_longname"],
    )  # fmt: skip
    return ds


def test_metadata_layout_is_smartredis_s() -> None:
    ds = _dataset_2d(np.random.default_rng(0).random((10, 5)))
    assert ds.get_meta_strings("_xarray_data_names") == ["2ddata", "x", "y"]
    assert ds.get_meta_strings("_xarray_2ddata_dim_names") == ["dim_data_x,dim_data_y"]
    assert ds.get_meta_strings("_xarray_2ddata_coord_names") == ["x,y"]
    assert ds.get_meta_strings("_xarray_x_coord_names") == ["null"]
    assert ds.get_meta_strings("_xarray_y_attr_names") == ["y_coord_units,y_coord_longname"]


def test_transform_to_xarray_is_identical_to_the_reference() -> None:
    data = np.random.default_rng(1).random((10, 5))
    result = DatasetConverter.transform_to_xarray(_dataset_2d(data))
    assert list(result) == ["2ddata"]  # x and y are coordinates, not variables
    assert _reference_2d(data).identical(result["2ddata"])


def test_one_dimensional_without_coordinates_or_attributes() -> None:
    ds = Dataset("plain")
    ds.add_tensor("v", np.arange(4.0))
    ds.add_meta_string("dim_v", "t")
    DatasetConverter.add_metadata_for_xarray(ds, "v", "dim_v")
    (array,) = DatasetConverter.transform_to_xarray(ds).values()
    assert array.identical(xr.DataArray(np.arange(4.0), dims=["t"], name="v"))


@pytest.fixture
def client(compat_stores: dict[str, Store], clean_client_env: None) -> Iterator[Client]:
    store = compat_stores["standalone"]
    with store.client() as c:
        c.flush_db(store.addresses)
        yield c


@pytest.mark.requires_redis
def test_a_described_dataset_survives_the_store(client: Client) -> None:
    data = np.random.default_rng(2).random((10, 5))
    client.put_dataset(_dataset_2d(data))
    fetched = client.get_dataset("ds-2d")
    assert _reference_2d(data).identical(DatasetConverter.transform_to_xarray(fetched)["2ddata"])


def test_bad_arguments_write_nothing() -> None:
    ds = Dataset("bad")
    ds.add_tensor("v", np.arange(3.0))
    for kwargs in (
        {"data_names": {"v"}, "dim_names": ["d"]},
        {"data_names": 2, "dim_names": 3},
        {"data_names": ["v"], "dim_names": ["d"], "attr_names": [4, 5]},
        {"data_names": ["v"], "dim_names": ["d"], "coord_names": ("x",)},
    ):
        with pytest.raises(TypeError):
            DatasetConverter.add_metadata_for_xarray(ds, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        DatasetConverter.add_metadata_for_xarray("ds", "v", "d")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        DatasetConverter.transform_to_xarray({"v": 1})  # type: ignore[arg-type]
    with pytest.raises(RedisParameterError):
        DatasetConverter.add_metadata_for_xarray(ds, ["v"], ["d", ""])
    assert "_xarray_data_names" not in ds.get_metadata_field_names()


def test_a_coordinate_never_described_is_named() -> None:
    ds = Dataset("lonely")
    ds.add_tensor("v", np.arange(3.0))
    ds.add_meta_string("dim", "x")
    DatasetConverter.add_metadata_for_xarray(ds, "v", "dim", coord_names="x")
    with pytest.raises(RedisKeyError, match="_xarray_x_dim_names"):
        DatasetConverter.transform_to_xarray(ds)


def test_without_xarray_transform_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    ds = Dataset("d")
    ds.add_tensor("v", np.arange(3.0))
    ds.add_meta_string("dim", "x")
    monkeypatch.setitem(sys.modules, "xarray", None)
    DatasetConverter.add_metadata_for_xarray(ds, "v", "dim")  # needs no xarray
    with pytest.raises(MissingDependencyError, match=r"insitu\[xarray\]"):
        DatasetConverter.transform_to_xarray(ds)
