"""A failed fault test shows the logs it needs: every replica's (killed ones included) and
every nats-server's log tail, in the output CI keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantbus.testing.replicas import replicas

pytest_plugins = ("pytester",)


def test_a_failed_body_prints_each_replica_log_tail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ra", "rb"):  # rb stands for a replica SIGKILLed earlier: no longer running
        (tmp_path / name).mkdir()
        lines = [f"{name} line {i}" for i in range(100)]
        (tmp_path / name / "oee.log").write_text("\n".join(lines) + "\n")
    with pytest.raises(AssertionError), replicas("oee", "nats://127.0.0.1:1", tmp_path):
        raise AssertionError("final count not equal")
    out = capsys.readouterr().out
    for name in ("ra", "rb"):
        assert f"oee replica {name}: {tmp_path / name / 'oee.log'}" in out
        assert f"{name} line 99" in out
        assert f"{name} line 59" not in out  # a tail, not the whole log


def test_a_passing_body_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ra").mkdir()
    (tmp_path / "ra" / "oee.log").write_text("started\n")
    with replicas("oee", "nats://127.0.0.1:1", tmp_path):
        pass
    assert "started" not in capsys.readouterr().out


@pytest.mark.slow
def test_a_failed_cluster_test_reports_each_nats_server_log_tail(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def test_fails(nats_cluster):
            assert False

        def test_passes(nats_cluster):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert out.count("nats-server log tails") == 1
    for n in (1, 2, 3):
        assert f"----- plantbus-{n}: " in out
    assert "Server is ready" in out
