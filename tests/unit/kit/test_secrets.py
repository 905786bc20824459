"""Secret references resolve where a plugin is built, and only there: every form, and
errors that name the reference and what is missing but never a value."""

from __future__ import annotations

from pathlib import Path

import pytest
from plantbus_tryton.connector import TrytonConnector, TrytonSettings
from pydantic import BaseModel, SecretStr

from plantbus.config.secrets import replace_secrets
from plantbus.kit.secrets import plugin_settings, resolve
from plantbus.sdk.errors import ConfigError


def test_env_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYTON_PASSWORD", "from-the-environment")
    assert resolve("env:TRYTON_PASSWORD") == "from-the-environment"
    monkeypatch.delenv("TRYTON_PASSWORD")
    with pytest.raises(ConfigError, match="env:TRYTON_PASSWORD: environment variable TRYTON"):
        resolve("env:TRYTON_PASSWORD")


def test_file_reference_drops_the_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("from-a-file\n")
    assert resolve(f"file:{tmp_path / 'pw'}") == "from-a-file"
    with pytest.raises(ConfigError, match=f"secret file:{tmp_path}/nope: no file {tmp_path}/nope"):
        resolve(f"file:{tmp_path / 'nope'}")


def test_kubernetes_secret_reference_under_the_secrets_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANTBUS_SECRETS_DIR", str(tmp_path))
    (tmp_path / "tryton").mkdir()
    (tmp_path / "tryton" / "password").write_text("from-a-secret")
    assert resolve("secret:tryton/password") == "from-a-secret"
    with pytest.raises(ConfigError) as missing:
        resolve("secret:tryton/token")
    assert "secret secret:tryton/token: no file" in str(missing.value)
    assert "mount Kubernetes Secret 'tryton' with key 'token'" in str(missing.value)


def test_unreadable_or_empty_secrets_are_errors_that_hold_no_value(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        resolve(f"file:{tmp_path / 'empty'}")
    with pytest.raises(ConfigError, match="is a directory"):
        resolve(f"file:{tmp_path}")
    with pytest.raises(ConfigError) as literal:
        resolve("Hunter2-Secret")
    assert "not its value" in str(literal.value) and "Hunter2" not in str(literal.value)


class _Inner(BaseModel):
    token: SecretStr
    label: str = "x"


class _Outer(BaseModel):
    password: SecretStr
    optional: SecretStr | None = None
    inner: list[_Inner] = []


def test_replace_secrets_reaches_every_secret_and_leaves_the_original() -> None:
    original = _Outer.model_validate(
        {"password": "env:A", "inner": [{"token": "env:B"}, {"token": "env:A", "label": "y"}]}
    )
    out = replace_secrets(original, lambda ref: ref.upper())
    assert out.password.get_secret_value() == "ENV:A" and out.optional is None
    assert [(i.token.get_secret_value(), i.label) for i in out.inner] == [
        ("ENV:B", "x"),
        ("ENV:A", "y"),
    ]
    assert original.password.get_secret_value() == "env:A"


def test_a_plugin_receives_its_own_settings_model_with_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRYTON_PASSWORD", "the-real-password")
    raw = {"url": "http://t:8000", "database": "mes", "password": "env:TRYTON_PASSWORD"}
    settings = plugin_settings(TrytonConnector, raw)
    assert isinstance(settings, TrytonSettings)
    assert settings.password.get_secret_value() == "the-real-password"
    assert "the-real-password" not in repr(settings)
    assert raw["password"] == "env:TRYTON_PASSWORD"
