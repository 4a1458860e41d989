"""Python-side set-up for the ``sinkbridge`` command, called by the Rust command line in both
hosts (the wheel's console script and the standalone binary)."""

from __future__ import annotations

import logging
import sys


def setup_logging(level: str) -> None:
    """Sends log records (the engine's, forwarded from Rust, and the sinks') to stderr."""
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
