"""SmartSim/SmartRedis names and exception types on insitu's public surface."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import insitu
from insitu import Experiment
from insitu.client import LLInfo, LogContext, SRObject
from insitu.entities import DBNode, EntityList, SmartSimEntity, TelemetryConfiguration
from insitu.errors import (
    PreviewFormatError,
    RedisParameterError,
    RedisRuntimeError,
    SmartSimError,
    SSUnsupportedError,
)
from insitu.log import HostnameFilter, LowPassFilter, log_to_exp_file, log_to_file
from insitu.wire.batching import check_batch_settings


def test_settings_and_entity_names_are_on_the_package() -> None:
    for name in ("SrunSettings", "SbatchSettings", "MpirunSettings", "QsubBatchSettings",
                 "BsubBatchSettings", "JsrunSettings", "AprunSettings", "PalsMpiexecSettings",
                 "SgeQsubBatchSettings", "DragonRunSettings", "Singularity", "DBNode",
                 "DBModel", "DBScript", "create_run_settings",
                 "create_batch_settings"):  # fmt: skip
        assert name in insitu.__all__
        assert getattr(insitu, name) is not None


def test_experiment_exception_types(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        Experiment("x", exp_path=str(tmp_path / "not-a-dir"))
    with pytest.raises(SSUnsupportedError):
        Experiment("x", exp_path=str(tmp_path), launcher="warp")
    exp = Experiment("x", exp_path=str(tmp_path))
    with pytest.raises(TypeError):
        exp.get_status([])  # type: ignore[arg-type]
    model = exp.create_model("m", exp.create_run_settings("true"))
    with pytest.raises(ValueError):
        exp.finished(model)
    with pytest.raises(PreviewFormatError):
        exp.preview(model, output_format="html")
    assert exp.telemetry.is_enabled
    exp.telemetry.disable()
    assert not exp.telemetry.is_enabled


def test_entity_bases_and_db_nodes(tmp_path: Path) -> None:
    exp = Experiment("x", exp_path=str(tmp_path))
    model = exp.create_model("m", exp.create_run_settings("true"))
    store = exp.create_database(port=12345, interface="lo")
    assert isinstance(model, SmartSimEntity)
    assert isinstance(store, EntityList)
    assert [n.name for n in store.entities] == ["orchestrator_0"]
    node = store.entities[0]
    assert isinstance(node, DBNode) and node.ports == [12345]
    with pytest.raises(SmartSimError):
        _ = node.host
    store.set_path(str(tmp_path / "elsewhere"))
    assert store.checkpoint_file.startswith(str(tmp_path / "elsewhere"))
    assert not store.telemetry.is_enabled
    switch = TelemetryConfiguration()
    switch.enable()
    assert switch.is_enabled


def test_log_helpers(tmp_path: Path) -> None:
    logger = logging.getLogger("insitu.compat-test")
    logger.setLevel(logging.DEBUG)
    handler = log_to_exp_file(str(tmp_path / "logs" / "exp.out"), logger, "debug",
                              log_filter=LowPassFilter("info"))  # fmt: skip
    log_to_file(str(tmp_path / "all.log"), "warn", logger)
    logger.info("shown")
    logger.warning("above the low pass")
    logger.removeHandler(handler)
    handler.close()
    text = (tmp_path / "logs" / "exp.out").read_text()
    assert "shown" in text and "above the low pass" not in text
    assert "above the low pass" in (tmp_path / "all.log").read_text()
    record = logging.LogRecord("n", logging.INFO, "f", 1, "m", None, None)
    assert HostnameFilter().filter(record) and record.hostname  # type: ignore[attr-defined]
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()


def test_log_context_and_srobject(capsys: pytest.CaptureFixture[str]) -> None:
    LogContext("my-context").log_data(LLInfo, "hello from a context")
    assert SRObject is LogContext
    with pytest.raises(TypeError):
        LogContext(3)  # type: ignore[arg-type]


def test_contradicting_batching_is_a_runtime_error() -> None:
    with pytest.raises(RedisRuntimeError) as info:
        check_batch_settings(0, 0, 1)
    assert isinstance(info.value, RedisParameterError)
