"""Webhook notifier for Plantbus alarms."""
