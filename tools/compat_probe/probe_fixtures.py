"""pytest plugin standing in for SmartSim's root conftest when its suite runs on insitu.

SmartSim's own conftest imports private modules (``smartsim._core``), so the probe runs
with ``--noconftest`` and loads this instead. It provides, for the local launcher only, the
fixtures the tests ask for by name (``test_dir``, ``fileutils``, ``wlmutils``, ``dbutils``,
``coloutils``, ``local_experiment``, ``local_db``/``single_db``/``clustered_db`` with
``prepare_db``), written for insitu: free ports come from the OS, output goes under
``tests/test_output`` of the checkout, and every store started here is stopped at the end.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import socket
import sys
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

OUTPUT = pathlib.Path.cwd() / "tests" / "test_output"
_STARTED: list[Any] = []
_STORES: dict[str, Any] = {}


def pytest_configure(config: pytest.Config) -> None:
    pytest.test_launcher = "local"  # type: ignore[attr-defined]
    pytest.wlm_options = ["slurm", "pbs", "lsf", "pals", "dragon"]  # type: ignore[attr-defined]
    pytest.test_account = ""  # type: ignore[attr-defined]
    pytest.test_device = "CPU"  # type: ignore[attr-defined]
    pytest.has_aprun = False  # type: ignore[attr-defined]


def pytest_sessionstart(session: pytest.Session) -> None:
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for exp in _STARTED:
        try:
            exp.stop_all()
        except Exception as err:  # report it and go on stopping the others
            print(f"compat probe: stopping {exp.name}: {err}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _sigint_restored() -> Iterator[None]:
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


@pytest.fixture(autouse=True)
def _no_store_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SSDB") or name in ("SSKEYIN", "SSKEYOUT"):
            monkeypatch.delenv(name)


class WLMUtils:
    """The local launcher's answers to the suite's questions about its environment."""

    @staticmethod
    def set_test_launcher(name: str) -> None:
        pass

    @staticmethod
    def get_test_launcher() -> str:
        return "local"

    @staticmethod
    def get_test_port() -> int:
        return free_port()

    @staticmethod
    def get_test_account() -> str:
        return ""

    @staticmethod
    def get_test_interface() -> str:
        return "lo"

    @staticmethod
    def get_test_hostlist() -> None:
        return None

    @staticmethod
    def get_batch_resources() -> dict[str, Any]:
        return {}

    @staticmethod
    def get_base_run_settings(exe: str, args: Any, nodes: int = 1, ntasks: int = 1,
                              **kwargs: Any) -> Any:  # fmt: skip
        from smartsim.settings import RunSettings

        return RunSettings(exe, args)

    get_run_settings = get_base_run_settings

    @staticmethod
    def choose_host(run_settings: Any) -> None:
        return None


class DBUtils:
    """Store configuration cases: setters with good values, and bad values per option."""

    @staticmethod
    def get_db_configs() -> dict[str, Any]:
        return {
            "enable_checkpoints": 5,
            "set_max_memory": "2gb",
            "set_eviction_strategy": "volatile-lru",
            "set_max_clients": 64,
            "set_max_message_size": 1 << 30,
        }

    @staticmethod
    def get_smartsim_error_db_configs() -> dict[str, list[str]]:
        return {
            "maxmemory": ["12XB", "1.5gb"],
            "maxclients": ["-1", "1.5"],
            "maxmemory-policy": ["keep-everything"],
            "no-such-option": ["1"],
        }

    @staticmethod
    def get_type_error_db_configs() -> dict[Any, list[Any]]:
        return {"maxmemory": [7, False, ["7"]], "maxclients": [7], 7: ["7"]}

    @staticmethod
    def get_config_edit_method(db: Any, setting: str) -> Callable[..., None] | None:
        return getattr(db, setting, None)


def _output_dir(node_name: str, test_file: str) -> pathlib.Path:
    base, _, params = node_name.replace("]", "").partition("[")
    safe = "".join(c for c in params if c.isalnum() or c in "-._")
    leaf = f"{base}.{safe}" if params else base
    return OUTPUT / pathlib.Path(test_file).stem / leaf


class FileUtils:
    @staticmethod
    def get_test_output_path(caller_function: str, caller_fspath: str) -> str:
        return str(_output_dir(caller_function, caller_fspath))

    @staticmethod
    def get_test_conf_path(filename: str) -> str:
        return str(pathlib.Path.cwd() / "tests" / "test_configs" / filename)

    get_test_dir_path = get_test_conf_path

    @staticmethod
    def make_test_file(file_name: str, file_dir: str, file_content: str | None = None) -> str:
        os.makedirs(file_dir)
        path = os.path.join(file_dir, file_name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(file_content or "dummy\n")
        return path


class ColoUtils:
    @staticmethod
    def setup_test_colo(fileutils: Any, db_type: str, exp: Any, application_file: str,
                        db_args: dict[str, Any], colo_settings: Any = None,
                        colo_model_name: str = "colocated_model", port: int | None = None,
                        on_wlm: bool = False) -> Any:  # fmt: skip
        if colo_settings is None:
            script = fileutils.get_test_conf_path(application_file)
            colo_settings = exp.create_run_settings(exe=sys.executable, exe_args=[script])
        model = exp.create_model(colo_model_name, colo_settings)
        if db_type in ("tcp", "deprecated"):
            db_args["port"] = port if port is not None else free_port()
            db_args["ifname"] = "lo"
        if db_type == "uds":
            name = f"{colo_model_name}_{uuid.uuid4().hex[:7]}.socket"
            db_args["unix_socket"] = os.path.join(tempfile.gettempdir(), name)
        colocate = {"tcp": model.colocate_db_tcp, "uds": model.colocate_db_uds,
                    "deprecated": model.colocate_db}[db_type]  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            colocate(**db_args)
        return model


@dataclass
class DBConfiguration:
    name: str
    launcher: str
    num_nodes: int
    interface: str
    hostlist: Any
    port: int


@dataclass
class PrepareDatabaseOutput:
    orchestrator: Any
    new_db: bool


@pytest.fixture(scope="session")
def wlmutils() -> type[WLMUtils]:
    return WLMUtils


@pytest.fixture
def dbutils() -> type[DBUtils]:
    return DBUtils


@pytest.fixture
def fileutils() -> type[FileUtils]:
    return FileUtils


@pytest.fixture
def coloutils() -> type[ColoUtils]:
    return ColoUtils


@pytest.fixture
def test_dir(request: pytest.FixtureRequest) -> str:
    path = _output_dir(request.node.name, str(request.path))
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


@pytest.fixture
def local_experiment(test_dir: str) -> Any:
    from smartsim import Experiment

    return Experiment(pathlib.Path(test_dir).stem, exp_path=test_dir, launcher="local")


wlm_experiment = local_experiment


def _db(name: str, nodes: int) -> DBConfiguration:
    return DBConfiguration(name, "local", nodes, "lo", None, free_port())


@pytest.fixture(scope="session")
def local_db() -> DBConfiguration:
    return _db("local_db_fixture", 1)


@pytest.fixture(scope="session")
def single_db() -> DBConfiguration:
    return _db("single_db_fixture", 1)


@pytest.fixture(scope="session")
def clustered_db() -> DBConfiguration:
    return _db("clustered_db_fixture", 3)


@pytest.fixture
def prepare_db() -> Callable[[DBConfiguration], PrepareDatabaseOutput]:
    from smartsim import Experiment

    def prepare(config: DBConfiguration) -> PrepareDatabaseOutput:
        store = _STORES.get(config.name)
        if store is not None and store.is_active():
            return PrepareDatabaseOutput(store, False)
        path = OUTPUT / config.name
        path.mkdir(exist_ok=True)
        exp = Experiment(config.name, exp_path=str(path), launcher="local")
        store = exp.create_database(port=config.port, interface=config.interface,
                                    db_nodes=config.num_nodes)  # fmt: skip
        exp.generate(store, overwrite=True)
        exp.start(store)
        _STARTED.append(exp)
        _STORES[config.name] = store
        return PrepareDatabaseOutput(store, True)

    return prepare
