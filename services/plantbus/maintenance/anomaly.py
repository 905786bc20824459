"""The built-in anomaly model: a robust baseline per tag and machine state (pure).

The baseline is the first ``baseline_windows`` windows after a start or a recorded
maintenance; it then stays fixed, so a slow drift (a wearing bearing) shows as a growing
score instead of being learned as normal. For each indicator ``i`` of a window the
residual is its distance from the baseline's median, scaled by the baseline's median
absolute deviation (MAD; 1.4826 MAD estimates the standard deviation of normal data):

    z_i = |x_i - median_i| / max(1.4826 MAD_i, floor_i),   score = max over mean, rms, std, peak

``floor_i`` = 1e-3 |median_i| + 1e-9 keeps a constant signal from dividing by zero. Scores
are published once ``learn_windows`` windows are in (before that: None, still learning).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from pydantic import BaseModel, ConfigDict, Field

from plantbus.sdk import API_VERSION
from plantbus.sdk.maintenance import AnomalyModel, Window
from plantbus.sdk.plugin import PluginManifest

__all__ = ["SCORED", "RobustBaseline", "RobustSettings"]

SCORED: Final = ("mean", "rms", "std", "peak")
_K: Final = 1.4826


class RobustSettings(BaseModel):
    """Sizes of the baseline (set from the monitor's fields)."""

    model_config = ConfigDict(extra="forbid")

    baseline_windows: int = Field(default=200, ge=10)
    learn_windows: int = Field(default=30, ge=5)


class RobustBaseline(AnomalyModel[RobustSettings]):
    """Median/MAD of the residuals of each indicator over a fixed baseline."""

    manifest: ClassVar[PluginManifest] = PluginManifest(
        "robust", "1.0", API_VERSION, "Median/MAD robust z-score over a fixed baseline"
    )
    Settings: ClassVar[type[BaseModel]] = RobustSettings

    def __init__(self, settings: RobustSettings) -> None:
        super().__init__(settings)
        self.values: dict[str, list[float]] = {name: [] for name in SCORED}
        self._centre: dict[str, tuple[float, float]] = {}

    @property
    def learned(self) -> int:
        """Windows in the baseline."""
        return len(self.values["mean"])

    def score(self, window: Window) -> float | None:
        """The robust z-score of ``window``; the window joins the baseline while it is
        not full."""
        n = self.learned
        result = self._score(window) if n >= self.settings.learn_windows else None
        if n < self.settings.baseline_windows:
            for name in SCORED:
                self.values[name].append(window.indicator(name))
            self._centre.clear()
        return result

    def _score(self, window: Window) -> float:
        if not self._centre:
            for name in SCORED:
                values = self.values[name]
                median = statistics.median(values)
                mad = statistics.median(abs(v - median) for v in values)
                self._centre[name] = (median, max(_K * mad, 1e-3 * abs(median) + 1e-9))
        return max(
            abs(window.indicator(name) - median) / scale
            for name, (median, scale) in self._centre.items()
        )

    def state(self) -> Mapping[str, Any]:
        """The baseline's values per indicator."""
        return {"values": self.values}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take back a saved baseline (values of unknown indicators are ignored)."""
        saved = state.get("values", {})
        limit = self.settings.baseline_windows
        self.values = {name: [float(v) for v in saved.get(name, [])][:limit] for name in SCORED}
        if len({len(v) for v in self.values.values()}) != 1:
            self.values = {name: [] for name in SCORED}
        self._centre.clear()
