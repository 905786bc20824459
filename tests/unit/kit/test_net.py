"""Free ports are drawn below the ephemeral range, which outgoing connections take their
local ports from, so a client cannot take one between its choice and its bind."""

from __future__ import annotations

import random
import socket
from pathlib import Path

import pytest

from plantbus.kit import net


def test_a_free_port_is_below_the_ephemeral_range_and_can_be_listened_on() -> None:
    below = net._ephemeral_start()
    ports = {net.free_port() for _ in range(20)}
    assert all(20_000 <= p < below for p in ports), ports
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports.pop()))
        sock.listen()


def test_a_port_in_use_is_never_given(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        monkeypatch.setattr(random, "randrange", lambda a, b: taken)
        port = net.free_port()  # every draw is the busy port: the OS picks one
    assert port != taken


def test_without_room_below_the_range_the_os_picks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wide = tmp_path / "range"
    wide.write_text("1024\t65535\n")
    monkeypatch.setattr(net, "_RANGE", wide)
    assert net._ephemeral_start() == 1024
    assert net.free_port() >= 1024
