"""Logging (levels, line format, files), the SmartRedis error names, INFO parsing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import insitu.client
from insitu import errors
from insitu.client import LLDebug, LLDeveloper, LLInfo, LLQuiet, log_data, log_error, log_warning
from insitu.client import errors as client_errors
from insitu.client._admin_ops import parse_fields, parse_info
from insitu.client.logging import configure_logging, format_line, parse_log_config


def test_line_format() -> None:
    when = time.struct_time((2024, 1, 2, 17, 11, 48, 0, 2, -1))
    assert format_line("Default", "msg", when) == "Default@17-11-48:msg"


def test_levels_and_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "sr.log"
    monkeypatch.setenv("SR_LOG_FILE", str(log))
    monkeypatch.setenv("SR_LOG_LEVEL", "DEBUG")
    configure_logging()
    log_data("ctx", LLDebug, "shown")
    log_data("ctx", LLDeveloper, "hidden")
    log_warning("ctx", LLQuiet, "w")
    log_error("ctx", LLInfo, "e")
    lines = log.read_text().splitlines()
    assert [line.split(":", 1)[1] for line in lines] == ["shown", "WARNING: w", "ERROR: e"]
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("SR_LOG_LEVEL", "quiet")
    monkeypatch.delenv("SR_LOG_FILE")
    configure_logging()
    log_data("ctx", LLInfo, "dropped")
    log_data("ctx", LLQuiet, "kept")
    assert capsys.readouterr().out.endswith(":kept\n")
    monkeypatch.delenv("SR_LOG_LEVEL")
    configure_logging()


def test_bad_configuration_and_types(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert parse_log_config({}).level == LLInfo
    with pytest.raises(errors.RedisRuntimeError, match="loud"):
        parse_log_config({"SR_LOG_LEVEL": "loud"})
    monkeypatch.setenv("SR_LOG_FILE", str(tmp_path / "missing-dir" / "x.log"))
    with pytest.raises(errors.RedisRuntimeError, match="Cannot write"):
        configure_logging()
    for call in (
        lambda: log_data("ctx", 2, "x"),  # type: ignore[arg-type]
        lambda: log_data(1, LLInfo, "x"),  # type: ignore[arg-type]
        lambda: log_warning("ctx", LLInfo, 3),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError):
            call()


def test_error_names_and_hierarchy_match_smartredis() -> None:
    assert set(client_errors.__all__) <= set(errors.__all__)
    for name in client_errors.__all__:
        assert getattr(client_errors, name) is getattr(errors, name)
    for name in ("RedisConnectionError", "RedisReplyError"):
        cls = getattr(client_errors, name)
        assert issubclass(cls, RuntimeError) and issubclass(cls, errors.InsituError)
    for name in ("RedisRuntimeError", "RedisKeyError", "RedisTimeoutError", "RedisBadAllocError",
                 "RedisDatabaseError", "RedisInternalError"):  # fmt: skip
        assert issubclass(getattr(client_errors, name), client_errors.RedisReplyError)
    assert not issubclass(client_errors.RedisConnectionError, client_errors.RedisReplyError)
    lost = client_errors.RedisConnectionLostError("gone", "h:1")
    assert isinstance(lost, client_errors.RedisConnectionError)
    assert isinstance(lost, client_errors.RedisTimeoutError) and lost.transient
    assert issubclass(client_errors.RedisParameterError, ValueError)
    assert errors.RedisKeyError("k").key == "k"


def test_star_imports_match_smartredis_names() -> None:
    namespace: dict[str, object] = {}
    exec("from insitu.client import *\nfrom insitu.client.errors import *", namespace)
    for name in ("Client", "Dataset", "ConfigOptions", "LLInfo", "log_data", "RedisKeyError"):
        assert name in namespace
    assert insitu.client.LLQuiet < insitu.client.LLInfo < LLDebug < LLDeveloper


def test_info_parsers() -> None:
    text = "# Server\r\nredis_version:7.0.15\r\n\r\n# Keyspace\r\ndb0:keys=1,expires=0\r\n"
    assert parse_info(text) == {
        "Server": {"redis_version": "7.0.15"},
        "Keyspace": {"db0": "keys=1,expires=0"},
    }
    assert parse_fields("cluster_state:ok\r\ncluster_size:3\r\n") == {
        "cluster_state": "ok",
        "cluster_size": "3",
    }
