"""SmartRedis's error names (``from smartredis.error import *`` ports to this module).

They are defined in :mod:`insitu.errors`, rooted in :class:`~insitu.errors.InsituError`;
``RedisConnectionError`` and ``RedisReplyError`` are ``RuntimeError`` subclasses as in
SmartRedis. Type errors raise ``TypeError`` subclasses, bad values ``ValueError`` ones.
"""

from insitu.errors import (
    BatchingParameterError,
    ClientError,
    DeviceUnavailableError,
    InferenceError,
    InferenceInputError,
    InferenceTimeoutError,
    MissingDependencyError,
    ModelLoadError,
    RedisBadAllocError,
    RedisConnectionError,
    RedisConnectionLostError,
    RedisDatabaseError,
    RedisInternalError,
    RedisInvalidUseError,
    RedisKeyError,
    RedisParameterError,
    RedisReplyError,
    RedisRuntimeError,
    RedisTimeoutError,
    ScriptFunctionError,
    UnknownNodeError,
    ValueTooLargeError,
    WireFormatError,
    WorkerLostError,
)

__all__ = [
    "BatchingParameterError",
    "UnknownNodeError",
    "ClientError",
    "DeviceUnavailableError",
    "InferenceError",
    "InferenceInputError",
    "InferenceTimeoutError",
    "ModelLoadError",
    "ScriptFunctionError",
    "WorkerLostError",
    "MissingDependencyError",
    "RedisBadAllocError",
    "RedisConnectionError",
    "RedisConnectionLostError",
    "RedisDatabaseError",
    "RedisInternalError",
    "RedisInvalidUseError",
    "RedisKeyError",
    "RedisParameterError",
    "RedisReplyError",
    "RedisRuntimeError",
    "RedisTimeoutError",
    "ValueTooLargeError",
    "WireFormatError",
]
