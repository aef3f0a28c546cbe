"""A colocated Model on another host of the 3-host cluster, with a model and a function
attached: its store listens on that host's loopback, out of the driver's reach, so they
are loaded from the store's own node before the application starts, and it runs them."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from insitu import Experiment, JobState
from insitu.errors import DBObjectLoadError
from insitu.store.readiness import find_free_port_block
from tests.cluster.slurm import Cluster
from tests.integration.workers.test_workers_db_objects import add_one, affine_onnx

pytest.importorskip("onnx")
pytest.importorskip("torch")
pytestmark = [pytest.mark.requires_slurm, pytest.mark.requires_torch]

APP = textwrap.dedent(
    """
    import socket
    import numpy as np
    from insitu.client import Client
    with Client() as client:
        client.put_tensor("x", np.arange(3, dtype=np.float32))
        client.run_model("net", inputs=["x"], outputs=["y"])
        client.run_script("inc", "add_one", ["y"], ["z"])
        print(socket.gethostname(), client.get_tensor("z").tolist())
    """
)


def _colocated(exp: Experiment, tmp_path: Path, name: str) -> object:
    app = tmp_path / "app.py"
    app.write_text(APP)
    rs = exp.create_run_settings(sys.executable, exe_args=[str(app)])
    rs.set_tasks(1)
    model = exp.create_model(name, rs)
    model.colocate_db_tcp(port=find_free_port_block())
    return model


def test_a_colocated_model_on_another_host_runs_its_attached_model(
    slurm_cluster: Cluster, allocation: str, tmp_path: Path
) -> None:
    exp = Experiment("colo", exp_path=str(tmp_path), launcher="slurm")
    model = _colocated(exp, tmp_path, "colo")
    model.add_ml_model("net", "ONNX", model=affine_onnx())  # type: ignore[attr-defined]
    model.add_function("inc", function=add_one)  # type: ignore[attr-defined]
    exp.start(model, block=True)
    out = Path(model.path, "colo.out").read_text()  # type: ignore[attr-defined]
    assert exp.get_status(model) == [JobState.COMPLETED], out
    host, values = out.split(maxsplit=1)
    assert host in slurm_cluster.node_names  # not the driver's host
    assert values.strip() == "[2.0, 4.0, 6.0]"  # (2x + 1) + 1


def test_an_object_that_cannot_load_on_the_node_stops_the_launch(
    slurm_cluster: Cluster, allocation: str, tmp_path: Path
) -> None:
    exp = Experiment("colobad", exp_path=str(tmp_path), launcher="slurm")
    model = _colocated(exp, tmp_path, "bad")
    model.add_ml_model("net", "ONNX", model=b"not onnx")  # type: ignore[attr-defined]
    with pytest.raises(DBObjectLoadError, match="store's node") as info:
        exp.start(model, block=True)
    assert (info.value.entity, info.value.object_name) == ("bad", "net")
    assert exp.get_status(model) == [JobState.STATUS_NEVER_STARTED]
