"""The historian: every sample, KPI, alarm and stop kept and queryable (docs/historian.md)."""
