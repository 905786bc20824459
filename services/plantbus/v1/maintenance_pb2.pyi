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

class MaintenanceEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MAINTENANCE_EVENT_KIND_UNSPECIFIED: _ClassVar[MaintenanceEventKind]
    MAINTENANCE_EVENT_KIND_WINDOW: _ClassVar[MaintenanceEventKind]
    MAINTENANCE_EVENT_KIND_ANOMALY: _ClassVar[MaintenanceEventKind]
    MAINTENANCE_EVENT_KIND_FORECAST: _ClassVar[MaintenanceEventKind]
    MAINTENANCE_EVENT_KIND_WARNING: _ClassVar[MaintenanceEventKind]
    MAINTENANCE_EVENT_KIND_DUE: _ClassVar[MaintenanceEventKind]
    MAINTENANCE_EVENT_KIND_OK: _ClassVar[MaintenanceEventKind]
    MAINTENANCE_EVENT_KIND_DONE: _ClassVar[MaintenanceEventKind]
    MAINTENANCE_EVENT_KIND_PROPOSAL: _ClassVar[MaintenanceEventKind]

class ProposalState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROPOSAL_STATE_UNSPECIFIED: _ClassVar[ProposalState]
    PROPOSAL_STATE_PENDING: _ClassVar[ProposalState]
    PROPOSAL_STATE_APPLIED: _ClassVar[ProposalState]
    PROPOSAL_STATE_REJECTED: _ClassVar[ProposalState]
MAINTENANCE_EVENT_KIND_UNSPECIFIED: MaintenanceEventKind
MAINTENANCE_EVENT_KIND_WINDOW: MaintenanceEventKind
MAINTENANCE_EVENT_KIND_ANOMALY: MaintenanceEventKind
MAINTENANCE_EVENT_KIND_FORECAST: MaintenanceEventKind
MAINTENANCE_EVENT_KIND_WARNING: MaintenanceEventKind
MAINTENANCE_EVENT_KIND_DUE: MaintenanceEventKind
MAINTENANCE_EVENT_KIND_OK: MaintenanceEventKind
MAINTENANCE_EVENT_KIND_DONE: MaintenanceEventKind
MAINTENANCE_EVENT_KIND_PROPOSAL: MaintenanceEventKind
PROPOSAL_STATE_UNSPECIFIED: ProposalState
PROPOSAL_STATE_PENDING: ProposalState
PROPOSAL_STATE_APPLIED: ProposalState
PROPOSAL_STATE_REJECTED: ProposalState

class ConditionWindow(_message.Message):
    __slots__ = ("tag", "state", "start", "end", "count", "mean", "rms", "std", "peak", "slope", "score", "threshold")
    TAG_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    RMS_FIELD_NUMBER: _ClassVar[int]
    STD_FIELD_NUMBER: _ClassVar[int]
    PEAK_FIELD_NUMBER: _ClassVar[int]
    SLOPE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    tag: str
    state: str
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    count: int
    mean: float
    rms: float
    std: float
    peak: float
    slope: float
    score: float
    threshold: float
    def __init__(self, tag: _Optional[str] = ..., state: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., count: _Optional[int] = ..., mean: _Optional[float] = ..., rms: _Optional[float] = ..., std: _Optional[float] = ..., peak: _Optional[float] = ..., slope: _Optional[float] = ..., score: _Optional[float] = ..., threshold: _Optional[float] = ...) -> None: ...

class MaintenanceForecast(_message.Message):
    __slots__ = ("tag", "indicator", "limit", "level", "slope_per_hour", "hours", "hours_early", "hours_late", "points")
    TAG_FIELD_NUMBER: _ClassVar[int]
    INDICATOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    SLOPE_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    HOURS_FIELD_NUMBER: _ClassVar[int]
    HOURS_EARLY_FIELD_NUMBER: _ClassVar[int]
    HOURS_LATE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    tag: str
    indicator: str
    limit: float
    level: float
    slope_per_hour: float
    hours: float
    hours_early: float
    hours_late: float
    points: int
    def __init__(self, tag: _Optional[str] = ..., indicator: _Optional[str] = ..., limit: _Optional[float] = ..., level: _Optional[float] = ..., slope_per_hour: _Optional[float] = ..., hours: _Optional[float] = ..., hours_early: _Optional[float] = ..., hours_late: _Optional[float] = ..., points: _Optional[int] = ...) -> None: ...

class PlanState(_message.Message):
    __slots__ = ("plan", "machine", "component", "by", "level", "value", "due", "remaining", "message", "forecast", "warning")
    PLAN_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    DUE_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FORECAST_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    plan: str
    machine: str
    component: str
    by: str
    level: str
    value: float
    due: float
    remaining: float
    message: str
    forecast: MaintenanceForecast
    warning: float
    def __init__(self, plan: _Optional[str] = ..., machine: _Optional[str] = ..., component: _Optional[str] = ..., by: _Optional[str] = ..., level: _Optional[str] = ..., value: _Optional[float] = ..., due: _Optional[float] = ..., remaining: _Optional[float] = ..., message: _Optional[str] = ..., forecast: _Optional[_Union[MaintenanceForecast, _Mapping]] = ..., warning: _Optional[float] = ...) -> None: ...

