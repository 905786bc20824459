"""Sparkplug B edge node: the hub's devices and tags for Sparkplug hosts over MQTT."""
