import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Health(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HEALTH_UNSPECIFIED: _ClassVar[Health]
    HEALTH_SERVING: _ClassVar[Health]
    HEALTH_NOT_SERVING: _ClassVar[Health]
    HEALTH_STOPPING: _ClassVar[Health]

class AuditOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIT_OUTCOME_UNSPECIFIED: _ClassVar[AuditOutcome]
    AUDIT_OUTCOME_SUCCESS: _ClassVar[AuditOutcome]
    AUDIT_OUTCOME_DENIED: _ClassVar[AuditOutcome]
    AUDIT_OUTCOME_FAILED: _ClassVar[AuditOutcome]
    AUDIT_OUTCOME_ATTEMPT: _ClassVar[AuditOutcome]
HEALTH_UNSPECIFIED: Health
HEALTH_SERVING: Health
HEALTH_NOT_SERVING: Health
HEALTH_STOPPING: Health
AUDIT_OUTCOME_UNSPECIFIED: AuditOutcome
AUDIT_OUTCOME_SUCCESS: AuditOutcome
AUDIT_OUTCOME_DENIED: AuditOutcome
AUDIT_OUTCOME_FAILED: AuditOutcome
AUDIT_OUTCOME_ATTEMPT: AuditOutcome

class PluginInfo(_message.Message):
    __slots__ = ("group", "name", "version", "distribution", "api_version", "loaded", "error")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    LOADED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    group: str
    name: str
    version: str
    distribution: str
    api_version: str
    loaded: bool
    error: str
    def __init__(self, group: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., distribution: _Optional[str] = ..., api_version: _Optional[str] = ..., loaded: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class ServiceHeartbeat(_message.Message):
    __slots__ = ("service", "instance", "version", "health", "health_detail", "grpc_address", "config_version", "plugins", "time", "started", "interval_seconds", "pid", "follows_config", "grpc_tls", "grpc_token_address")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    HEALTH_DETAIL_FIELD_NUMBER: _ClassVar[int]
    GRPC_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    PLUGINS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    FOLLOWS_CONFIG_FIELD_NUMBER: _ClassVar[int]
    GRPC_TLS_FIELD_NUMBER: _ClassVar[int]
    GRPC_TOKEN_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    service: str
    instance: str
    version: str
    health: Health
    health_detail: str
    grpc_address: str
    config_version: int
    plugins: _containers.RepeatedCompositeFieldContainer[PluginInfo]
    time: _timestamp_pb2.Timestamp
    started: _timestamp_pb2.Timestamp
    interval_seconds: float
    pid: int
    follows_config: bool
    grpc_tls: bool
    grpc_token_address: str
    def __init__(self, service: _Optional[str] = ..., instance: _Optional[str] = ..., version: _Optional[str] = ..., health: _Optional[_Union[Health, str]] = ..., health_detail: _Optional[str] = ..., grpc_address: _Optional[str] = ..., config_version: _Optional[int] = ..., plugins: _Optional[_Iterable[_Union[PluginInfo, _Mapping]]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., interval_seconds: _Optional[float] = ..., pid: _Optional[int] = ..., follows_config: _Optional[bool] = ..., grpc_tls: _Optional[bool] = ..., grpc_token_address: _Optional[str] = ...) -> None: ...

class AuditRecord(_message.Message):
    __slots__ = ("id", "time", "service", "actor", "action", "target", "outcome", "detail", "attributes", "source", "instance", "chain", "sequence", "prev_hash", "hash")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    id: str
    time: _timestamp_pb2.Timestamp
    service: str
    actor: str
    action: str
    target: str
    outcome: AuditOutcome
    detail: str
    attributes: _containers.ScalarMap[str, str]
    source: str
    instance: str
    chain: str
    sequence: int
    prev_hash: str
    hash: str
    def __init__(self, id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., service: _Optional[str] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., target: _Optional[str] = ..., outcome: _Optional[_Union[AuditOutcome, str]] = ..., detail: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ..., source: _Optional[str] = ..., instance: _Optional[str] = ..., chain: _Optional[str] = ..., sequence: _Optional[int] = ..., prev_hash: _Optional[str] = ..., hash: _Optional[str] = ...) -> None: ...
