"""Modbus TCP and RTU-over-TCP driver for Plantbus."""
