"""IsolationForest as a Plantbus anomaly model."""
