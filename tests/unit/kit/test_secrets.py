"""Secret references resolve where a plugin is built, and only there: every form, and
errors that name the reference and what is missing but never a value."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from plantbus_tryton.connector import TrytonConnector, TrytonSettings
from plantbus_webhook.notifier import WebhookNotifier, WebhookSettings
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
    name: str = ""


def test_replace_secrets_reaches_every_secret_and_leaves_the_rest() -> None:
    raw = {
        "password": "env:A",
        "name": "env:not-a-secret",
        "inner": [{"token": "env:B"}, {"token": "env:A", "label": "env:C"}],
    }
    out = replace_secrets(_Outer, raw, lambda ref: ref.upper())
    assert out == {
        "password": "ENV:A",
        "name": "env:not-a-secret",
        "inner": [{"token": "ENV:B"}, {"token": "ENV:A", "label": "env:C"}],
    }
    assert raw["password"] == "env:A"


def test_the_plugins_own_checks_apply_to_the_resolved_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = "whsec_" + base64.b64encode(b"k" * 32).decode()
    monkeypatch.setenv("HOOK_SECRET", good)
    raw = {"url": "https://chat.example/hook", "secret": "env:HOOK_SECRET"}
    settings = plugin_settings(WebhookNotifier, raw)
    assert isinstance(settings, WebhookSettings)
    assert settings.secret.get_secret_value() == good
    monkeypatch.setenv("HOOK_SECRET", "Not-A-Standard-Secret-77")
    with pytest.raises(ConfigError) as refused:
        plugin_settings(WebhookNotifier, raw)
    assert "webhook settings refused: secret: Value error, must be 'whsec_'" in str(refused.value)
    assert "Not-A-Standard-Secret-77" not in str(refused.value)


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
