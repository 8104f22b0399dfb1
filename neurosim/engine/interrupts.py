"""Ctrl-C during a simulation, delivered between chunks.

A ``KeyboardInterrupt`` raised while Numba compiles a kernel or unboxes a call's arguments
(the kernel tables are first-class functions, looked up on every call) is lost inside
Numba and resurfaces as an unrelated ``TypeError`` (``_get_wrapper_address() missing 1
required positional argument``). ``Simulator.run`` therefore defers SIGINT: the first one
sets a flag that the run checks after each chunk, where ``KeyboardInterrupt`` is raised with
the state consistent and streamed files flushed; a second one raises at once. Only in the
main thread, and only while SIGINT has Python's default handler (a handler of the
application's own is left alone).
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

__all__ = ["deferred_sigint"]


def _never() -> None:
    return None


@contextmanager
def deferred_sigint():
    """Run the block with SIGINT deferred; yields ``check()``, which raises
    ``KeyboardInterrupt`` (once) when SIGINT has arrived. A SIGINT not yet checked when the block
    ends raises there; a second SIGINT raises at once, wherever the block is."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield _never
        return
    pending = []

    def on_sigint(signum, frame):
        if pending:  # asked twice: stop now
            raise KeyboardInterrupt
        pending.append(True)

    def check() -> None:
        if pending:
            pending.clear()  # raised once
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield check
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    check()  # reached only when the block ended without an exception
