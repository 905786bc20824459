from plantbus.v1 import service_pb2 as _service_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetAlertingInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetAlertingInfoResponse(_message.Message):
    __slots__ = ("heartbeat",)
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    heartbeat: _service_pb2.ServiceHeartbeat
    def __init__(self, heartbeat: _Optional[_Union[_service_pb2.ServiceHeartbeat, _Mapping]] = ...) -> None: ...
