"""The maintenance service's pure core: samples in, counters, windows, scores, forecasts
and plan changes out.

Feed it every telemetry sample (:meth:`Engine.sample`, in arrival order; the replay of
history after a restart goes through the same call) and the time now and then
(:meth:`Engine.tick`, for the plans that move with time alone). What it returns is what
the service publishes; it holds no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from plantbus.config import PlantConfig
from plantbus.config.maintenance import Monitor, Plan
from plantbus.maintenance.forecast import Forecast, forecast
from plantbus.maintenance.indicators import WindowAccumulator
from plantbus.maintenance.plans import PlanStatus, status
from plantbus.maintenance.usage import Usage
from plantbus.sdk.maintenance import AnomalyModel, Window

__all__ = ["MACHINE", "Engine", "Event", "ModelFactory"]

MACHINE = "machine"
"""The component every machine has: the machine as a whole."""

Kind = Literal["window", "anomaly", "forecast", "warning", "due", "ok", "done"]
ModelFactory = Callable[[Monitor], AnomalyModel[Any]]


@dataclass(frozen=True)
class Event:
    """Something to publish on the machine's maintenance subject."""

    kind: Kind
    machine: str
    time: float
    message: str = ""
    component: str = ""
    plan: str = ""
    window: Window | None = None
    score: float | None = None
    threshold: float = 0.0
    forecast: Forecast | None = None
    status: PlanStatus | None = None
    usage: dict[str, float] = field(default_factory=dict)


