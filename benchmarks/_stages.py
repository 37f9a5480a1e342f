"""Exclusive time per stage of a benchmark, by wrapping the functions that do the stages."""

from __future__ import annotations

import functools
import importlib
import time
from collections import defaultdict


class Stages:
    """Exclusive time per stage: a nested stage's time is taken out of its caller's.

    ``stages`` lists (module, attribute path, stage name); ``clock`` is ``time.perf_counter``
    for wall seconds or ``time.process_time`` for CPU seconds. A listed function the code no
    longer has is skipped, so a profile runs on an older tree too.
    """

    def __init__(self, stages, clock=time.perf_counter) -> None:
        self.stages = list(stages)
        self.clock = clock
        self.totals: dict[str, float] = defaultdict(float)
        self._stack: list[list] = []

    def wrap(self, fn, stage: str):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            frame = [stage, 0.0]
            self._stack.append(frame)
            start = self.clock()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = self.clock() - start
                self._stack.pop()
                self.totals[stage] += elapsed - frame[1]
                if self._stack:
                    self._stack[-1][1] += elapsed

        return timed

    def install(self) -> None:
        for module_name, attribute, stage in self.stages:
            owner = importlib.import_module(module_name)
            *path, name = attribute.split(".")
            for part in path:
                owner = getattr(owner, part, None)
            if owner is not None and hasattr(owner, name):
                setattr(owner, name, self.wrap(getattr(owner, name), stage))

    def take(self) -> dict[str, float]:
        totals, self.totals = dict(self.totals), defaultdict(float)
        return totals
