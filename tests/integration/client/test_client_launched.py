"""A launched application reaches several stores through its environment alone, as the
seed 002 multi-database application does (only its imports changed)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from insitu import Experiment
from insitu.client import Client
from insitu.store.readiness import find_free_port_block

APP = """\
from insitu.client import ConfigOptions, Client, log_data
from insitu.client import *
from insitu.client.errors import *

single_shard_config = ConfigOptions.create_from_environment("single_shard_db_identifier")
app_single_shard_client = Client(single_shard_config, logger_name="Model: single shard logger")

multi_shard_config = ConfigOptions.create_from_environment("multi-shard-db-identifier")
app_multi_shard_client = Client(multi_shard_config, logger_name="Model: multi shard logger")

val1 = app_single_shard_client.get_tensor("tensor_1")
val2 = app_multi_shard_client.get_tensor("tensor_2")

app_single_shard_client.log_data(LLInfo, f"The colocated db tensor is: {val1}")
app_multi_shard_client.log_data(LLInfo, f"The clustered db tensor is: {val2}")
try:
    app_single_shard_client.get_tensor("tensor_2")
except RedisKeyError as err:
    log_data("app", LLInfo, f"missing: {err.key}")
app_multi_shard_client.put_tensor("reply", val2 * 2)
"""


def test_application_reads_two_stores_from_its_environment(tmp_path: Path) -> None:
    exp = Experiment("launched", exp_path=str(tmp_path), launcher="local")
    try:
        single = exp.create_database(
            port=find_free_port_block(1), db_identifier="single_shard_db_identifier"
        )
        other = exp.create_database(
            port=find_free_port_block(1), db_identifier="multi-shard-db-identifier"
        )
        exp.start(single, other)
        driver_single = Client(cluster=False, address=single.get_address()[0])
        driver_other = Client(cluster=False, address=other.get_address()[0])
        driver_single.put_tensor("tensor_1", np.array([1, 2, 3, 4]))
        driver_other.put_tensor("tensor_2", np.array([5, 6, 7, 8]))
        assert not driver_single.key_exists("tensor_2")

        (tmp_path / "app.py").write_text(APP)
        settings = exp.create_run_settings(sys.executable, exe_args=str(tmp_path / "app.py"))
        model = exp.create_model("tutorial_model", settings)
        exp.start(model, block=True)

        out = (Path(model.path) / "tutorial_model.out").read_text().splitlines()
        err = (Path(model.path) / "tutorial_model.err").read_text()
        assert len(out) == 3, err
        assert out[0].startswith("Model: single shard logger@")
        assert out[0].endswith(":The colocated db tensor is: [1 2 3 4]")
        assert out[1].endswith(":The clustered db tensor is: [5 6 7 8]")
        assert out[2].endswith(":missing: tensor_2")
        np.testing.assert_array_equal(driver_other.get_tensor("reply"), [10, 12, 14, 16])
    finally:
        exp.stop_all()
