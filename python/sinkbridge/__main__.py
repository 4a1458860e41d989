"""The ``sinkbridge`` command, as the wheel installs it: Python hosts the engine and runs the
same command-line code as the standalone binary."""

from __future__ import annotations

import signal
import sys

from . import _core


def main(argv: list[str] | None = None) -> int:
    # The engine waits for Ctrl-C and SIGTERM itself, and stops its rules cleanly on either;
    # Python's own SIGINT handler would only run once the engine has returned.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    return _core.cli_main(list(sys.argv if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
