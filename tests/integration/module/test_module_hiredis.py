"""The C witness: a program using the store only through hiredis (Debian's libhiredis-dev)
sends the AI.* commands a C simulation would, on Valkey and on Debian's redis-server."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests import inference_models
from tests.integration.module.conftest import SocketStore

HERE = Path(__file__).resolve().parent
HIREDIS_HEADER = Path("/usr/include/hiredis/hiredis.h")


@pytest.fixture(scope="module")
def witness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None or not HIREDIS_HEADER.is_file():
        pytest.skip("needs gcc and libhiredis-dev (installed by .ci/debian-packages)")
    out = tmp_path_factory.mktemp("witness") / "hiredis_witness"
    subprocess.run(
        [gcc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1",
         str(HERE / "hiredis_witness.c"), "-lhiredis", "-o", str(out)],
        check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    return out


def test_a_c_program_speaks_redisai_to_the_store(
    witness: Path, socket_store: SocketStore, tmp_path: Path
) -> None:
    model = tmp_path / "square.onnx"
    model.write_bytes(inference_models.onnx_square())
    connection = socket_store.connect()
    connection.delete("x", "y", "z", "z2", "i", "sq", "s")
    connection.close()
    done = subprocess.run(
        [str(witness), str(socket_store.socket), str(model)],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert int(seen["chunk"]) > 0
    assert seen["tensorset"] == "OK"
    assert (seen["x.dtype"], seen["x.shape"], seen["x.values"]) == ("FLOAT", "2,3", "0,1,2,3,4,5")
    assert seen["values_set"] == "OK" and seen["i.values"] == "7,-8"
    assert seen["modelstore"] == "OK" and seen["modelexecute"] == "OK"
    assert seen["y.shape"] == "2,3" and seen["y.values"] == "0,1,4,9,16,25"
    assert seen["modelget.same"] == "1"
    assert seen["scriptset"] == "OK" and seen["scriptexecute"] == "OK"
    assert seen["z.values"] == "0,2,4,6,8,10"
    assert seen["scriptrun"] == "OK" and seen["z2.values"] == "0,4,8,12,16,20"
    assert seen["info.calls"] == "1"
    assert seen["bad_blob"] == "ERR data length does not match tensor shape and type"
    assert seen["bad_dtype"] == "error:ERR invalid data type"
    assert seen["unknown_model"] == "error:ERR model key is empty"
    assert seen["modeldel"] == "OK" and seen["exists_after"] == "0"
