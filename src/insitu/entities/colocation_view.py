"""SmartSim's view of a colocated store: the ``run_settings.colocated_db_settings`` dict.

insitu keeps a Model's colocation in a frozen :class:`~insitu.entities.colocation.ColocationSpec`
(``model.colocation``) and launches from it alone. SmartSim 0.8 code reads the same facts
from ``model.run_settings.colocated_db_settings``, a dict with SmartSim's keys; this module
builds that dict from the spec (pure), so such code reads the values it expects. Writing to
the dict changes nothing that is launched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from insitu.entities.colocation import ColocationSpec

_DEBUG = ("loglevel", "verbose")


def pinning_string(spec: ColocationSpec, usable_cpus: Sequence[int]) -> str | None:
    """The CPUs the store is pinned to as SmartSim writes them (``"0,1"``), or ``None``
    when pinning is off. Left unset, they are the first ``db_cpus`` of ``usable_cpus``
    (this process's affinity, as the launch uses); ids are sorted as numbers."""
    if spec.custom_pinning is None:
        return ",".join(str(cpu) for cpu in sorted(usable_cpus)[: spec.db_cpus])
    if not spec.custom_pinning:
        return None
    return ",".join(str(cpu) for cpu in sorted(set(spec.custom_pinning)))


def smartsim_settings(
    spec: ColocationSpec, usable_cpus: Sequence[int], db_objects: Sequence[object]
) -> dict[str, Any]:
    """``colocated_db_settings`` as SmartSim 0.8 lays it out for ``spec``: the connection
    keys (``port``/``ifname``, or ``unix_socket``/``socket_permissions`` with ``port`` 0
    unless a TCP port is forwarded), ``cpus`` (also as ``db_cpus``), ``custom_pinning``, ``debug``,
    ``db_identifier``, ``rai_args``, ``extra_db_args``, ``db_models`` and ``db_scripts``."""
    connection: dict[str, Any]
    if spec.transport == "uds":
        connection = {
            "unix_socket": spec.unix_socket,
            "socket_permissions": spec.socket_permissions,
            "port": spec.port,
        }
    else:
        connection = {"port": spec.port, "ifname": list(spec.interfaces)}
    return {
        **connection,
        "cpus": spec.db_cpus,
        # SmartSim's JsrunSettings.set_cpus_per_rs reads "db_cpus" (its colocation writes
        # only "cpus", so there the check always failed); both keys hold the count here.
        "db_cpus": spec.db_cpus,
        "custom_pinning": pinning_string(spec, usable_cpus),
        "debug": spec.debug,
        "db_identifier": spec.db_identifier,
        "rai_args": {
            "threads_per_queue": spec.threads.threads_per_queue,
            "inter_op_parallelism": spec.threads.inter_op_threads,
            "intra_op_parallelism": spec.threads.intra_op_threads,
        },
        # debug=True adds loglevel verbose to the server options; SmartSim lists only what
        # the caller passed.
        "extra_db_args": {
            k: v for k, v in spec.server_options if not (spec.debug and (k, v) == _DEBUG)
        },
        "db_models": [o for o in db_objects if type(o).__name__ == "DBModel"],
        "db_scripts": [o for o in db_objects if type(o).__name__ == "DBScript"],
    }


__all__ = ["pinning_string", "smartsim_settings"]
