"""Per-entity ACL users of a store (``create_database(..., acl="per_entity")``).

With the option on, every Model and Ensemble member the Experiment launches gets an ACL
user of its own on every server of the store (masters and replicas: ACLs are not
replicated), named ``entity-<name>`` with a generated password, delivered like the store
password today (``SSDB_USER[_<id>]`` and ``SSDB_PASSWORD[_<id>]`` in its environment,
never on a command line). The store's default user is disabled (``user default off``),
unless the store lets password-free clients in (``allow_passwordless_clients``), whose
restricted default user is kept; the driver, the workers and insitu's own connections
authenticate as the admin user :data:`~insitu.wire.endpoint.STORE_USER`.

What an entity user may do (:func:`entity_rules`, pure):

* commands: the data commands the client sends (strings, the hashes and lists of
  datasets and aggregation lists, the request streams, ``EVAL`` for copy/rename,
  ``MULTI``/``EXEC``, ``WAIT``), the store module's ``AI.*`` commands and the connect-time
  commands (``INFO``, ``CLUSTER SLOTS`` …, ``COMMAND``, ``HELLO``); no administration,
  configuration, flush, save, ``ACL`` or worker-channel command (:data:`ENTITY_COMMANDS`);
* keys, when the entity writes with a key prefix (``SSKEYOUT``, i.e. key prefixing on):
  writes only under its own prefix (``<prefix>.*``, and the per-shard copies
  ``{<shard>}.<prefix>.*`` a cluster run makes) plus the scratch keys of runs
  (``{<shard>}.*.TMP``) and the workers' request keys (``__insitu__:*``); reads of
  every key (so the ``SSKEYIN`` sources, shared models and scripts are readable). Without
  a prefix an entity's keys cannot be told apart, and it may write every key.

``AI.MODELEXECUTE``/``AI.SCRIPTEXECUTE`` (and the deprecated run forms) declare no keys
to the server, whose keys follow ``INPUTS``/``OUTPUTS``: the store module checks them
against the caller's user itself (``acl_denied`` in ``module/dispatch.c``), so a run
cannot write another entity's key either.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import redis

from insitu.connection.redis_clients import shard_session
from insitu.errors import InvalidArgumentError, StoreError
from insitu.wire.endpoint import Endpoint

PER_ENTITY = "per_entity"
ACL_MODES = (PER_ENTITY,)
USER_PREFIX = "entity-"

ENTITY_COMMANDS = (
    # values, datasets, lists, copy/rename, transactions, durability
    "get", "set", "mget", "exists", "del", "type", "ttl", "pttl", "strlen", "getrange",
    "copy", "rename", "hget", "hgetall", "hmget", "hexists", "hset", "rpush", "lrange", "llen",
    "blpop", "eval", "evalsha", "multi", "exec", "discard", "wait", "scan", "dbsize",
    # the request streams (INSITU_INFERENCE_PATH=streams)
    "xadd", "xrange", "xlen", "xpending", "xdel",
    # connecting and learning the layout
    "ping", "echo", "hello", "auth", "info", "command", "readonly", "readwrite",
    "cluster|slots", "cluster|shards", "cluster|info",
    "cluster|nodes", "cluster|myid",
    # the store module
    "ai.tensorset", "ai.tensorget", "ai.modelstore", "ai.modelset", "ai.modelget",
    "ai.modeldel", "ai.modelexecute", "ai.modelrun", "ai.scriptset", "ai.scriptstore",
    "ai.scriptget", "ai.scriptdel", "ai.scriptexecute", "ai.scriptrun", "ai.info",
    "insitu.status", "insitu.stats",
)  # fmt: skip
"""Commands an entity's client may send (everything else: NOPERM)."""

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


def check_acl_mode(value: object) -> str | None:
    """``acl``: None (off) or ``"per_entity"``; InvalidArgumentError otherwise."""
    if value is None:
        return None
    if value not in ACL_MODES:
        raise InvalidArgumentError(
            f"acl={value!r} is not an ACL mode; use acl='per_entity' (an ACL user per "
            "launched entity) or leave it out"
        )
    return PER_ENTITY


def user_name(entity: str) -> str:
    """The ACL user of the entity ``entity``."""
    if not _NAME_RE.match(entity):
        raise InvalidArgumentError(f"entity name {entity!r} cannot name an ACL user")
    return USER_PREFIX + entity


def entity_rules(password: str, key_out: str | None) -> list[str]:
    """``ACL SETUSER`` rules of an entity writing under ``key_out`` (None: no prefix)."""
    commands = ["-@all", *(f"+{c}" for c in ENTITY_COMMANDS)]
    if key_out is None:
        keys = ["~*"]
    else:
        if not _NAME_RE.match(key_out):
            raise InvalidArgumentError(f"key prefix {key_out!r} cannot be an ACL pattern")
        # Own keys read-write (commands such as AI.MODELSTORE both read and write their
        # key, and one pattern must grant both), every other key read-only.
        keys = ["%R~*", f"~{key_out}.*", f"~{{*}}.{key_out}.*", "~{*}.*.TMP", "~__insitu__:*"]
    return ["reset", "on", f">{password}", "resetchannels", *keys, *commands]


def set_user(nodes: Sequence[Endpoint], name: str, rules: Sequence[str]) -> None:
    """Create (or replace) the ACL user ``name`` on every server of ``nodes`` (as the
    admin user). A server that cannot be reached is skipped (a master that died and was
    failed over; a store restart sets every user again), as long as one took the user;
    StoreError naming the server that refused (never the rules: they hold the password)."""
    unreachable: list[str] = []
    for node in nodes:
        try:
            with shard_session(node) as conn:
                conn.execute_command("ACL", "SETUSER", name, *rules)  # type: ignore[no-untyped-call]
        except (redis.ConnectionError, redis.TimeoutError, OSError) as err:
            if isinstance(err, redis.AuthenticationError):
                raise StoreError(f"{node.address} refused the store's password") from None
            unreachable.append(str(node.address))
        except redis.RedisError as err:
            raise StoreError(
                f"could not create the ACL user {name} on {node.address}: "
                f"{type(err).__name__} {_redacted(str(err), rules)}"
            ) from None
    if len(unreachable) == len(nodes):
        raise StoreError(
            f"could not create the ACL user {name}: no server answered ({', '.join(unreachable)})"
        )


def _redacted(text: str, rules: Sequence[str]) -> str:
    """``text`` with every password rule of ``rules`` blanked out."""
    for rule in rules:
        if rule.startswith(">") and len(rule) > 1:
            text = text.replace(rule[1:], "***")
    return text
