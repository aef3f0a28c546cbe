"""SmartSim 0.8 Experiment and entity behaviours: ``start(block=True)`` waits for every job
of the experiment, ``generate()`` writes ``smartsim_params.txt``, the ``DBModel``/``DBScript``
constructors, ``set_db_conf``, ``perm_strat`` checked before params, and
``colocate_db_uds(port=...)`` forwarded to the server."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from insitu import DBModel, DBScript, Experiment, Orchestrator
from insitu.errors import (
    InvalidServerOptionError,
    SmartSimError,
    SSUnsupportedError,
)
from insitu.jobs.status import JobState
from insitu.store.readiness import find_free_port_block
from tests.topologies import Store


def _python(exp: Experiment, code: str) -> object:
    return exp.create_run_settings(sys.executable, exe_args=["-c", code])


def test_start_block_waits_for_every_running_job_of_the_experiment(tmp_path: Path) -> None:
    with Experiment("blocking", exp_path=str(tmp_path)) as exp:
        slow = exp.create_model("slow", _python(exp, "import time; time.sleep(3)"))
        fast = exp.create_model("fast", _python(exp, "pass"))
        exp.start(slow, block=False)
        exp.start(fast, block=True)
        assert exp.finished(slow) and exp.finished(fast)
        assert exp.get_status(slow, fast) == [JobState.STATUS_COMPLETED] * 2


def test_generate_writes_the_smartsim_params_log(tmp_path: Path) -> None:
    template = tmp_path / "in.txt"
    template.write_text("THERMO = ;THERMO;\nSTEPS = ;STEPS;\nKEEP = ;OTHER;\n")
    root = tmp_path / "exp"
    root.mkdir()
    exp = Experiment("gen", exp_path=str(root))
    rs = exp.create_run_settings("true")
    configured = exp.create_model("m1", rs, params={"THERMO": 10, "STEPS": "20"})
    configured.attach_generator_files(to_configure=str(template))
    plain = exp.create_model("m2", rs, params={"UNUSED": 1})
    exp.generate(configured, plain)

    log = (root / "smartsim_params.txt").read_text()
    first, _, rest = log.partition("\n")
    assert re.fullmatch(r"Generation start date and time: \d\d/\d\d/\d{4} \d\d:\d\d:\d\d", first)
    assert rest.startswith("Model name: m1\n")
    assert "File name" in rest and "Parameters" in rest and "m1/in.txt" in rest
    assert re.search(r"THERMO\s+10", rest) and re.search(r"STEPS\s+20", rest)
    assert "m2" not in rest and "OTHER" not in rest
    own = (root / "m1" / "smartsim_params.txt").read_text()
    assert own.startswith("Model name: m1\n") and own in rest
    assert not (root / "m2" / "smartsim_params.txt").exists()
    assert (root / "m1" / "in.txt").read_text().startswith("THERMO = 10\nSTEPS = 20\n")

    exp.generate(plain, overwrite=True)  # every generation replaces the experiment's log
    assert "Model name" not in (root / "smartsim_params.txt").read_text()


def test_db_model_and_db_script_constructors(tmp_path: Path) -> None:
    model = DBModel("m", "torch", model=b"blob", batch_size=4, min_batch_size=1,
                    min_batch_timeout=5, tag="t")  # fmt: skip
    assert (model.name, model.backend, model.model, model.func) == ("m", "TORCH", b"blob", b"blob")
    assert not model.is_file and model.devices == ["CPU"]
    weights = tmp_path / "m.pt"
    weights.write_bytes(b"weights")
    from_file = DBModel("f", "ONNX", model_file=str(weights), device="gpu", devices_per_node=2)
    assert from_file.is_file and from_file.file == weights.resolve()
    assert from_file.devices == ["GPU:0", "GPU:1"]
    with pytest.raises(ValueError):
        DBModel("m", "TORCH")  # neither model nor model_file
    with pytest.raises(ValueError):
        DBModel("m", "CAFFE", model=b"x")
    with pytest.raises(FileNotFoundError):
        DBModel("m", "TORCH", model_file=str(tmp_path / "missing.pt"))
    with pytest.raises(SSUnsupportedError):
        DBModel("m", "TORCH", model=b"x", device="CPU", devices_per_node=2)
    with pytest.raises(ValueError):
        DBModel("m", "TORCH", model=b"x", device="GPU:1", devices_per_node=2)
    with pytest.raises(ValueError):
        DBModel("m", "TORCH", model=b"x", batch_size=0, min_batch_size=2)
    with pytest.raises(ValueError):
        DBModel("m", "ONNX", model=b"x", inputs=["a"])  # inputs/outputs are TF only

    script = DBScript("s", script="def f(x):\n    return x\n", device="GPU", devices_per_node=2)
    assert script.func == script.script and script.devices == ["GPU:0", "GPU:1"]

    def double(x):  # type: ignore[no-untyped-def]
        return 2 * x

    function = DBScript("fn", script=double)
    assert function.func is double and function.script is None and not function.is_file
    source = tmp_path / "s.py"
    source.write_text("def f(x):\n    return x\n")
    assert DBScript("p", script_path=str(source)).is_file
    with pytest.raises(ValueError):
        DBScript("s")
    with pytest.raises(FileNotFoundError):
        DBScript("s", script_path=str(tmp_path / "missing.py"))
    with pytest.raises(TypeError):
        DBScript("s", script=3)  # type: ignore[arg-type]


def test_set_db_conf_types_and_inactive_store(compat_stores: dict[str, Store]) -> None:
    idle = Orchestrator(port=find_free_port_block(1))
    with pytest.raises(SmartSimError, match="active"):
        idle.set_db_conf("hz", "20")
    with pytest.raises(TypeError):
        idle.set_db_conf("hz", 20)  # type: ignore[arg-type]
    running = compat_stores["standalone"].orchestrator
    with pytest.raises(TypeError):
        running.set_db_conf("hz", 20)  # type: ignore[arg-type]
    running.set_db_conf("hz", "20")
    with pytest.raises(InvalidServerOptionError, match="password"):
        running.set_db_conf("requirepass", "")


def test_an_invalid_perm_strat_is_checked_before_params(tmp_path: Path) -> None:
    exp = Experiment("perm", exp_path=str(tmp_path))
    rs = exp.create_run_settings("true")
    bad_params = {"x": [object()]}
    with pytest.raises(SSUnsupportedError):
        exp.create_ensemble("e", params=bad_params, run_settings=rs, perm_strategy="bogus")
    with pytest.raises(SSUnsupportedError):
        exp.create_ensemble("e", replicas=2, run_settings=rs, perm_strategy="bogus")
    with pytest.raises(TypeError):
        exp.create_ensemble("e", params=bad_params, run_settings=rs, perm_strategy="step")


@pytest.mark.requires_redis
def test_colocate_db_uds_forwards_port_to_the_server(tmp_path: Path) -> None:
    port = find_free_port_block(1)
    app = f"""
