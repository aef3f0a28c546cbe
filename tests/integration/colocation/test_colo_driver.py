"""A driver that dies by a signal leaves no colocated store (nor application) behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from insitu.store.readiness import find_free_port_block
from tests.helpers import process_gone
from tests.integration.colocation.conftest import APP, result_in

DRIVER = textwrap.dedent(
    """
    import sys
    from insitu import Experiment

    exp_dir, app, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    exp = Experiment("drv", exp_path=exp_dir, launcher="local")
    settings = exp.create_run_settings(sys.executable, exe_args=[app, "", "sleep"])
    model = exp.create_model("colo", settings)
    model.colocate_db_tcp(port=port)
    exp.start(model, block=True)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signalled_driver_leaves_no_colocated_store(tmp_path: Path, sig: signal.Signals) -> None:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "driver.py").write_text(DRIVER)
    driver = subprocess.Popen(
        [sys.executable, str(tmp_path / "driver.py"), str(tmp_path), str(tmp_path / "app.py"),
         str(find_free_port_block())],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        seen = result_in(tmp_path / "colo", tmp_path / "colo" / "colo.err")
    except AssertionError:
        driver.kill()
        raise AssertionError(f"driver failed: {driver.communicate()}") from None
    stores = seen["stores"]
    assert isinstance(stores, dict)
    server, app = stores[""]["server_pid"], seen["app_pid"]
    assert isinstance(app, int)
    driver.send_signal(sig)
    driver.communicate(timeout=60)
    assert driver.returncode != 0
    assert process_gone(server), f"colocated store {server} outlived its driver ({sig.name})"
    assert process_gone(app), f"application {app} outlived its driver ({sig.name})"
