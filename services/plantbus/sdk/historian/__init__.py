"""The historian store interface (entry-point group ``plantbus.historian_stores``).

A store keeps what the historian service hands it: raw samples, the minute and hour
rollups it maintains from them, events, and the stream positions those rows came from.
The service owns consuming, batching, retention times and query planning; a store owns
durable, atomic writes and fast reads. docs/historian.md walks through writing one, and
:mod:`plantbus.testing.historian_kit` is the conformance suite every store must pass.

Times are int64 microseconds since the Unix epoch (UTC) throughout. The aggregate
semantics are defined here once, as pure functions (:func:`summarize`, :func:`combine`),
and a store's results must equal theirs:

- a bucket covers ``[start, start + width)``; buckets align on ``start`` (rollups on
  the epoch: every minute and every hour);
- ``samples`` counts samples, bad ones included; ``good`` those of good quality;
  ``valued`` those with a numeric value; min, max, sum over the numeric values;
- time weighting: a value holds until the tag's next sample (whatever its quality), at
  most to the end of its bucket; a sample without a value holds nothing. ``area`` is the
  integral of value over held time, ``covered_us`` the held time;
- ``first``/``last`` are the values of the bucket's first and last sample (None when
  that sample had no value).
"""

from plantbus.sdk.historian import aggregates, rows, store
from plantbus.sdk.historian.aggregates import *  # noqa: F403 - the package is the API
from plantbus.sdk.historian.rows import *  # noqa: F403
from plantbus.sdk.historian.store import *  # noqa: F403

__all__ = rows.__all__ + store.__all__ + aggregates.__all__
