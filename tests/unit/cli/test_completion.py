"""Shell completion as docs/cli.md sets it up: click's completion of the plantbus command."""

from __future__ import annotations

import os
import subprocess
import sys

PLANTBUS = "import sys; sys.argv[0] = 'plantbus'; from plantbus.cli.main import main; main()"


def complete(words: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PLANTBUS],
        env={
            **os.environ,
            "_PLANTBUS_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [line.split(",", 1)[1] for line in result.stdout.splitlines()]


def test_bash_completes_commands_and_subcommands() -> None:
    assert complete("plantbus ala") == ["alarms"]
    assert "metrics" in complete("plantbus alarms ")
    assert "--json" in complete("plantbus erp status --")