import os, sys
import numpy as np
import redis
from insitu.client import Client
assert os.environ["SSDB"].startswith("unix://")
Client(cluster=False).put_tensor("t", np.arange(3))
tcp = redis.Redis(host="127.0.0.1", port={port}, password=os.environ["SSDB_PASSWORD"])
assert tcp.exists("t") == 1
try:
    redis.Redis(host="127.0.0.1", port={port}).exists("t")
except redis.AuthenticationError:
    sys.exit(0)
sys.exit(3)
"""
    with Experiment("uds-port", exp_path=str(tmp_path)) as exp:
        model = exp.create_model("app", _python(exp, app))
        model.colocate_db_uds(unix_socket=str(tmp_path / "app.sock"), port=port,
                              inference_workers=0)  # fmt: skip
        exp.start(model, block=True)
        assert exp.get_status(model) == [JobState.STATUS_COMPLETED], Path(
            model.path, "app.err"
        ).read_text()
        with pytest.raises(TypeError):
            exp.create_model("a2", _python(exp, "pass")).colocate_db_uds(port="6000")
        for key, why in (("bind", "password"), ("requirepass", "password"), ("dir", "files"),
                         ("loadmodule", "workers"), ("unixsocket", "colocate_db_uds")):  # fmt: skip
            other = exp.create_model(f"b-{key}", _python(exp, "pass"))
            with pytest.raises(InvalidServerOptionError, match=why):
                other.colocate_db_tcp(**{key: "x"})
