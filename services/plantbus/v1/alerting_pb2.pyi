import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AlarmEvent(_message.Message):
    __slots__ = ("id", "rule", "scope", "state", "active", "priority", "message", "value", "time", "note", "shelved_until", "out_of_service_until")
    ID_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    SHELVED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    OUT_OF_SERVICE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    id: str
    rule: str
    scope: str
    state: str
    active: bool
    priority: str
    message: str
    value: str
    time: _timestamp_pb2.Timestamp
    note: str
    shelved_until: _timestamp_pb2.Timestamp
    out_of_service_until: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., rule: _Optional[str] = ..., scope: _Optional[str] = ..., state: _Optional[str] = ..., active: _Optional[bool] = ..., priority: _Optional[str] = ..., message: _Optional[str] = ..., value: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., note: _Optional[str] = ..., shelved_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., out_of_service_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListAlarmsRequest(_message.Message):
    __slots__ = ("scope_prefix", "include_normal", "page_size", "page_token")
    SCOPE_PREFIX_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_NORMAL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    scope_prefix: str
    include_normal: bool
    page_size: int
    page_token: str
    def __init__(self, scope_prefix: _Optional[str] = ..., include_normal: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAlarmsResponse(_message.Message):
    __slots__ = ("alarms", "next_page_token")
    ALARMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    alarms: _containers.RepeatedCompositeFieldContainer[AlarmEvent]
    next_page_token: str
    def __init__(self, alarms: _Optional[_Iterable[_Union[AlarmEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class HistoryRequest(_message.Message):
    __slots__ = ("limit", "scope_prefix", "page_size", "page_token")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SCOPE_PREFIX_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    limit: int
    scope_prefix: str
    page_size: int
    page_token: str
    def __init__(self, limit: _Optional[int] = ..., scope_prefix: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class HistoryResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AlarmEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[AlarmEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AcknowledgeRequest(_message.Message):
    __slots__ = ("id", "comment")
    ID_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    id: str
    comment: str
    def __init__(self, id: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class AcknowledgeResponse(_message.Message):
    __slots__ = ("alarm",)
    ALARM_FIELD_NUMBER: _ClassVar[int]
    alarm: AlarmEvent
    def __init__(self, alarm: _Optional[_Union[AlarmEvent, _Mapping]] = ...) -> None: ...

class ShelveRequest(_message.Message):
    __slots__ = ("id", "duration_seconds", "comment", "one_shot")
    ID_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    ONE_SHOT_FIELD_NUMBER: _ClassVar[int]
    id: str
    duration_seconds: float
    comment: str
    one_shot: bool
    def __init__(self, id: _Optional[str] = ..., duration_seconds: _Optional[float] = ..., comment: _Optional[str] = ..., one_shot: _Optional[bool] = ...) -> None: ...

class ShelveResponse(_message.Message):
    __slots__ = ("alarm",)
    ALARM_FIELD_NUMBER: _ClassVar[int]
    alarm: AlarmEvent
    def __init__(self, alarm: _Optional[_Union[AlarmEvent, _Mapping]] = ...) -> None: ...

class UnshelveRequest(_message.Message):
    __slots__ = ("id", "comment")
    ID_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    id: str
    comment: str
    def __init__(self, id: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class UnshelveResponse(_message.Message):
    __slots__ = ("alarm",)
    ALARM_FIELD_NUMBER: _ClassVar[int]
    alarm: AlarmEvent
    def __init__(self, alarm: _Optional[_Union[AlarmEvent, _Mapping]] = ...) -> None: ...

class ResetRequest(_message.Message):
    __slots__ = ("id", "comment")
    ID_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    id: str
    comment: str
    def __init__(self, id: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class ResetResponse(_message.Message):
    __slots__ = ("alarm",)
    ALARM_FIELD_NUMBER: _ClassVar[int]
    alarm: AlarmEvent
    def __init__(self, alarm: _Optional[_Union[AlarmEvent, _Mapping]] = ...) -> None: ...

class StreamAlarmsRequest(_message.Message):
    __slots__ = ("scope_prefix",)
    SCOPE_PREFIX_FIELD_NUMBER: _ClassVar[int]
    scope_prefix: str
    def __init__(self, scope_prefix: _Optional[str] = ...) -> None: ...

class StreamAlarmsResponse(_message.Message):
    __slots__ = ("alarm",)
    ALARM_FIELD_NUMBER: _ClassVar[int]
    alarm: AlarmEvent
    def __init__(self, alarm: _Optional[_Union[AlarmEvent, _Mapping]] = ...) -> None: ...

class GetAlarmMetricsRequest(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PositionMetrics(_message.Message):
    __slots__ = ("position", "annunciated", "average_per_period", "average_per_hour", "periods", "periods_above", "percent_periods_above", "peak", "peak_start", "floods", "flood_seconds", "percent_in_flood")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    ANNUNCIATED_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_PER_PERIOD_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    PERIODS_ABOVE_FIELD_NUMBER: _ClassVar[int]
    PERCENT_PERIODS_ABOVE_FIELD_NUMBER: _ClassVar[int]
    PEAK_FIELD_NUMBER: _ClassVar[int]
    PEAK_START_FIELD_NUMBER: _ClassVar[int]
    FLOODS_FIELD_NUMBER: _ClassVar[int]
    FLOOD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PERCENT_IN_FLOOD_FIELD_NUMBER: _ClassVar[int]
    position: str
    annunciated: int
    average_per_period: float
    average_per_hour: float
    periods: int
    periods_above: int
    percent_periods_above: float
    peak: int
    peak_start: _timestamp_pb2.Timestamp
    floods: int
    flood_seconds: float
    percent_in_flood: float
    def __init__(self, position: _Optional[str] = ..., annunciated: _Optional[int] = ..., average_per_period: _Optional[float] = ..., average_per_hour: _Optional[float] = ..., periods: _Optional[int] = ..., periods_above: _Optional[int] = ..., percent_periods_above: _Optional[float] = ..., peak: _Optional[int] = ..., peak_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., floods: _Optional[int] = ..., flood_seconds: _Optional[float] = ..., percent_in_flood: _Optional[float] = ...) -> None: ...

class StandingAlarm(_message.Message):
    __slots__ = ("id", "since")
    ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    since: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BadActor(_message.Message):
    __slots__ = ("id", "annunciated", "percent_of_load")
    ID_FIELD_NUMBER: _ClassVar[int]
    ANNUNCIATED_FIELD_NUMBER: _ClassVar[int]
    PERCENT_OF_LOAD_FIELD_NUMBER: _ClassVar[int]
    id: str
    annunciated: int
    percent_of_load: float
    def __init__(self, id: _Optional[str] = ..., annunciated: _Optional[int] = ..., percent_of_load: _Optional[float] = ...) -> None: ...

class AlarmCount(_message.Message):
    __slots__ = ("id", "activations")
    ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    activations: int
    def __init__(self, id: _Optional[str] = ..., activations: _Optional[int] = ...) -> None: ...

class GetAlarmMetricsResponse(_message.Message):
    __slots__ = ("alarms_per_hour_by_area", "standing", "stale", "chattering", "top_frequent", "flooding", "start", "end", "source", "annunciated", "positions", "annunciated_by_priority", "standing_alarms", "stale_in_range", "chattering_in_range", "fleeting", "bad_actors", "percent_top_load", "hidden")
    class AlarmsPerHourByAreaEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class AnnunciatedByPriorityEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class FleetingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class HiddenEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ALARMS_PER_HOUR_BY_AREA_FIELD_NUMBER: _ClassVar[int]
    STANDING_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    CHATTERING_FIELD_NUMBER: _ClassVar[int]
    TOP_FREQUENT_FIELD_NUMBER: _ClassVar[int]
    FLOODING_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ANNUNCIATED_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    ANNUNCIATED_BY_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    STANDING_ALARMS_FIELD_NUMBER: _ClassVar[int]
    STALE_IN_RANGE_FIELD_NUMBER: _ClassVar[int]
    CHATTERING_IN_RANGE_FIELD_NUMBER: _ClassVar[int]
    FLEETING_FIELD_NUMBER: _ClassVar[int]
    BAD_ACTORS_FIELD_NUMBER: _ClassVar[int]
    PERCENT_TOP_LOAD_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    alarms_per_hour_by_area: _containers.ScalarMap[str, int]
    standing: _containers.RepeatedScalarFieldContainer[str]
    stale: _containers.RepeatedScalarFieldContainer[str]
    chattering: _containers.RepeatedScalarFieldContainer[str]
    top_frequent: _containers.RepeatedCompositeFieldContainer[AlarmCount]
    flooding: _containers.RepeatedScalarFieldContainer[str]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    source: str
    annunciated: int
    positions: _containers.RepeatedCompositeFieldContainer[PositionMetrics]
    annunciated_by_priority: _containers.ScalarMap[str, int]
    standing_alarms: _containers.RepeatedCompositeFieldContainer[StandingAlarm]
    stale_in_range: _containers.RepeatedScalarFieldContainer[str]
    chattering_in_range: _containers.RepeatedScalarFieldContainer[str]
    fleeting: _containers.ScalarMap[str, int]
    bad_actors: _containers.RepeatedCompositeFieldContainer[BadActor]
    percent_top_load: float
    hidden: _containers.ScalarMap[str, str]
    def __init__(self, alarms_per_hour_by_area: _Optional[_Mapping[str, int]] = ..., standing: _Optional[_Iterable[str]] = ..., stale: _Optional[_Iterable[str]] = ..., chattering: _Optional[_Iterable[str]] = ..., top_frequent: _Optional[_Iterable[_Union[AlarmCount, _Mapping]]] = ..., flooding: _Optional[_Iterable[str]] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., annunciated: _Optional[int] = ..., positions: _Optional[_Iterable[_Union[PositionMetrics, _Mapping]]] = ..., annunciated_by_priority: _Optional[_Mapping[str, int]] = ..., standing_alarms: _Optional[_Iterable[_Union[StandingAlarm, _Mapping]]] = ..., stale_in_range: _Optional[_Iterable[str]] = ..., chattering_in_range: _Optional[_Iterable[str]] = ..., fleeting: _Optional[_Mapping[str, int]] = ..., bad_actors: _Optional[_Iterable[_Union[BadActor, _Mapping]]] = ..., percent_top_load: _Optional[float] = ..., hidden: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RemoveFromServiceRequest(_message.Message):
    __slots__ = ("id", "comment", "duration_seconds")
    ID_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    comment: str
    duration_seconds: float
    def __init__(self, id: _Optional[str] = ..., comment: _Optional[str] = ..., duration_seconds: _Optional[float] = ...) -> None: ...

class RemoveFromServiceResponse(_message.Message):
    __slots__ = ("alarm",)
    ALARM_FIELD_NUMBER: _ClassVar[int]
    alarm: AlarmEvent
    def __init__(self, alarm: _Optional[_Union[AlarmEvent, _Mapping]] = ...) -> None: ...

class ReturnToServiceRequest(_message.Message):
    __slots__ = ("id", "comment")
    ID_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    id: str
    comment: str
    def __init__(self, id: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class ReturnToServiceResponse(_message.Message):
    __slots__ = ("alarm",)
    ALARM_FIELD_NUMBER: _ClassVar[int]
    alarm: AlarmEvent
    def __init__(self, alarm: _Optional[_Union[AlarmEvent, _Mapping]] = ...) -> None: ...
