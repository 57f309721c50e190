"""How long-running commands share the lake: the writer lock with ``--wait``, clean stops.

A command that writes the lake holds its writer lock (:mod:`lakehouse.storage.lock`) for as
long as it writes. A command that runs until stopped (``pipeline watch``, ``replicate``) stops
between batches on Ctrl-C or SIGTERM: the first signal asks it to finish the batch under way and
stop, a second one interrupts at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING

from lakehouse.cli.console import lazy_console

if TYPE_CHECKING:
    from rich.console import Console

    from lakehouse.config import Settings
    from lakehouse.storage.lock import Holder, LockHandle

_err = lazy_console(stderr=True)


@contextlib.contextmanager
def lake_writer(
    settings: Settings, command: str, wait: float, say: Callable[[str], None] | None = None
) -> Iterator[LockHandle]:
    """Hold the lake's writer lock for the block, saying when it waits or breaks a dead lock
    (on standard error, or through ``say``: the pipeline daemon sends it to its client)."""

    # Imported when a command writes: the lock's storage and process checks are not needed to
    # start the CLI or print its help.
    from lakehouse.storage.lock import writer_lock

    def tell(text: str) -> None:
        if say is not None:
            say(text)
        else:
            _err.print(text, markup=False, highlight=False, soft_wrap=True)

    def waiting(holder: Holder | None) -> None:
        who = holder.describe() if holder else "another command"
        tell(f"waiting up to {wait:g} s for {who} to finish writing the lake")

    with writer_lock(settings, command, wait=wait, on_wait=waiting) as handle:
        if handle.broken is not None:
            tell(
                f"note: took over the lake lock left by {handle.broken.describe()}: "
                "that process is gone"
            )
        yield handle


@contextlib.contextmanager
def stop_on_signals(console: Console, message: str) -> Iterator[threading.Event]:
    """An event set by the first SIGINT or SIGTERM; a second one raises KeyboardInterrupt.

    Args:
        console: where to say that the command is stopping.
        message: what the command does before it stops, e.g. "finishing the batch under way".
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        name = signal.Signals(signum).name
        console.print(f"{name}: stopping - {message} (send it again to stop at once)")

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
