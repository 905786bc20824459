"""Example line-based TCP protocol."""