def _code(value: object) -> str:
    """One spelling per state-tag value: 3, 3.0 and "3" are the same code."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class _Monitored:
    monitor: Monitor
    machine: str
    windows: WindowAccumulator
    models: dict[str, AnomalyModel[Any]] = field(default_factory=dict)
    anomalous: bool = False


@dataclass
class _Trend:
    plan: Plan
    points: deque[tuple[float, float]] = field(default_factory=deque)
    last: Forecast | None = None


class Engine:
    """Counters, monitors and plans of one plant config."""

    def __init__(self, models: ModelFactory) -> None:
        self.models = models
        self.usage: dict[tuple[str, str], Usage] = {}
        self.state_codes: dict[str, dict[str, str]] = {}
        self.counters: dict[str, list[tuple[str, int]]] = {}
        self.states: dict[str, str] = {}
        self.monitored: dict[str, _Monitored] = {}
        self.plans: dict[str, Plan] = {}
        self.trends: dict[str, _Trend] = {}
        self.levels: dict[str, tuple[int, str]] = {}
        """Plan -> (epoch, level) last reported."""
        self._components: dict[str, list[str]] = {}
        """Machine -> its counted components (keys of ``usage``)."""
        self._monitors: dict[str, list[_Monitored]] = {}
        """Machine -> its monitored tags: a state sample visits its machine's alone."""

    def configure(self, config: PlantConfig, now: float) -> None:
        """Take a config version; counters, baselines and trends of what stays are kept."""
        section = config.maintenance
        self.state_codes = {
            f"{m.machine}/{m.state_tag}": {_code(s.value): s.state for s in m.states}
            for m in config.oee
        }
        wanted = {(m, MACHINE) for m in config.machine_paths()}
        wanted |= {(c.machine, c.name) for c in section.components}
        self.usage = {k: self.usage.get(k) or Usage(since=now) for k in sorted(wanted)}
        self._components = {}
        for machine, component in self.usage:
            self._components.setdefault(machine, []).append(component)
        self.counters = {}
        for comp in section.components:
            if comp.cycles_tag:
                path = f"{comp.machine}/{comp.cycles_tag}"
                self.counters.setdefault(path, []).append((comp.name, comp.counter_modulus))
        old = self.monitored
        self.monitored = {}
        for mon in section.monitors:
            kept = old.get(mon.tag)
            if kept is not None and kept.monitor == mon:
                self.monitored[mon.tag] = kept
                continue
            acc = WindowAccumulator(mon.tag, mon.window_s, mon.states, mon.min_samples)
            self.monitored[mon.tag] = _Monitored(mon, mon.tag.rsplit("/", 1)[0], acc)
        self._monitors = {}
        for watched in self.monitored.values():
            self._monitors.setdefault(watched.machine, []).append(watched)
        self.plans = {p.name: p for p in section.plans}
        self.trends = {
            p.name: self.trends[p.name]
            if p.name in self.trends and self.trends[p.name].plan == p
            else _Trend(p)
            for p in section.plans
            if p.by == "condition"
        }

    def wanted(self) -> set[str]:
        """Every path whose samples :meth:`wants`."""
        return {*self.state_codes, *self.counters, *self.monitored}

    def wants(self, path: str) -> bool:
        """Whether a sample of ``path`` can change anything: a state, counter or monitored
        tag (at plant scale most tags are none, and need not be converted)."""
        return path in self.state_codes or path in self.counters or path in self.monitored

    def sample(self, path: str, t: float, value: object, *, replay: bool = False) -> list[Event]:
        """One good sample of ``path`` with source time ``t`` (Unix seconds). ``replay``:
        history after a restart, whose usage the restored counters already hold."""
        out: list[Event] = []
        codes = self.state_codes.get(path)
        if codes is not None:
            state = codes.get(_code(value))
            if state is not None:
                out += self._state(path.rsplit("/", 1)[0], state, t, replay)
        for name, modulus in () if replay else self.counters.get(path, ()):
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.usage[(path.rsplit("/", 1)[0], name)].observe_counter(int(value), modulus)
        mon = self.monitored.get(path)
        if mon is not None and isinstance(value, int | float):
            state = self.states.get(mon.machine, "")
            window = mon.windows.add(t, float(value), state)
            if window is not None:
                out += self._window(mon, window)
        return out

    def _state(self, machine: str, state: str, t: float, replay: bool) -> list[Event]:
        self.states[machine] = state
        for component in () if replay else self._components.get(machine, ()):
            self.usage[(machine, component)].observe_state(state, t)
        out = []
        for mon in self._monitors.get(machine, ()):
            if state not in mon.monitor.states:
                window = mon.windows.close()
                if window is not None:
                    out += self._window(mon, window)
        return out

    def _model(self, mon: _Monitored, state: str) -> AnomalyModel[Any]:
        model = mon.models.get(state)
        if model is None:
            model = mon.models[state] = self.models(mon.monitor)
        return model

    def _window(self, mon: _Monitored, window: Window) -> list[Event]:
        score = self._model(mon, window.state).score(window)
        threshold = mon.monitor.anomaly_threshold
        out = [
            Event(
                "window", mon.machine, window.end, window=window, score=score, threshold=threshold
            )
        ]
        anomalous = score is not None and score >= threshold
        if anomalous and not mon.anomalous:
            out.append(
                Event(
                    "anomaly",
                    mon.machine,
                    window.end,
                    window=window,
                    score=score,
                    threshold=threshold,
                    message=f"{window.tag}: anomaly score {score:.1f} (threshold {threshold:g}) "
                    f"while {window.state}",
                )
            )
        mon.anomalous = anomalous
        for trend in self.trends.values():
            plan = trend.plan
            if f"{plan.machine}/{plan.tag}" == window.tag:
                out += self._trend(trend, window)
        return out

    def _trend(self, trend: _Trend, window: Window) -> list[Event]:
        plan = trend.plan
        t_h = window.end / 3600.0
        trend.points.append((t_h, window.indicator(plan.indicator)))
        while trend.points and trend.points[0][0] < t_h - plan.forecast_window_h:
            trend.points.popleft()
        times, values = zip(*trend.points, strict=True)
        assert plan.limit is not None
        trend.last = forecast(
            times, values, plan.limit, falling=plan.falling, confidence=plan.confidence
        )
        if trend.last is None:
            return []
        now = window.end
        st = status(plan, self._usage(plan), now, trend.last)
        out = [
            Event(
                "forecast",
                plan.machine,
                now,
                st.message,
                plan.component,
                plan.name,
                forecast=trend.last,
                status=st,
            )
        ]
        return out + self._level(plan, st, now)

    def _usage(self, plan: Plan) -> Usage:
        return self.usage[(plan.machine, plan.component)]

    def _level(self, plan: Plan, st: PlanStatus, now: float) -> list[Event]:
        """An event when a plan's level changes (within one epoch: after a recorded
        maintenance the plan starts again from ok)."""
        before = self.levels.get(plan.name)
        if st.level == "unknown" or before == (st.epoch, st.level):
            return []
        self.levels[plan.name] = (st.epoch, st.level)
        if st.level == "ok" and (before is None or before[0] != st.epoch):
            return []  # a first look or a recorded maintenance: nothing to announce
        usage = self._usage(plan).figures(now)
        return [
            Event(
                st.level,
                plan.machine,
                now,
                st.message,
                plan.component,
                plan.name,
                status=st,
                forecast=self.trends[plan.name].last if plan.name in self.trends else None,
                usage=usage,
            )
        ]

    def tick(self, now: float) -> list[Event]:
        """Usage plans at ``now`` (running hours and calendar days move without samples)."""
        out: list[Event] = []
        for plan in self.plans.values():
            if plan.by != "condition":
                out += self._level(plan, status(plan, self._usage(plan), now), now)
        return out

    def statuses(self, now: float) -> list[PlanStatus]:
        """Every plan's status at ``now``."""
        return [
            status(
                p, self._usage(p), now, self.trends[p.name].last if p.name in self.trends else None
            )
            for p in self.plans.values()
        ]

    def done(self, machine: str, component: str, now: float, note: str, by: str) -> Event:
        """Maintenance recorded: the component's counters restart, and so do the baselines
        and trends of its condition plans (of every monitor of the machine for
        ``machine``)."""
        usage = self.usage[(machine, component)]
        figures = usage.figures(now)
        usage.reset(now, note, by)
        tags = {
            f"{p.machine}/{p.tag}"
            for p in self.plans.values()
            if p.machine == machine and p.component == component and p.tag
        }
        for mon in self.monitored.values():
            if mon.machine == machine and (component == MACHINE or mon.monitor.tag in tags):
                mon.models.clear()
                mon.anomalous = False
        for trend in self.trends.values():
            if trend.plan.machine == machine and (component in (MACHINE, trend.plan.component)):
                trend.points.clear()
                trend.last = None
        return Event("done", machine, now, note, component, usage=figures)

    def components(self) -> Iterable[tuple[str, str]]:
        """Every (machine, component) counted."""
        return self.usage.keys()
