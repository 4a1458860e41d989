"""A sink plugin that is a package: its Sink subclass may live in a submodule."""

from .impl import PackagedSink

__all__ = ["PackagedSink"]
