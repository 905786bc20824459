"""Secret settings of plugins hold references: a value written in their place is refused
with its file and line and the reference forms, and the refusal never repeats the value."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from plantbus.config.issues import ConfigInvalid
from plantbus.config.loader import load_path

PLANT = """\
sites:
  - name: demo
    areas:
      - name: machining
        lines:
          - name: line1
            machines:
              - name: m1
"""


def erp(password: str) -> str:
    return textwrap.dedent(f"""\
        erp:
          - name: tryton
            connector: tryton
            site: demo
            line: line1
            settings:
              url: http://tryton.plant:8000
              database: mes
              password: {password}
        """)


def notifier(secret: str) -> str:
    return textwrap.dedent(f"""\
        notifiers:
          - name: chat
            plugin: webhook
            settings: {{url: "https://chat.example/hook", secret: {secret}}}
        """)


def issues(tmp_path: Path, **files: str) -> list[str]:
    for name, text in {"plant": PLANT, **files}.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    with pytest.raises(ConfigInvalid) as info:
        load_path(tmp_path)
    return [str(issue) for issue in info.value.issues]


def test_references_of_every_form_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "plant.yaml").write_text(PLANT)
    (tmp_path / "erp.yaml").write_text(erp("secret:tryton/password"))
    (tmp_path / "alerts.yaml").write_text(notifier("env:CHAT_HOOK_SECRET"))
    config = load_path(tmp_path)
    assert config.erp[0].settings["password"] == "secret:tryton/password"
    (tmp_path / "erp.yaml").write_text(erp("file:/run/secrets/tryton-password"))
    assert load_path(tmp_path).erp[0].settings["password"] == "file:/run/secrets/tryton-password"


def test_a_value_in_a_secret_setting_is_refused_at_its_line_without_repeating_it(
    tmp_path: Path,
) -> None:
    (problem,) = issues(tmp_path, erp=erp("Hunter2-Secret"))
    assert problem.startswith(f"{tmp_path / 'erp.yaml'}:9: erp[0].settings.password: "), problem
    assert "a reference to the secret, not its value" in problem
    assert "env:NAME, file:/path/to/file or secret:<secret-name>/<key>" in problem
    assert "Hunter2-Secret" not in problem


def test_an_expanded_variable_is_a_value_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_HOOK_SECRET", "Expanded-Secret-42")
    (problem,) = issues(tmp_path, alerts=notifier('"${CHAT_HOOK_SECRET}"'))
    assert "notifiers[0].settings.secret:" in problem
    assert "write env:VARIABLE instead" in problem
    assert "Expanded-Secret-42" not in problem


def test_a_secret_of_the_wrong_type_is_refused_without_showing_it(tmp_path: Path) -> None:
    (problem,) = issues(tmp_path, alerts=notifier("918273645"))
    assert "notifiers[0].settings.secret: Input should be a valid string" in problem
    assert "a secret setting: write env:NAME" in problem
    assert "918273645" not in problem


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("env:1NOT_A_NAME", "an environment variable name is"),
        ("file:relative/path", "give an absolute path"),
        ("secret:Tryton_Creds/password", "write secret:<secret-name>/<key>"),
        ("secret:tryton", "write secret:<secret-name>/<key>"),
        ("secret:tryton/..", "write secret:<secret-name>/<key>"),
        ("secret:tryton/a/b", "write secret:<secret-name>/<key>"),
    ],
)
def test_a_malformed_reference_says_what_is_wrong(
    tmp_path: Path, reference: str, expected: str
) -> None:
    (problem,) = issues(tmp_path, erp=erp(reference))
    assert "erp[0].settings.password:" in problem and expected in problem, problem


def test_a_missing_setting_does_not_show_the_settings_around_it(tmp_path: Path) -> None:
    text = erp("secret:tryton/password").replace("      database: mes\n", "")
    (problem,) = issues(tmp_path, erp=text)
    assert problem.endswith("erp[0].settings.database: Field required"), problem


def test_the_plugins_own_check_of_a_secret_waits_for_the_value(tmp_path: Path) -> None:
    """The webhook refuses a secret that is not ``whsec_...``; a reference is not refused
    for that here: the alerting service checks the value it resolves."""
    (tmp_path / "plant.yaml").write_text(PLANT)
    (tmp_path / "alerts.yaml").write_text(notifier("secret:chat/hook-secret"))
    assert load_path(tmp_path).notifiers[0].settings["secret"] == "secret:chat/hook-secret"
