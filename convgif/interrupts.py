"""The signals that stop a run as Ctrl-C does, and swapping their handlers for a while.

Used by the command line (the signals raise, so temporary files are removed)
and by the gallery's process pool (a second signal is ignored while the
workers are being stopped). Pure standard library.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

# SIGINT (Ctrl-C), SIGTERM, SIGHUP where the platform has them.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def stop_signals_handled(handler: Callable[[int, Any], None]) -> Iterator[None]:
    """While inside, every stop signal calls ``handler``; the previous handlers come back.

    Only the main thread can set handlers: elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            if old is not None:  # None: not set from Python, cannot be put back
                signal.signal(signum, old)
