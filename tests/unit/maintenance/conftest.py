"""A small plant with one monitored machine, as YAML sources with file names."""

from __future__ import annotations

from plantbus.config import PlantConfig
from plantbus.config.loader import Source, load_sources

PLANT = """\
sites:
  - name: s
    areas:
      - name: a
        lines:
          - name: l
            machines:
              - name: m1
              - name: m2
devices:
  - name: plc
    driver: memory
    endpoint: memory://plc
    machine: s/a/l/m2
    poll_interval_s: 0.5
    tags:
      - {name: state, address: st, data_type: uint16}
      - {name: parts, address: p, data_type: uint16}
      - {name: vibration, address: v, data_type: float32}
oee:
  - machine: s/a/l/m2
    state_tag: state
    states:
      - {value: 1, state: running}
      - {value: 3, state: stopped}
"""

MAINTENANCE = """\
maintenance:
  components:
    - {machine: s/a/l/m2, name: spindle, cycles_tag: parts}
  monitors:
    - {tag: s/a/l/m2/vibration, window_s: 60, learn_windows: 10, baseline_windows: 20}
  plans:
    - {name: spindle-hours, machine: s/a/l/m2, component: spindle, by: running_hours,
       due: 2, warning: 0.5}
    - {name: bearing, machine: s/a/l/m2, component: spindle, by: condition,
       tag: vibration, indicator: rms, limit: 8, warning: 24, forecast_window_h: 12}
"""


def plant(maintenance: str = MAINTENANCE) -> PlantConfig:
    """The plant with ``maintenance`` as its own file."""
    return load_sources([Source("plant.yaml", PLANT), Source("maintenance.yaml", maintenance)])
