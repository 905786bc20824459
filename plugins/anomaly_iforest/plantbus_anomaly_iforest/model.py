"""IsolationForest on the window indicators, scored on the robust z-score's scale.

Training: the first ``baseline_windows`` windows (mean, RMS, std, peak). Scoring: the
forest's anomaly score ``a = -score_samples(x)`` (higher is more anomalous), as a robust
z-score against the training windows' own scores: ``(a - median) / (1.4826 MAD)``, at
least 0, on the scale of the built-in model. An isolation depth saturates: a window far
outside the training set scores about 5, so a threshold of 4 suits this model.
"""

from __future__ import annotations

import statistics
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sklearn.ensemble import IsolationForest  # type: ignore[import-untyped]

from plantbus.sdk import API_VERSION
from plantbus.sdk.maintenance import AnomalyModel, Window
from plantbus.sdk.plugin import PluginManifest

__all__ = ["IsolationForestModel", "IsolationForestSettings"]


class IsolationForestSettings(BaseModel):
    """The forest's size and its training set."""

    model_config = ConfigDict(extra="forbid")
    baseline_windows: int = Field(default=200, ge=20)
    n_estimators: int = Field(default=100, ge=10, le=1000)
    seed: int = 0


def _features(w: Window) -> list[float]:
    return [w.mean, w.rms, w.std, w.peak]


class IsolationForestModel(AnomalyModel[IsolationForestSettings]):
    """One forest per tag and machine state."""

    manifest: ClassVar[PluginManifest] = PluginManifest(
        "iforest", "0.1.0", API_VERSION, "scikit-learn IsolationForest on window indicators"
    )
    Settings: ClassVar[type[BaseModel]] = IsolationForestSettings

    def __init__(self, settings: IsolationForestSettings) -> None:
        super().__init__(settings)
        self.train: list[list[float]] = []
        self.forest: Any = None
        self.centre = (0.0, 1.0)

    def score(self, window: Window) -> float | None:
        """None while training; then the robust z-score of the forest's anomaly score."""
        if self.forest is None:
            self.train.append(_features(window))
            if len(self.train) >= self.settings.baseline_windows:
                self._fit()
            return None
        anomaly = -float(self.forest.score_samples([_features(window)])[0])
        median, scale = self.centre
        return max(0.0, (anomaly - median) / scale)

    def _fit(self) -> None:
        self.forest = IsolationForest(
            n_estimators=self.settings.n_estimators, random_state=self.settings.seed
        ).fit(self.train)
        scores = [-float(s) for s in self.forest.score_samples(self.train)]
        median = statistics.median(scores)
        mad = statistics.median(abs(s - median) for s in scores)
        self.centre = (median, max(1.4826 * mad, 1e-9))
        self.train = []
