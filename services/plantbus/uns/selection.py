"""Which tags' values a ``uns:`` section publishes, and on which topic, looked up once.

The uns service hears every device cycle (one message per cycle, on its machine's cycle
subject). A section opts in a few subtrees, or none: at plant scale most cycles hold no
tag it publishes, and asking :meth:`~plantbus.config.uns.UnsConfig.selects` of every
sample (a walk over the subtrees) cost the service a quarter of its CPU. So a cycle subject
is judged once (can a sample of its machine be selected?) and a tag path once (selected,
and its topic).
"""

from __future__ import annotations

from plantbus.config.uns import UnsConfig
from plantbus.uns.payloads import tag_topic

__all__ = ["ValuesSelection"]


def _machine_of(subject: str) -> str:
    """``site/area/line/machine`` of a cycle subject ``plantbus.v1.cycle.s.a.l.m.device``."""
    return "/".join(subject.split(".")[3:7])


class ValuesSelection:
    """The tags of ``section`` whose values are published."""

    def __init__(self, section: UnsConfig) -> None:
        self.section = section
        self._subjects: dict[str, bool] = {}
        self._topics: dict[str, str | None] = {}

    def reads(self, subject: str) -> bool:
        """Whether a cycle on ``subject`` can hold a tag whose values are published: its
        machine lies in a subtree that publishes values, or such a subtree (a tag) in it."""
        known = self._subjects.get(subject)
        if known is None:
            machine = _machine_of(subject)
            below = machine + "/"
            known = self._subjects[subject] = any(
                entry.values and (entry.covers(machine) or entry.path.startswith(below))
                for entry in self.section.publish
            )
        return known

    def topic(self, path: str) -> str | None:
        """The topic of the tag ``path``'s values; None when they are not published."""
        try:
            return self._topics[path]
        except KeyError:
            selected = self.section.selects(path, "values")
            topic = self._topics[path] = tag_topic(self.section.prefix, path) if selected else None
            return topic
