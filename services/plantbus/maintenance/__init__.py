"""Condition monitoring and predictive maintenance (docs/maintenance.md)."""
