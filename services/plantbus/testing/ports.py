"""Free loopback ports for servers that test fixtures and dev servers start."""

from plantbus.kit.net import free_port

__all__ = ["free_port"]
