"""Maintenance requests as signed webhooks."""
