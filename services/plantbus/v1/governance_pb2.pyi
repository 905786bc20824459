import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from plantbus.v1 import service_pb2 as _service_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConfigFile(_message.Message):
    __slots__ = ("name", "content")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    content: str
    def __init__(self, name: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class ConfigIssue(_message.Message):
    __slots__ = ("file", "line", "path", "message")
    FILE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    file: str
    line: int
    path: str
    message: str
    def __init__(self, file: _Optional[str] = ..., line: _Optional[int] = ..., path: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ConfigVersion(_message.Message):
    __slots__ = ("version", "author", "time", "message")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    version: int
    author: str
    time: _timestamp_pb2.Timestamp
    message: str
    def __init__(self, version: _Optional[int] = ..., author: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message: _Optional[str] = ...) -> None: ...

class ApplyConfigRequest(_message.Message):
    __slots__ = ("files", "message", "dry_run", "expected_version")
    FILES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[ConfigFile]
    message: str
    dry_run: bool
    expected_version: int
    def __init__(self, files: _Optional[_Iterable[_Union[ConfigFile, _Mapping]]] = ..., message: _Optional[str] = ..., dry_run: _Optional[bool] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ApplyConfigResponse(_message.Message):
    __slots__ = ("issues", "diff", "version", "previous_version")
    ISSUES_FIELD_NUMBER: _ClassVar[int]
    DIFF_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    issues: _containers.RepeatedCompositeFieldContainer[ConfigIssue]
    diff: str
    version: int
    previous_version: int
    def __init__(self, issues: _Optional[_Iterable[_Union[ConfigIssue, _Mapping]]] = ..., diff: _Optional[str] = ..., version: _Optional[int] = ..., previous_version: _Optional[int] = ...) -> None: ...

class DiffConfigRequest(_message.Message):
    __slots__ = ("files",)
    FILES_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[ConfigFile]
    def __init__(self, files: _Optional[_Iterable[_Union[ConfigFile, _Mapping]]] = ...) -> None: ...

class DiffConfigResponse(_message.Message):
    __slots__ = ("issues", "diff", "running_version")
    ISSUES_FIELD_NUMBER: _ClassVar[int]
    DIFF_FIELD_NUMBER: _ClassVar[int]
    RUNNING_VERSION_FIELD_NUMBER: _ClassVar[int]
    issues: _containers.RepeatedCompositeFieldContainer[ConfigIssue]
    diff: str
    running_version: int
    def __init__(self, issues: _Optional[_Iterable[_Union[ConfigIssue, _Mapping]]] = ..., diff: _Optional[str] = ..., running_version: _Optional[int] = ...) -> None: ...

class GetConfigRequest(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: int
    def __init__(self, version: _Optional[int] = ...) -> None: ...

class GetConfigResponse(_message.Message):
    __slots__ = ("meta", "yaml")
    META_FIELD_NUMBER: _ClassVar[int]
    YAML_FIELD_NUMBER: _ClassVar[int]
    meta: ConfigVersion
    yaml: str
    def __init__(self, meta: _Optional[_Union[ConfigVersion, _Mapping]] = ..., yaml: _Optional[str] = ...) -> None: ...

class ListVersionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListVersionsResponse(_message.Message):
    __slots__ = ("versions", "running_version", "next_page_token")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    RUNNING_VERSION_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[ConfigVersion]
    running_version: int
    next_page_token: str
    def __init__(self, versions: _Optional[_Iterable[_Union[ConfigVersion, _Mapping]]] = ..., running_version: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RollbackConfigRequest(_message.Message):
    __slots__ = ("version", "message")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    version: int
    message: str
    def __init__(self, version: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class RollbackConfigResponse(_message.Message):
    __slots__ = ("version", "diff")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DIFF_FIELD_NUMBER: _ClassVar[int]
    version: int
    diff: str
    def __init__(self, version: _Optional[int] = ..., diff: _Optional[str] = ...) -> None: ...

class CheckPermissionRequest(_message.Message):
    __slots__ = ("user", "tag_path", "value")
    USER_FIELD_NUMBER: _ClassVar[int]
    TAG_PATH_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    user: str
    tag_path: str
    value: float
    def __init__(self, user: _Optional[str] = ..., tag_path: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...

class CheckPermissionResponse(_message.Message):
    __slots__ = ("allowed", "reason", "policy")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    reason: str
    policy: str
    def __init__(self, allowed: _Optional[bool] = ..., reason: _Optional[str] = ..., policy: _Optional[str] = ...) -> None: ...

class ListPluginsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class InstancePlugins(_message.Message):
    __slots__ = ("service", "instance", "plugins")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    PLUGINS_FIELD_NUMBER: _ClassVar[int]
    service: str
    instance: str
    plugins: _containers.RepeatedCompositeFieldContainer[_service_pb2.PluginInfo]
    def __init__(self, service: _Optional[str] = ..., instance: _Optional[str] = ..., plugins: _Optional[_Iterable[_Union[_service_pb2.PluginInfo, _Mapping]]] = ...) -> None: ...

class ListPluginsResponse(_message.Message):
    __slots__ = ("instances", "next_page_token")
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[InstancePlugins]
    next_page_token: str
    def __init__(self, instances: _Optional[_Iterable[_Union[InstancePlugins, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class TokenInfo(_message.Message):
    __slots__ = ("id", "user", "created", "expires", "revoked", "created_by", "revoked_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    REVOKED_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    user: str
    created: _timestamp_pb2.Timestamp
    expires: _timestamp_pb2.Timestamp
    revoked: _timestamp_pb2.Timestamp
    created_by: str
    revoked_by: str
    def __init__(self, id: _Optional[str] = ..., user: _Optional[str] = ..., created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ..., revoked_by: _Optional[str] = ...) -> None: ...

class CreateTokenRequest(_message.Message):
    __slots__ = ("user", "expires_seconds")
    USER_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_SECONDS_FIELD_NUMBER: _ClassVar[int]
    user: str
    expires_seconds: float
    def __init__(self, user: _Optional[str] = ..., expires_seconds: _Optional[float] = ...) -> None: ...

class CreateTokenResponse(_message.Message):
    __slots__ = ("token", "info")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    token: str
    info: TokenInfo
    def __init__(self, token: _Optional[str] = ..., info: _Optional[_Union[TokenInfo, _Mapping]] = ...) -> None: ...

class RevokeTokenRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RevokeTokenResponse(_message.Message):
    __slots__ = ("info",)
    INFO_FIELD_NUMBER: _ClassVar[int]
    info: TokenInfo
    def __init__(self, info: _Optional[_Union[TokenInfo, _Mapping]] = ...) -> None: ...

class ListTokensRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTokensResponse(_message.Message):
    __slots__ = ("tokens", "next_page_token")
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[TokenInfo]
    next_page_token: str
    def __init__(self, tokens: _Optional[_Iterable[_Union[TokenInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
