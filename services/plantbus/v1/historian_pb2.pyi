import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from plantbus.v1 import alerting_pb2 as _alerting_pb2
from plantbus.v1 import erp_pb2 as _erp_pb2
from plantbus.v1 import maintenance_pb2 as _maintenance_pb2
from plantbus.v1 import oee_pb2 as _oee_pb2
from plantbus.v1 import telemetry_pb2 as _telemetry_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HistoryMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HISTORY_MODE_UNSPECIFIED: _ClassVar[HistoryMode]
    HISTORY_MODE_RAW: _ClassVar[HistoryMode]
    HISTORY_MODE_BUCKETED: _ClassVar[HistoryMode]
    HISTORY_MODE_INTERPOLATED: _ClassVar[HistoryMode]

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_OEE: _ClassVar[EventKind]
    EVENT_KIND_DOWNTIME: _ClassVar[EventKind]
    EVENT_KIND_ALARM: _ClassVar[EventKind]
    EVENT_KIND_WORK_ORDER: _ClassVar[EventKind]
    EVENT_KIND_CONFIRMATION: _ClassVar[EventKind]
    EVENT_KIND_OEE_FINAL: _ClassVar[EventKind]
    EVENT_KIND_MAINTENANCE: _ClassVar[EventKind]
HISTORY_MODE_UNSPECIFIED: HistoryMode
HISTORY_MODE_RAW: HistoryMode
HISTORY_MODE_BUCKETED: HistoryMode
HISTORY_MODE_INTERPOLATED: HistoryMode
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_OEE: EventKind
EVENT_KIND_DOWNTIME: EventKind
EVENT_KIND_ALARM: EventKind
EVENT_KIND_WORK_ORDER: EventKind
EVENT_KIND_CONFIRMATION: EventKind
EVENT_KIND_OEE_FINAL: EventKind
EVENT_KIND_MAINTENANCE: EventKind

class HistorySample(_message.Message):
    __slots__ = ("path", "time", "value", "quality", "receive_time")
    PATH_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    path: str
    time: _timestamp_pb2.Timestamp
    value: _telemetry_pb2.TagValue
    quality: _telemetry_pb2.Quality
    receive_time: _timestamp_pb2.Timestamp
    def __init__(self, path: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., value: _Optional[_Union[_telemetry_pb2.TagValue, _Mapping]] = ..., quality: _Optional[_Union[_telemetry_pb2.Quality, str]] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class HistoryBucket(_message.Message):
    __slots__ = ("start", "end", "count", "good_fraction", "min", "max", "mean", "time_weighted_mean", "first", "last")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    GOOD_FRACTION_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    TIME_WEIGHTED_MEAN_FIELD_NUMBER: _ClassVar[int]
    FIRST_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    count: int
    good_fraction: float
    min: float
    max: float
    mean: float
    time_weighted_mean: float
    first: float
    last: float
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., count: _Optional[int] = ..., good_fraction: _Optional[float] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., mean: _Optional[float] = ..., time_weighted_mean: _Optional[float] = ..., first: _Optional[float] = ..., last: _Optional[float] = ...) -> None: ...

class TagHistory(_message.Message):
    __slots__ = ("path", "samples", "buckets", "values")
    PATH_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    path: str
    samples: _containers.RepeatedCompositeFieldContainer[HistorySample]
    buckets: _containers.RepeatedCompositeFieldContainer[HistoryBucket]
    values: _containers.RepeatedCompositeFieldContainer[HistorySample]
    def __init__(self, path: _Optional[str] = ..., samples: _Optional[_Iterable[_Union[HistorySample, _Mapping]]] = ..., buckets: _Optional[_Iterable[_Union[HistoryBucket, _Mapping]]] = ..., values: _Optional[_Iterable[_Union[HistorySample, _Mapping]]] = ...) -> None: ...

class QueryHistoryRequest(_message.Message):
    __slots__ = ("paths", "start", "end", "mode", "bucket", "at", "page_size", "page_token")
    PATHS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    paths: _containers.RepeatedScalarFieldContainer[str]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    mode: HistoryMode
    bucket: _duration_pb2.Duration
    at: _containers.RepeatedCompositeFieldContainer[_timestamp_pb2.Timestamp]
    page_size: int
    page_token: str
    def __init__(self, paths: _Optional[_Iterable[str]] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., mode: _Optional[_Union[HistoryMode, str]] = ..., bucket: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., at: _Optional[_Iterable[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class QueryHistoryResponse(_message.Message):
    __slots__ = ("tags", "next_page_token", "source")
    TAGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    tags: _containers.RepeatedCompositeFieldContainer[TagHistory]
    next_page_token: str
    source: str
    def __init__(self, tags: _Optional[_Iterable[_Union[TagHistory, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class HistoryEvent(_message.Message):
    __slots__ = ("kind", "scope", "time", "key", "oee", "downtime", "alarm", "work_order", "confirmation", "maintenance")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    OEE_FIELD_NUMBER: _ClassVar[int]
    DOWNTIME_FIELD_NUMBER: _ClassVar[int]
    ALARM_FIELD_NUMBER: _ClassVar[int]
    WORK_ORDER_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_FIELD_NUMBER: _ClassVar[int]
    kind: EventKind
    scope: str
    time: _timestamp_pb2.Timestamp
    key: str
    oee: _oee_pb2.OeeSnapshot
    downtime: _oee_pb2.DowntimeEvent
    alarm: _alerting_pb2.AlarmEvent
    work_order: _erp_pb2.WorkOrderEvent
    confirmation: _erp_pb2.Confirmation
    maintenance: _maintenance_pb2.MaintenanceEvent
    def __init__(self, kind: _Optional[_Union[EventKind, str]] = ..., scope: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., key: _Optional[str] = ..., oee: _Optional[_Union[_oee_pb2.OeeSnapshot, _Mapping]] = ..., downtime: _Optional[_Union[_oee_pb2.DowntimeEvent, _Mapping]] = ..., alarm: _Optional[_Union[_alerting_pb2.AlarmEvent, _Mapping]] = ..., work_order: _Optional[_Union[_erp_pb2.WorkOrderEvent, _Mapping]] = ..., confirmation: _Optional[_Union[_erp_pb2.Confirmation, _Mapping]] = ..., maintenance: _Optional[_Union[_maintenance_pb2.MaintenanceEvent, _Mapping]] = ...) -> None: ...

class QueryEventsRequest(_message.Message):
    __slots__ = ("kinds", "scope", "start", "end", "page_size", "page_token")
    KINDS_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    kinds: _containers.RepeatedScalarFieldContainer[EventKind]
    scope: str
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, kinds: _Optional[_Iterable[_Union[EventKind, str]]] = ..., scope: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class QueryEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[HistoryEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[HistoryEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExportRequest(_message.Message):
    __slots__ = ("paths", "start", "end")
    PATHS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    paths: _containers.RepeatedScalarFieldContainer[str]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, paths: _Optional[_Iterable[str]] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ExportResponse(_message.Message):
    __slots__ = ("samples", "tags_done", "tags_total")
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    TAGS_DONE_FIELD_NUMBER: _ClassVar[int]
    TAGS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedCompositeFieldContainer[HistorySample]
    tags_done: int
    tags_total: int
    def __init__(self, samples: _Optional[_Iterable[_Union[HistorySample, _Mapping]]] = ..., tags_done: _Optional[int] = ..., tags_total: _Optional[int] = ...) -> None: ...
