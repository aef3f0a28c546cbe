"""What a simulation rank or an inference worker pays for ``import insitu.client``: the
client, the wire contracts and the connection module, nothing of the driver side."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN_PACKAGES = ("store", "entities", "runtime", "experiment", "launchers", "settings",
                      "generation", "rules", "cli", "inference")  # fmt: skip
FORBIDDEN_LIBRARIES = ("tabulate", "yaml", "jsonschema", "river", "grpc", "psutil")


def _loaded_after(statement: str) -> list[str]:
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(out.stdout)
    return loaded


def test_import_insitu_client_loads_no_driver_module() -> None:
    loaded = _loaded_after("import insitu.client")
    ours = [m for m in loaded if m.startswith("insitu.")]
    bad = [m for m in ours if m.split(".")[1] in FORBIDDEN_PACKAGES]
    assert not bad, f"import insitu.client loaded {bad}"
    assert not [m for m in loaded if m.split(".")[0] in FORBIDDEN_LIBRARIES]
    assert "insitu.wire.tensors" in ours and "insitu.connection.redis_clients" in ours


def test_the_package_face_loads_its_names_on_first_use() -> None:
    assert "insitu.experiment.facade" not in _loaded_after("import insitu")
    assert "insitu.experiment.facade" in _loaded_after("from insitu import Experiment")
