"""A generated plant config of any size, as YAML sources (for the config-scale tests and
bench/config_scale.py): ``devices`` memory devices of ``tags`` tags each, one machine each."""

from __future__ import annotations

from plantbus.config.loader import Source

__all__ = ["big_plant", "tag_line"]


def tag_line(device: int, tag: int, scale: float = 1.0) -> str:
    """The YAML of one generated tag (``scale`` the field a test changes)."""
    return (
        f"      - {{name: t{tag}, address: d{device}t{tag}, data_type: float64,"
        f" unit: degC, scale: {scale}}}\n"
    )


def big_plant(devices: int, tags: int, poll_interval_s: float = 3600.0) -> list[Source]:
    """plant.yaml (one site, a line per 100 machines) and devices.yaml."""
    lines = (devices + 99) // 100
    plant = ["sites:\n  - name: s\n    areas:\n      - name: a\n        lines:\n"]
    for ln in range(lines):
        plant.append(f"          - name: l{ln}\n            machines:\n")
        for m in range(ln * 100, min(devices, (ln + 1) * 100)):
            plant.append(f"              - name: m{m}\n")
    out = ["devices:\n"]
    for d in range(devices):
        out.append(
            f"  - name: dev{d}\n    driver: memory\n    endpoint: memory://dev{d}\n"
            f"    machine: s/a/l{d // 100}/m{d}\n    poll_interval_s: {poll_interval_s}\n"
            "    tags:\n"
        )
        out.extend(tag_line(d, t) for t in range(tags))
    return [Source("plant.yaml", "".join(plant)), Source("devices.yaml", "".join(out))]
