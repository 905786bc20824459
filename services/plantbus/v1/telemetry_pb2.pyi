import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Quality(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUALITY_UNSPECIFIED: _ClassVar[Quality]
    QUALITY_GOOD: _ClassVar[Quality]
    QUALITY_UNCERTAIN: _ClassVar[Quality]
    QUALITY_BAD: _ClassVar[Quality]
QUALITY_UNSPECIFIED: Quality
QUALITY_GOOD: Quality
QUALITY_UNCERTAIN: Quality
QUALITY_BAD: Quality

class TagValue(_message.Message):
    __slots__ = ("bool_value", "int_value", "uint_value", "double_value", "string_value", "bytes_value")
    BOOL_VALUE_FIELD_NUMBER: _ClassVar[int]
    INT_VALUE_FIELD_NUMBER: _ClassVar[int]
    UINT_VALUE_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    BYTES_VALUE_FIELD_NUMBER: _ClassVar[int]
    bool_value: bool
    int_value: int
    uint_value: int
    double_value: float
    string_value: str
    bytes_value: bytes
    def __init__(self, bool_value: _Optional[bool] = ..., int_value: _Optional[int] = ..., uint_value: _Optional[int] = ..., double_value: _Optional[float] = ..., string_value: _Optional[str] = ..., bytes_value: _Optional[bytes] = ...) -> None: ...

class TagSample(_message.Message):
    __slots__ = ("path", "value", "unit", "source_time", "receive_time", "quality", "quality_reason", "sequence")
    PATH_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TIME_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    QUALITY_REASON_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    path: str
    value: TagValue
    unit: str
    source_time: _timestamp_pb2.Timestamp
    receive_time: _timestamp_pb2.Timestamp
    quality: Quality
    quality_reason: str
    sequence: int
    def __init__(self, path: _Optional[str] = ..., value: _Optional[_Union[TagValue, _Mapping]] = ..., unit: _Optional[str] = ..., source_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., quality: _Optional[_Union[Quality, str]] = ..., quality_reason: _Optional[str] = ..., sequence: _Optional[int] = ...) -> None: ...

class TagSampleBatch(_message.Message):
    __slots__ = ("samples", "device")
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedCompositeFieldContainer[TagSample]
    device: str
    def __init__(self, samples: _Optional[_Iterable[_Union[TagSample, _Mapping]]] = ..., device: _Optional[str] = ...) -> None: ...
