"""The backtest: exports and ground truth round-trip through files, lead times and false
warnings are scored as documented, and the CLI prints the table."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from plantbus.cli.maintenance import maintenance
from plantbus.maintenance.backtest import Failure, _score, read_export, read_truth
from plantbus.sim.history import simulate, write_export, write_truth

ROOT = Path(__file__).resolve().parents[3]


def test_leads_count_from_the_last_replacement_and_healthy_alarms_are_false() -> None:
    day = 86400.0
    failures = [
        Failure("m2", "spindle", 4 * day, 4.5 * day),
        Failure("m2", "spindle", 8 * day, 9 * day),
    ]
    alarms = {
        "m2": [1 * day, 3 * day, 7.5 * day],  # the second cycle is warned 12 h ahead
        "m1": [2 * day],
    }
    row = _score("x", alarms, failures, ["m1", "m2", "m3"], (0.0, 14 * day))
    assert row.leads_h == [72.0, 12.0] and row.caught == 2
    assert row.false_per_machine_week == 1 / 4  # one alarm in two machines of two weeks
    missed = _score("x", {"m2": [4.2 * day]}, failures, ["m2"], (0.0, 14 * day))
    assert missed.leads_h == [None, None]


def test_a_simulated_export_round_trips(tmp_path: Path) -> None:
    samples, failures, span = simulate(0.05, step_s=10)
    write_export(tmp_path / "export.csv", samples)
    write_truth(tmp_path / "truth.json", failures, span)
    back = read_export(tmp_path / "export.csv")
    assert len(back) == len(samples) and back[0][1] == samples[0][1]
    assert read_truth(tmp_path / "truth.json") == ([], span)


def test_the_cli_prints_the_table(tmp_path: Path) -> None:
    samples, failures, span = simulate(0.2, step_s=10)
    write_export(tmp_path / "export.csv", samples)
    truth = tmp_path / "truth.json"
    write_truth(truth, [*failures], span)
    result = CliRunner().invoke(
        maintenance,
        [
            "backtest",
            str(tmp_path / "export.csv"),
            "--truth",
            str(truth),
            "--no-reference",
            "--maintenance",
            str(ROOT / "examples/backtest-maintenance.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{len(samples):,} samples") and "0 failures" in lines[0]
    assert lines[1] == "| detector | false warnings per machine-week |"
    assert lines[3] == "| forecast warning (Theil-Sen) | 0.00 |"
    usage = CliRunner().invoke(maintenance, ["backtest"])
    assert usage.exit_code == 2 and "give EXPORT and --truth, or --simulate DAYS" in usage.output
