"""describe(): an exception in words, for messages that name what failed."""

from __future__ import annotations

import errno
import socket
import ssl

from plantbus.sdk.errors import describe


def test_os_errors_in_their_own_words() -> None:
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed ('127.0.0.1', 1)")
    assert describe(refused) == "connection refused"
    assert describe(OSError(errno.ENOSPC, "No space left on device")) == "no space left on device"


def test_tls_and_name_errors_keep_their_message() -> None:
    tls = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify")
    assert "CERTIFICATE_VERIFY_FAILED" in describe(tls)
    assert "not known" in describe(socket.gaierror(-2, "Name or service not known"))


def test_an_error_without_text_is_named_by_its_type() -> None:
    assert describe(TimeoutError()) == "TimeoutError"
    assert describe(ValueError("bad")) == "bad"
