import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DowntimeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DOWNTIME_KIND_UNSPECIFIED: _ClassVar[DowntimeKind]
    DOWNTIME_KIND_STARTED: _ClassVar[DowntimeKind]
    DOWNTIME_KIND_ENDED: _ClassVar[DowntimeKind]
    DOWNTIME_KIND_CLASSIFIED: _ClassVar[DowntimeKind]

class CountCorrection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COUNT_CORRECTION_UNSPECIFIED: _ClassVar[CountCorrection]
    COUNT_CORRECTION_SCRAP: _ClassVar[CountCorrection]
    COUNT_CORRECTION_REWORK: _ClassVar[CountCorrection]
    COUNT_CORRECTION_TOTAL: _ClassVar[CountCorrection]
DOWNTIME_KIND_UNSPECIFIED: DowntimeKind
DOWNTIME_KIND_STARTED: DowntimeKind
DOWNTIME_KIND_ENDED: DowntimeKind
DOWNTIME_KIND_CLASSIFIED: DowntimeKind
COUNT_CORRECTION_UNSPECIFIED: CountCorrection
COUNT_CORRECTION_SCRAP: CountCorrection
COUNT_CORRECTION_REWORK: CountCorrection
COUNT_CORRECTION_TOTAL: CountCorrection

class OeeSnapshot(_message.Message):
    __slots__ = ("scope", "time", "shift", "work_order", "state", "reason", "availability", "performance", "quality", "oee", "planned_busy_time_s", "actual_production_time_s", "downtime_s", "total_count", "good_count", "downtime_by_reason", "order_total_count", "order_good_count", "order_run_s", "order_down_s", "kpis", "order_kpis", "revision", "final", "findings")
    class DowntimeByReasonEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    SHIFT_FIELD_NUMBER: _ClassVar[int]
    WORK_ORDER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    OEE_FIELD_NUMBER: _ClassVar[int]
    PLANNED_BUSY_TIME_S_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_PRODUCTION_TIME_S_FIELD_NUMBER: _ClassVar[int]
    DOWNTIME_S_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    GOOD_COUNT_FIELD_NUMBER: _ClassVar[int]
    DOWNTIME_BY_REASON_FIELD_NUMBER: _ClassVar[int]
    ORDER_TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    ORDER_GOOD_COUNT_FIELD_NUMBER: _ClassVar[int]
    ORDER_RUN_S_FIELD_NUMBER: _ClassVar[int]
    ORDER_DOWN_S_FIELD_NUMBER: _ClassVar[int]
    KPIS_FIELD_NUMBER: _ClassVar[int]
    ORDER_KPIS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    scope: str
    time: _timestamp_pb2.Timestamp
    shift: str
    work_order: str
    state: str
    reason: str
    availability: float
    performance: float
    quality: float
    oee: float
    planned_busy_time_s: float
    actual_production_time_s: float
    downtime_s: float
    total_count: int
    good_count: int
    downtime_by_reason: _containers.ScalarMap[str, float]
    order_total_count: int
    order_good_count: int
    order_run_s: float
    order_down_s: float
    kpis: IsoKpis
    order_kpis: IsoKpis
    revision: int
    final: bool
    findings: _containers.RepeatedCompositeFieldContainer[DataQualityFinding]
    def __init__(self, scope: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., shift: _Optional[str] = ..., work_order: _Optional[str] = ..., state: _Optional[str] = ..., reason: _Optional[str] = ..., availability: _Optional[float] = ..., performance: _Optional[float] = ..., quality: _Optional[float] = ..., oee: _Optional[float] = ..., planned_busy_time_s: _Optional[float] = ..., actual_production_time_s: _Optional[float] = ..., downtime_s: _Optional[float] = ..., total_count: _Optional[int] = ..., good_count: _Optional[int] = ..., downtime_by_reason: _Optional[_Mapping[str, float]] = ..., order_total_count: _Optional[int] = ..., order_good_count: _Optional[int] = ..., order_run_s: _Optional[float] = ..., order_down_s: _Optional[float] = ..., kpis: _Optional[_Union[IsoKpis, _Mapping]] = ..., order_kpis: _Optional[_Union[IsoKpis, _Mapping]] = ..., revision: _Optional[int] = ..., final: _Optional[bool] = ..., findings: _Optional[_Iterable[_Union[DataQualityFinding, _Mapping]]] = ...) -> None: ...

