"""Helpers for testing rules: a clock that moves only when told to.

    import sinkbridge as sb
    from sinkbridge.testing import ManualClock

    clock = ManualClock(1_767_225_600_000)  # Unix milliseconds
    with sb.Engine(clock=clock) as engine:
        ...  # a rule with TUMBLINGWINDOW(ss, 10)
        engine.publish("in", rows)
        engine.wait_idle()  # the rows are in the window
        clock.advance(10_000)  # the window closes; its result has reached the sinks

``ManualClock(start_ms)``: ``now_ms()``; ``advance(ms)`` and ``advance_to(at_ms)`` move the clock
forward, firing every timer due on the way in time order (the clock reading each timer's time as
it fires), and return once the engine has handled them, the sinks' calls included; they return
how many timers fired. A clock serves one engine.
"""

from __future__ import annotations

from ._core import ManualClock

__all__ = ["ManualClock"]
