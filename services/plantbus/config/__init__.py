"""The plant configuration model: the one source of truth governance versions and serves."""

from plantbus.config.model import PlantConfig

__all__ = ["PlantConfig"]
