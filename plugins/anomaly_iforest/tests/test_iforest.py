"""The IsolationForest model: silent while training, usual windows score low, a shifted
one high; found by the loader and accepted by the config's cross-check."""

from __future__ import annotations

import random

from plantbus_anomaly_iforest.model import IsolationForestModel, IsolationForestSettings

from plantbus.config import PlantConfig
from plantbus.config.validate import cross_check
from plantbus.plugins import ANOMALY_MODELS, discover
from plantbus.sdk.maintenance import Window


def _window(rng: random.Random, shift: float = 0.0) -> Window:
    level = 2.0 + shift + rng.gauss(0, 0.05)
    spread = 0.1 + rng.gauss(0, 0.01)
    return Window("t", "running", 0, 60, 30, level, level, spread, level + 3 * spread, 0.0)


def test_scores_after_training_and_flags_a_shift() -> None:
    rng = random.Random(1)
    model = IsolationForestModel(IsolationForestSettings(baseline_windows=50))
    assert all(model.score(_window(rng)) is None for _ in range(50))
    usual = [model.score(_window(rng)) for _ in range(50)]
    assert all(s is not None for s in usual)
    typical = sorted(s for s in usual if s is not None)[25]
    assert typical < 2
    shifted = model.score(_window(rng, shift=1.0))
    # an isolation depth saturates: far outliers score about 5, not without bound
    assert shifted is not None and shifted > 4 > typical


def test_the_loader_finds_it_and_the_config_checks_its_settings() -> None:
    assert discover(ANOMALY_MODELS).get("iforest") is IsolationForestModel
    config = PlantConfig.model_validate(
        {
            "sites": [
                {
                    "name": "s",
                    "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m"}]}]}],
                }
            ],
            "devices": [
                {
                    "name": "d",
                    "driver": "memory",
                    "endpoint": "memory://d",
                    "machine": "s/a/l/m",
                    "tags": [
                        {"name": "st", "address": "a", "data_type": "uint16"},
                        {"name": "v", "address": "b", "data_type": "float32"},
                    ],
                }
            ],
            "oee": [
                {
                    "machine": "s/a/l/m",
                    "state_tag": "st",
                    "states": [{"value": 1, "state": "running"}],
                }
            ],
            "maintenance": {
                "monitors": [
                    {"tag": "s/a/l/m/v", "model": "iforest", "model_settings": {"n_estimators": 5}}
                ]
            },
        }
    )
    problems = [(".".join(map(str, loc)), msg) for loc, msg in cross_check(config)]
    assert [loc for loc, _ in problems] == ["maintenance.monitors.0.model_settings.n_estimators"]
