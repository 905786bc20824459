"""`plantbus maintenance backtest EXPORT --truth FILE` on what the simulator writes: the
export and the ground truth round-trip through their files."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from plantbus.cli.maintenance import maintenance
from plantbus.kit.truth import read_truth
from plantbus.sim.history import simulate, write_export, write_truth


def test_a_simulated_export_and_its_truth_are_backtested_from_their_files(
    tmp_path: Path,
) -> None:
    samples, failures, span = simulate(5, step_s=10.0)
    export, truth = tmp_path / "export.csv", tmp_path / "truth.json"
    write_export(export, samples)
    write_truth(truth, failures, span)
    back, back_span = read_truth(truth)
    assert [(f.machine, f.component) for f in back] == [(f.machine, f.component) for f in failures]
    assert [round(f.time) for f in back] == [round(f.time) for f in failures]
    assert (round(back_span[0]), round(back_span[1])) == (round(span[0]), round(span[1]))

    result = CliRunner().invoke(
        maintenance, ["backtest", str(export), "--truth", str(truth), "--no-reference"]
    )
    assert result.exit_code == 0, result.output
    assert f"{len(failures)} failures" in result.output
    assert "| forecast warning (Theil-Sen) |" in result.output
