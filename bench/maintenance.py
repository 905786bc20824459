"""Maintenance: samples per second through the condition indicators and anomaly scores.

Two figures, both one core, pure Python:

- ``maintenance_indicators_samples_per_s``: window accumulators alone (mean, RMS, std,
  peak, slope per one-minute window), 100 tags sampled at 10 Hz;
- ``maintenance_engine_samples_per_s``: the whole engine per sample (state lookup,
  windows, the robust score of every closed window, a Theil-Sen forecast per window of
  the tags with a condition plan), the same tags, a quarter of them with a plan.

- ``maintenance_forecast_ms``: one Theil-Sen forecast over a full day of one-minute
  windows (1,440 points, reduced to 120 medians), what each closed window of a tag with a
  condition plan costs.

Prints JSON with the three.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from plantbus.config import PlantConfig
from plantbus.config.maintenance import Monitor
from plantbus.maintenance.anomaly import RobustBaseline, RobustSettings
from plantbus.maintenance.engine import Engine
from plantbus.maintenance.forecast import forecast
from plantbus.maintenance.indicators import WindowAccumulator

TAGS = 100
RATE_HZ = 10
SECONDS = 1200  # 20 minutes of plant time: 1.2 million samples
T0 = 1_800_000_000.0


def _samples() -> list[tuple[str, float, float]]:
    rng = random.Random(1)
    paths = [f"s/a/l/m{i % 10}/vib{i // 10}" for i in range(TAGS)]
    return [
        (path, T0 + k / RATE_HZ, 4.0 + rng.gauss(0, 0.2))
        for k in range(SECONDS * RATE_HZ)
        for path in paths
    ]


def _config() -> PlantConfig:
    machines = [{"name": f"m{i}"} for i in range(10)]
    tags = [{"name": f"vib{j}", "address": "x", "data_type": "float32"} for j in range(10)]
    tags.append({"name": "state", "address": "s", "data_type": "uint16"})
    doc: dict[str, Any] = {
        "sites": [
            {"name": "s", "areas": [{"name": "a", "lines": [{"name": "l", "machines": machines}]}]}
        ],
        "devices": [
            {
                "name": f"d{i}",
                "driver": "memory",
                "endpoint": "memory://x",
                "machine": f"s/a/l/m{i}",
                "tags": tags,
            }
            for i in range(10)
        ],
        "oee": [
            {
                "machine": f"s/a/l/m{i}",
                "state_tag": "state",
                "states": [{"value": 1, "state": "running"}],
            }
            for i in range(10)
        ],
        "maintenance": {
            "monitors": [
                {"tag": f"s/a/l/m{i % 10}/vib{i // 10}", "learn_windows": 5, "baseline_windows": 10}
                for i in range(TAGS)
            ],
            "plans": [
                {
                    "name": f"p{i}",
                    "machine": f"s/a/l/m{i % 10}",
                    "by": "condition",
                    "tag": f"vib{i // 10}",
                    "limit": 8,
                }
                for i in range(0, TAGS, 4)
            ],
        },
    }
    return PlantConfig.model_validate(doc)


def _model(mon: Monitor) -> RobustBaseline:
    return RobustBaseline(
        RobustSettings(baseline_windows=mon.baseline_windows, learn_windows=mon.learn_windows)
    )


def indicators(samples: list[tuple[str, float, float]]) -> float:
    windows = {p: WindowAccumulator(p, 60, ["running"]) for p, _, _ in samples[:TAGS]}
    started = time.perf_counter()
    for path, t, x in samples:
        windows[path].add(t, x, "running")
    return len(samples) / (time.perf_counter() - started)


def engine(samples: list[tuple[str, float, float]]) -> float:
    eng = Engine(_model)
    eng.configure(_config(), T0)
    for i in range(10):
        eng.sample(f"s/a/l/m{i}/state", T0, 1)
    started = time.perf_counter()
    windows = 0
    for path, t, x in samples:
        for event in eng.sample(path, t, x):
            windows += event.kind == "window"
    elapsed = time.perf_counter() - started
    assert windows >= TAGS * (SECONDS // 60 - 1), windows
    return len(samples) / elapsed


def forecast_ms() -> float:
    rng = random.Random(2)
    times = [i / 60 for i in range(1440)]
    values = [4 + 0.01 * t + rng.gauss(0, 0.2) for t in times]
    runs = 20
    started = time.perf_counter()
    for _ in range(runs):
        forecast(times, values, 8.0)
    return (time.perf_counter() - started) / runs * 1000


def main() -> None:
    samples = _samples()
    figures = {
        "maintenance_indicators_samples_per_s": round(indicators(samples)),
        "maintenance_engine_samples_per_s": round(engine(samples)),
        "maintenance_forecast_ms": round(forecast_ms(), 2),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