class DataQualityFinding(_message.Message):
    __slots__ = ("code", "message", "count")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    count: int
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class IsoKpis(_message.Message):
    __slots__ = ("availability", "effectiveness", "quality_ratio", "oee", "teep", "nee", "utilisation_efficiency", "allocation_efficiency", "setup_ratio", "scrap_ratio", "rework_ratio", "first_pass_yield", "mtbf_s", "mttr_s", "planned_busy_time_s", "actual_production_time_s", "actual_unit_busy_time_s", "setup_time_s", "downtime_s", "planned_downtime_s", "total_count", "good_count", "scrap_count", "rework_count", "failures")
    AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVENESS_FIELD_NUMBER: _ClassVar[int]
    QUALITY_RATIO_FIELD_NUMBER: _ClassVar[int]
    OEE_FIELD_NUMBER: _ClassVar[int]
    TEEP_FIELD_NUMBER: _ClassVar[int]
    NEE_FIELD_NUMBER: _ClassVar[int]
    UTILISATION_EFFICIENCY_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_EFFICIENCY_FIELD_NUMBER: _ClassVar[int]
    SETUP_RATIO_FIELD_NUMBER: _ClassVar[int]
    SCRAP_RATIO_FIELD_NUMBER: _ClassVar[int]
    REWORK_RATIO_FIELD_NUMBER: _ClassVar[int]
    FIRST_PASS_YIELD_FIELD_NUMBER: _ClassVar[int]
    MTBF_S_FIELD_NUMBER: _ClassVar[int]
    MTTR_S_FIELD_NUMBER: _ClassVar[int]
    PLANNED_BUSY_TIME_S_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_PRODUCTION_TIME_S_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_UNIT_BUSY_TIME_S_FIELD_NUMBER: _ClassVar[int]
    SETUP_TIME_S_FIELD_NUMBER: _ClassVar[int]
    DOWNTIME_S_FIELD_NUMBER: _ClassVar[int]
    PLANNED_DOWNTIME_S_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    GOOD_COUNT_FIELD_NUMBER: _ClassVar[int]
    SCRAP_COUNT_FIELD_NUMBER: _ClassVar[int]
    REWORK_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    availability: float
    effectiveness: float
    quality_ratio: float
    oee: float
    teep: float
    nee: float
    utilisation_efficiency: float
    allocation_efficiency: float
    setup_ratio: float
    scrap_ratio: float
    rework_ratio: float
    first_pass_yield: float
    mtbf_s: float
    mttr_s: float
    planned_busy_time_s: float
    actual_production_time_s: float
    actual_unit_busy_time_s: float
    setup_time_s: float
    downtime_s: float
    planned_downtime_s: float
    total_count: int
    good_count: int
    scrap_count: int
    rework_count: int
    failures: int
    def __init__(self, availability: _Optional[float] = ..., effectiveness: _Optional[float] = ..., quality_ratio: _Optional[float] = ..., oee: _Optional[float] = ..., teep: _Optional[float] = ..., nee: _Optional[float] = ..., utilisation_efficiency: _Optional[float] = ..., allocation_efficiency: _Optional[float] = ..., setup_ratio: _Optional[float] = ..., scrap_ratio: _Optional[float] = ..., rework_ratio: _Optional[float] = ..., first_pass_yield: _Optional[float] = ..., mtbf_s: _Optional[float] = ..., mttr_s: _Optional[float] = ..., planned_busy_time_s: _Optional[float] = ..., actual_production_time_s: _Optional[float] = ..., actual_unit_busy_time_s: _Optional[float] = ..., setup_time_s: _Optional[float] = ..., downtime_s: _Optional[float] = ..., planned_downtime_s: _Optional[float] = ..., total_count: _Optional[int] = ..., good_count: _Optional[int] = ..., scrap_count: _Optional[int] = ..., rework_count: _Optional[int] = ..., failures: _Optional[int] = ...) -> None: ...

