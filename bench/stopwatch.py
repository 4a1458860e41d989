"""The scenarios' clock: wall time, and the CPU time of the whole process (every thread) over the
same span. Wall time is what the targets are about; CPU time moves much less with the load of a
shared machine, so it is the steadier figure for comparing two builds."""

from __future__ import annotations

import time


class Stopwatch:
    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def result(self) -> dict[str, float]:
        return {"seconds": time.perf_counter() - self.wall, "cpu_seconds": time.process_time() - self.cpu}
