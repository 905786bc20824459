import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from plantbus.v1 import telemetry_pb2 as _telemetry_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConnectionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONNECTION_STATE_UNSPECIFIED: _ClassVar[ConnectionState]
    CONNECTION_STATE_CONNECTING: _ClassVar[ConnectionState]
    CONNECTION_STATE_CONNECTED: _ClassVar[ConnectionState]
    CONNECTION_STATE_RETRYING: _ClassVar[ConnectionState]
    CONNECTION_STATE_DEMOTED: _ClassVar[ConnectionState]
    CONNECTION_STATE_FAILED: _ClassVar[ConnectionState]
CONNECTION_STATE_UNSPECIFIED: ConnectionState
CONNECTION_STATE_CONNECTING: ConnectionState
CONNECTION_STATE_CONNECTED: ConnectionState
CONNECTION_STATE_RETRYING: ConnectionState
CONNECTION_STATE_DEMOTED: ConnectionState
CONNECTION_STATE_FAILED: ConnectionState

class DeviceCounters(_message.Message):
    __slots__ = ("polls", "poll_errors", "samples_published", "reconnects", "bad_tags", "samples_lost")
    POLLS_FIELD_NUMBER: _ClassVar[int]
    POLL_ERRORS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    RECONNECTS_FIELD_NUMBER: _ClassVar[int]
    BAD_TAGS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_LOST_FIELD_NUMBER: _ClassVar[int]
    polls: int
    poll_errors: int
    samples_published: int
    reconnects: int
    bad_tags: int
    samples_lost: int
    def __init__(self, polls: _Optional[int] = ..., poll_errors: _Optional[int] = ..., samples_published: _Optional[int] = ..., reconnects: _Optional[int] = ..., bad_tags: _Optional[int] = ..., samples_lost: _Optional[int] = ...) -> None: ...

class DeviceInfo(_message.Message):
    __slots__ = ("name", "driver", "endpoint", "machine", "state", "last_error", "counters", "tags", "last_success", "poll_interval_seconds")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    COUNTERS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    LAST_SUCCESS_FIELD_NUMBER: _ClassVar[int]
    POLL_INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    driver: str
    endpoint: str
    machine: str
    state: ConnectionState
    last_error: str
    counters: DeviceCounters
    tags: _containers.RepeatedScalarFieldContainer[str]
    last_success: _timestamp_pb2.Timestamp
    poll_interval_seconds: float
    def __init__(self, name: _Optional[str] = ..., driver: _Optional[str] = ..., endpoint: _Optional[str] = ..., machine: _Optional[str] = ..., state: _Optional[_Union[ConnectionState, str]] = ..., last_error: _Optional[str] = ..., counters: _Optional[_Union[DeviceCounters, _Mapping]] = ..., tags: _Optional[_Iterable[str]] = ..., last_success: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., poll_interval_seconds: _Optional[float] = ...) -> None: ...

class ListDevicesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDevicesResponse(_message.Message):
    __slots__ = ("devices", "next_page_token")
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    devices: _containers.RepeatedCompositeFieldContainer[DeviceInfo]
    next_page_token: str
    def __init__(self, devices: _Optional[_Iterable[_Union[DeviceInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetDeviceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetDeviceResponse(_message.Message):
    __slots__ = ("device",)
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    device: DeviceInfo
    def __init__(self, device: _Optional[_Union[DeviceInfo, _Mapping]] = ...) -> None: ...

class ReadTagsRequest(_message.Message):
    __slots__ = ("device", "tags")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    device: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, device: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ...) -> None: ...

class ReadTagsResponse(_message.Message):
    __slots__ = ("samples", "round_trip_ms")
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    ROUND_TRIP_MS_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedCompositeFieldContainer[_telemetry_pb2.TagSample]
    round_trip_ms: float
    def __init__(self, samples: _Optional[_Iterable[_Union[_telemetry_pb2.TagSample, _Mapping]]] = ..., round_trip_ms: _Optional[float] = ...) -> None: ...

class WriteTagRequest(_message.Message):
    __slots__ = ("device", "tag", "value", "reason")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    device: str
    tag: str
    value: _telemetry_pb2.TagValue
    reason: str
    def __init__(self, device: _Optional[str] = ..., tag: _Optional[str] = ..., value: _Optional[_Union[_telemetry_pb2.TagValue, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class WriteTagResponse(_message.Message):
    __slots__ = ("read_back", "policy")
    READ_BACK_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    read_back: _telemetry_pb2.TagSample
    policy: str
    def __init__(self, read_back: _Optional[_Union[_telemetry_pb2.TagSample, _Mapping]] = ..., policy: _Optional[str] = ...) -> None: ...

class BrowseRequest(_message.Message):
    __slots__ = ("device", "address")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    device: str
    address: str
    def __init__(self, device: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class BrowseNode(_message.Message):
    __slots__ = ("address", "name", "data_type", "has_children")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_TYPE_FIELD_NUMBER: _ClassVar[int]
    HAS_CHILDREN_FIELD_NUMBER: _ClassVar[int]
    address: str
    name: str
    data_type: str
    has_children: bool
    def __init__(self, address: _Optional[str] = ..., name: _Optional[str] = ..., data_type: _Optional[str] = ..., has_children: _Optional[bool] = ...) -> None: ...

class BrowseResponse(_message.Message):
    __slots__ = ("nodes",)
    NODES_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[BrowseNode]
    def __init__(self, nodes: _Optional[_Iterable[_Union[BrowseNode, _Mapping]]] = ...) -> None: ...

class StreamSamplesRequest(_message.Message):
    __slots__ = ("device",)
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    device: str
    def __init__(self, device: _Optional[str] = ...) -> None: ...

class StreamSamplesResponse(_message.Message):
    __slots__ = ("batch",)
    BATCH_FIELD_NUMBER: _ClassVar[int]
    batch: _telemetry_pb2.TagSampleBatch
    def __init__(self, batch: _Optional[_Union[_telemetry_pb2.TagSampleBatch, _Mapping]] = ...) -> None: ...
