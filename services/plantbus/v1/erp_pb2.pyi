import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WorkOrderEvent(_message.Message):
    __slots__ = ("erp_id", "number", "connection", "product_code", "product_name", "quantity", "uom", "status", "machine", "ideal_cycle_time_s", "produced", "good_quantity", "scrap_quantity", "planned_start", "started")
    ERP_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_CODE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_NAME_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UOM_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    IDEAL_CYCLE_TIME_S_FIELD_NUMBER: _ClassVar[int]
    PRODUCED_FIELD_NUMBER: _ClassVar[int]
    GOOD_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    SCRAP_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PLANNED_START_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    erp_id: str
    number: str
    connection: str
    product_code: str
    product_name: str
    quantity: float
    uom: str
    status: str
    machine: str
    ideal_cycle_time_s: float
    produced: float
    good_quantity: float
    scrap_quantity: float
    planned_start: _timestamp_pb2.Timestamp
    started: _timestamp_pb2.Timestamp
    def __init__(self, erp_id: _Optional[str] = ..., number: _Optional[str] = ..., connection: _Optional[str] = ..., product_code: _Optional[str] = ..., product_name: _Optional[str] = ..., quantity: _Optional[float] = ..., uom: _Optional[str] = ..., status: _Optional[str] = ..., machine: _Optional[str] = ..., ideal_cycle_time_s: _Optional[float] = ..., produced: _Optional[float] = ..., good_quantity: _Optional[float] = ..., scrap_quantity: _Optional[float] = ..., planned_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Confirmation(_message.Message):
    __slots__ = ("idempotency_key", "connection", "work_order_erp_id", "machine", "good_quantity", "scrap_quantity", "start", "end", "run_seconds", "downtime_seconds", "final", "sequence", "total_good", "total_scrap")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    WORK_ORDER_ERP_ID_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    GOOD_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    SCRAP_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    RUN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DOWNTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_GOOD_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SCRAP_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    connection: str
    work_order_erp_id: str
    machine: str
    good_quantity: float
    scrap_quantity: float
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    run_seconds: float
    downtime_seconds: float
    final: bool
    sequence: int
    total_good: float
    total_scrap: float
    def __init__(self, idempotency_key: _Optional[str] = ..., connection: _Optional[str] = ..., work_order_erp_id: _Optional[str] = ..., machine: _Optional[str] = ..., good_quantity: _Optional[float] = ..., scrap_quantity: _Optional[float] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., run_seconds: _Optional[float] = ..., downtime_seconds: _Optional[float] = ..., final: _Optional[bool] = ..., sequence: _Optional[int] = ..., total_good: _Optional[float] = ..., total_scrap: _Optional[float] = ...) -> None: ...

class DeadLetter(_message.Message):
    __slots__ = ("confirmation", "error", "time")
    CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    confirmation: Confirmation
    error: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, confirmation: _Optional[_Union[Confirmation, _Mapping]] = ..., error: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListWorkOrdersRequest(_message.Message):
    __slots__ = ("status", "page_size", "page_token")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    status: str
    page_size: int
    page_token: str
    def __init__(self, status: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListWorkOrdersResponse(_message.Message):
    __slots__ = ("work_orders", "next_page_token")
    WORK_ORDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    work_orders: _containers.RepeatedCompositeFieldContainer[WorkOrderEvent]
    next_page_token: str
    def __init__(self, work_orders: _Optional[_Iterable[_Union[WorkOrderEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StartWorkOrderRequest(_message.Message):
    __slots__ = ("erp_id", "machine")
    ERP_ID_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    erp_id: str
    machine: str
    def __init__(self, erp_id: _Optional[str] = ..., machine: _Optional[str] = ...) -> None: ...

class StartWorkOrderResponse(_message.Message):
    __slots__ = ("work_order",)
    WORK_ORDER_FIELD_NUMBER: _ClassVar[int]
    work_order: WorkOrderEvent
    def __init__(self, work_order: _Optional[_Union[WorkOrderEvent, _Mapping]] = ...) -> None: ...

class CompleteWorkOrderRequest(_message.Message):
    __slots__ = ("erp_id",)
    ERP_ID_FIELD_NUMBER: _ClassVar[int]
    erp_id: str
    def __init__(self, erp_id: _Optional[str] = ...) -> None: ...

class CompleteWorkOrderResponse(_message.Message):
    __slots__ = ("work_order",)
    WORK_ORDER_FIELD_NUMBER: _ClassVar[int]
    work_order: WorkOrderEvent
    def __init__(self, work_order: _Optional[_Union[WorkOrderEvent, _Mapping]] = ...) -> None: ...

class SyncStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ConnectionStatus(_message.Message):
    __slots__ = ("name", "connector", "reachable", "last_error", "pending", "sent", "dead_letters", "last_poll")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    DEAD_LETTERS_FIELD_NUMBER: _ClassVar[int]
    LAST_POLL_FIELD_NUMBER: _ClassVar[int]
    name: str
    connector: str
    reachable: bool
    last_error: str
    pending: int
    sent: int
    dead_letters: int
    last_poll: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., connector: _Optional[str] = ..., reachable: _Optional[bool] = ..., last_error: _Optional[str] = ..., pending: _Optional[int] = ..., sent: _Optional[int] = ..., dead_letters: _Optional[int] = ..., last_poll: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SyncStatusResponse(_message.Message):
    __slots__ = ("connections",)
    CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    connections: _containers.RepeatedCompositeFieldContainer[ConnectionStatus]
    def __init__(self, connections: _Optional[_Iterable[_Union[ConnectionStatus, _Mapping]]] = ...) -> None: ...

class ListDeadLettersRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDeadLettersResponse(_message.Message):
    __slots__ = ("dead_letters", "next_page_token")
    DEAD_LETTERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    dead_letters: _containers.RepeatedCompositeFieldContainer[DeadLetter]
    next_page_token: str
    def __init__(self, dead_letters: _Optional[_Iterable[_Union[DeadLetter, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RetryRequest(_message.Message):
    __slots__ = ("idempotency_key",)
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    def __init__(self, idempotency_key: _Optional[str] = ...) -> None: ...

class RetryResponse(_message.Message):
    __slots__ = ("queued",)
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    queued: bool
    def __init__(self, queued: _Optional[bool] = ...) -> None: ...