class DowntimeEvent(_message.Message):
    __slots__ = ("id", "machine", "kind", "reason", "planned", "start", "end", "classified_by", "root_cause_machine", "line_states")
    class LineStatesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PLANNED_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    CLASSIFIED_BY_FIELD_NUMBER: _ClassVar[int]
    ROOT_CAUSE_MACHINE_FIELD_NUMBER: _ClassVar[int]
    LINE_STATES_FIELD_NUMBER: _ClassVar[int]
    id: str
    machine: str
    kind: DowntimeKind
    reason: str
    planned: bool
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    classified_by: str
    root_cause_machine: str
    line_states: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., machine: _Optional[str] = ..., kind: _Optional[_Union[DowntimeKind, str]] = ..., reason: _Optional[str] = ..., planned: _Optional[bool] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., classified_by: _Optional[str] = ..., root_cause_machine: _Optional[str] = ..., line_states: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GetOeeRequest(_message.Message):
    __slots__ = ("scope", "shift")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SHIFT_FIELD_NUMBER: _ClassVar[int]
    scope: str
    shift: str
    def __init__(self, scope: _Optional[str] = ..., shift: _Optional[str] = ...) -> None: ...

class GetOeeResponse(_message.Message):
    __slots__ = ("snapshot",)
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    snapshot: OeeSnapshot
    def __init__(self, snapshot: _Optional[_Union[OeeSnapshot, _Mapping]] = ...) -> None: ...

class StreamOeeRequest(_message.Message):
    __slots__ = ("scope_prefix",)
    SCOPE_PREFIX_FIELD_NUMBER: _ClassVar[int]
    scope_prefix: str
    def __init__(self, scope_prefix: _Optional[str] = ...) -> None: ...

class StreamOeeResponse(_message.Message):
    __slots__ = ("snapshot",)
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    snapshot: OeeSnapshot
    def __init__(self, snapshot: _Optional[_Union[OeeSnapshot, _Mapping]] = ...) -> None: ...

class ListDowntimesRequest(_message.Message):
    __slots__ = ("machine", "page_size", "page_token")
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    machine: str
    page_size: int
    page_token: str
    def __init__(self, machine: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDowntimesResponse(_message.Message):
    __slots__ = ("downtimes", "next_page_token")
    DOWNTIMES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    downtimes: _containers.RepeatedCompositeFieldContainer[DowntimeEvent]
    next_page_token: str
    def __init__(self, downtimes: _Optional[_Iterable[_Union[DowntimeEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ClassifyDowntimeRequest(_message.Message):
    __slots__ = ("id", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ClassifyDowntimeResponse(_message.Message):
    __slots__ = ("downtime",)
    DOWNTIME_FIELD_NUMBER: _ClassVar[int]
    downtime: DowntimeEvent
    def __init__(self, downtime: _Optional[_Union[DowntimeEvent, _Mapping]] = ...) -> None: ...

class CorrectCountsRequest(_message.Message):
    __slots__ = ("machine", "time", "correction", "quantity", "comment")
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    machine: str
    time: _timestamp_pb2.Timestamp
    correction: CountCorrection
    quantity: int
    comment: str
    def __init__(self, machine: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., correction: _Optional[_Union[CountCorrection, str]] = ..., quantity: _Optional[int] = ..., comment: _Optional[str] = ...) -> None: ...

class CorrectCountsResponse(_message.Message):
    __slots__ = ("snapshot",)
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    snapshot: OeeSnapshot
    def __init__(self, snapshot: _Optional[_Union[OeeSnapshot, _Mapping]] = ...) -> None: ...

class GetLossesRequest(_message.Message):
    __slots__ = ("scope", "level")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    scope: str
    level: int
    def __init__(self, scope: _Optional[str] = ..., level: _Optional[int] = ...) -> None: ...

class ParetoEntry(_message.Message):
    __slots__ = ("reason", "seconds")
    REASON_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    reason: str
    seconds: float
    def __init__(self, reason: _Optional[str] = ..., seconds: _Optional[float] = ...) -> None: ...

class GetLossesResponse(_message.Message):
    __slots__ = ("six_big_losses_s", "pareto")
    class SixBigLossesSEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SIX_BIG_LOSSES_S_FIELD_NUMBER: _ClassVar[int]
    PARETO_FIELD_NUMBER: _ClassVar[int]
    six_big_losses_s: _containers.ScalarMap[str, float]
    pareto: _containers.RepeatedCompositeFieldContainer[ParetoEntry]
    def __init__(self, six_big_losses_s: _Optional[_Mapping[str, float]] = ..., pareto: _Optional[_Iterable[_Union[ParetoEntry, _Mapping]]] = ...) -> None: ...
