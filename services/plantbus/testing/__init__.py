"""Test helpers for Plantbus and its plugins: a real nats-server fixture and the driver kit.

Installed as a pytest plugin (entry point ``pytest11``), so vendors get the fixtures too.
"""
