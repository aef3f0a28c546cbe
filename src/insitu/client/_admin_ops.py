"""Client operations on whole shards: INFO, CLUSTER INFO, FLUSHDB, CONFIG, SAVE.

Addresses are given as SmartRedis takes them (``host:port``, ``tcp://host:port`` or
``unix:///path``; of a comma-separated list, the first) and must name a shard of this
client's store; anything else raises UnknownNodeError (both SmartRedis's
RedisRuntimeError and a RedisInvalidUseError) before a command is sent.
"""

from __future__ import annotations

from insitu._checks import check_str_list, check_type
from insitu.client._core import ClientCore
from insitu.errors import RedisInternalError, RedisRuntimeError
from insitu.wire.addresses import Address


def parse_info(text: str) -> dict[str, dict[str, str]]:
    """``INFO`` output as ``{section: {field: value}}`` (values kept as text)."""
    sections: dict[str, dict[str, str]] = {}
    current = sections.setdefault("", {})
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            current = sections.setdefault(line.lstrip("# ").strip(), {})
        elif ":" in line:
            field, _, value = line.partition(":")
            current[field] = value
    if not sections[""]:
        del sections[""]
    return sections


def parse_fields(text: str) -> dict[str, str]:
    """``field:value`` lines (``CLUSTER INFO``) as a dict."""
    return {k: v for k, _, v in (ln.strip().partition(":") for ln in text.splitlines()) if k}


class AdminOps(ClientCore):
    """Shard-level commands of SmartRedis 0.6."""

    def get_db_node_info(self, addresses: list[str]) -> list[dict[str, dict[str, str]]]:
        """``INFO EVERYTHING`` of each shard, parsed into ``{section: {field: value}}``."""
        return [parse_info(self._text(a, "INFO", "EVERYTHING")) for a in self._nodes(addresses)]

    def get_db_cluster_info(self, addresses: list[str]) -> list[dict[str, str]]:
        """``CLUSTER INFO`` of each shard; RedisRuntimeError on a standalone store."""
        nodes = self._nodes(addresses)
        if not self._store.clustered:
            raise RedisRuntimeError("Cannot run on non-cluster environment")
        return [parse_fields(self._text(a, "CLUSTER", "INFO")) for a in nodes]

    def flush_db(self, addresses: list[str]) -> None:
        """Remove every key from each shard (``FLUSHDB``)."""
        for address in self._nodes(addresses):
            self._store.node_command(address, "FLUSHDB")

    def config_get(self, expression: str, address: str) -> dict[str, str]:
        """``CONFIG GET expression`` on one shard (a glob; ``{}`` if nothing matches)."""
        check_type("expression", expression, str, "a str")
        node = self._node(check_type("address", address, str, "a str"))
        reply = self._store.node_command(node, "CONFIG", "GET", expression)
        if not isinstance(reply, list) or len(reply) % 2:
            raise RedisInternalError(f"unexpected CONFIG GET reply from {node}")
        items = [bytes(x).decode() for x in reply]
        return dict(zip(items[::2], items[1::2], strict=True))

    def config_set(self, config_param: str, value: str, address: str) -> None:
        """``CONFIG SET config_param value`` on one shard (RedisReplyError if refused)."""
        check_type("config_param", config_param, str, "a str")
        check_type("value", value, str, "a str")
        node = self._node(check_type("address", address, str, "a str"))
        self._store.node_command(node, "CONFIG", "SET", config_param, value)

    def save(self, addresses: list[str]) -> None:
        """Write a snapshot of each shard to disk now (``SAVE``)."""
        for address in self._nodes(addresses):
            self._store.node_command(address, "SAVE")

    def _nodes(self, addresses: object) -> list[Address]:
        check_type("addresses", addresses, list, "a list of str")
        return [self._node(a) for a in check_str_list("addresses", addresses, allow_str=False)]

    def _node(self, address: str) -> Address:
        return self._shard_address(address)

    def _text(self, address: Address, *args: str) -> str:
        reply = self._store.node_command(address, *args)
        if not isinstance(reply, bytes | bytearray | memoryview):
            raise RedisInternalError(f"unexpected {args[0]} reply from {address}")
        return bytes(reply).decode("utf-8", "replace")