class ComponentUsage(_message.Message):
    __slots__ = ("machine", "component", "running_hours", "cycles", "starts", "stops", "since", "resets", "last_note", "last_by")
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    RUNNING_HOURS_FIELD_NUMBER: _ClassVar[int]
    CYCLES_FIELD_NUMBER: _ClassVar[int]
    STARTS_FIELD_NUMBER: _ClassVar[int]
    STOPS_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    RESETS_FIELD_NUMBER: _ClassVar[int]
    LAST_NOTE_FIELD_NUMBER: _ClassVar[int]
    LAST_BY_FIELD_NUMBER: _ClassVar[int]
    machine: str
    component: str
    running_hours: float
    cycles: int
    starts: int
    stops: int
    since: _timestamp_pb2.Timestamp
    resets: int
    last_note: str
    last_by: str
    def __init__(self, machine: _Optional[str] = ..., component: _Optional[str] = ..., running_hours: _Optional[float] = ..., cycles: _Optional[int] = ..., starts: _Optional[int] = ..., stops: _Optional[int] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resets: _Optional[int] = ..., last_note: _Optional[str] = ..., last_by: _Optional[str] = ...) -> None: ...

class MaintenanceEvent(_message.Message):
    __slots__ = ("kind", "machine", "time", "message", "window", "plan", "usage", "proposal")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    kind: MaintenanceEventKind
    machine: str
    time: _timestamp_pb2.Timestamp
    message: str
    window: ConditionWindow
    plan: PlanState
    usage: ComponentUsage
    proposal: Proposal
    def __init__(self, kind: _Optional[_Union[MaintenanceEventKind, str]] = ..., machine: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message: _Optional[str] = ..., window: _Optional[_Union[ConditionWindow, _Mapping]] = ..., plan: _Optional[_Union[PlanState, _Mapping]] = ..., usage: _Optional[_Union[ComponentUsage, _Mapping]] = ..., proposal: _Optional[_Union[Proposal, _Mapping]] = ...) -> None: ...

class Proposal(_message.Message):
    __slots__ = ("id", "machine", "tag", "value", "reason", "created", "plan", "state", "decided_by", "decided", "note")
    ID_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    DECIDED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    id: str
    machine: str
    tag: str
    value: float
    reason: str
    created: _timestamp_pb2.Timestamp
    plan: str
    state: ProposalState
    decided_by: str
    decided: _timestamp_pb2.Timestamp
    note: str
    def __init__(self, id: _Optional[str] = ..., machine: _Optional[str] = ..., tag: _Optional[str] = ..., value: _Optional[float] = ..., reason: _Optional[str] = ..., created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., plan: _Optional[str] = ..., state: _Optional[_Union[ProposalState, str]] = ..., decided_by: _Optional[str] = ..., decided: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., note: _Optional[str] = ...) -> None: ...

class ListProposalsRequest(_message.Message):
    __slots__ = ("pending_only",)
    PENDING_ONLY_FIELD_NUMBER: _ClassVar[int]
    pending_only: bool
    def __init__(self, pending_only: _Optional[bool] = ...) -> None: ...

class ListProposalsResponse(_message.Message):
    __slots__ = ("proposals",)
    PROPOSALS_FIELD_NUMBER: _ClassVar[int]
    proposals: _containers.RepeatedCompositeFieldContainer[Proposal]
    def __init__(self, proposals: _Optional[_Iterable[_Union[Proposal, _Mapping]]] = ...) -> None: ...

class ApproveProposalRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ApproveProposalResponse(_message.Message):
    __slots__ = ("proposal",)
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    proposal: Proposal
    def __init__(self, proposal: _Optional[_Union[Proposal, _Mapping]] = ...) -> None: ...

class RejectProposalRequest(_message.Message):
    __slots__ = ("id", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectProposalResponse(_message.Message):
    __slots__ = ("proposal",)
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    proposal: Proposal
    def __init__(self, proposal: _Optional[_Union[Proposal, _Mapping]] = ...) -> None: ...

class GetMaintenanceStatusRequest(_message.Message):
    __slots__ = ("machine",)
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    machine: str
    def __init__(self, machine: _Optional[str] = ...) -> None: ...

class GetMaintenanceStatusResponse(_message.Message):
    __slots__ = ("usage", "plans", "windows")
    USAGE_FIELD_NUMBER: _ClassVar[int]
    PLANS_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    usage: _containers.RepeatedCompositeFieldContainer[ComponentUsage]
    plans: _containers.RepeatedCompositeFieldContainer[PlanState]
    windows: _containers.RepeatedCompositeFieldContainer[ConditionWindow]
    def __init__(self, usage: _Optional[_Iterable[_Union[ComponentUsage, _Mapping]]] = ..., plans: _Optional[_Iterable[_Union[PlanState, _Mapping]]] = ..., windows: _Optional[_Iterable[_Union[ConditionWindow, _Mapping]]] = ...) -> None: ...

class RecordMaintenanceRequest(_message.Message):
    __slots__ = ("machine", "component", "note")
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    machine: str
    component: str
    note: str
    def __init__(self, machine: _Optional[str] = ..., component: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class RecordMaintenanceResponse(_message.Message):
    __slots__ = ("before",)
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    before: ComponentUsage
    def __init__(self, before: _Optional[_Union[ComponentUsage, _Mapping]] = ...) -> None: ...

class MaintenanceRequest(_message.Message):
    __slots__ = ("key", "plan", "machine", "component", "reason", "message", "time", "due", "usage", "connector")
    class UsageEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    DUE_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    key: str
    plan: str
    machine: str
    component: str
    reason: str
    message: str
    time: _timestamp_pb2.Timestamp
    due: _timestamp_pb2.Timestamp
    usage: _containers.ScalarMap[str, float]
    connector: str
    def __init__(self, key: _Optional[str] = ..., plan: _Optional[str] = ..., machine: _Optional[str] = ..., component: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., usage: _Optional[_Mapping[str, float]] = ..., connector: _Optional[str] = ...) -> None: ...
