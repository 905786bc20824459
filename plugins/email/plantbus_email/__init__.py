"""E-mail notifier for Plantbus alarms."""
