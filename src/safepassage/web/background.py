"""Long work started from a page (a linkage run, a plan, an import): one at a time per kind, in a
thread of this process, its stage kept for the page to poll, its end (result or error) kept until
the next run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from safepassage.domain.errors import Conflict, SafepassageError

log = logging.getLogger(__name__)

State = dict[str, Any]


class BackgroundRun:
    def __init__(self, name: str, busy: str | Callable[[State], str]) -> None:
        self.name = name
        self.busy = busy
        """What a second start is told while one works (or how to say it, from the state)."""
        self._state: State = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition()

    def state(self) -> State:
        """Stage, progress, who started it and when; ``finished`` once done; then ``error`` or what
        the work returned. Empty before the first run.

        A run stopped by one of the system's own errors (``SafepassageError``: what to fix,
        in the user's words) keeps it as ``exception``, bare, for the page to answer with.
        """
        return dict(self._state)

    def update(self, **values: Any) -> None:
        with self._changed:
            self._state.update(values)
            self._changed.notify_all()

    def wait_for(self, ready: Callable[[State], bool], timeout: float) -> State:
        """The state once ``ready`` says so of it, or as it is after ``timeout`` seconds: for a
        page that lets the work get going before it answers."""
        with self._changed:
            self._changed.wait_for(lambda: ready(self._state), timeout)
            return dict(self._state)

    def start(self, by: str, work: Callable[[], State]) -> None:
        """Run ``work`` in a thread; what it returns is kept with the state. Refused (Conflict)
        while a run of this kind works."""
        with self._lock:
            if self._state and "finished" not in self._state:
                busy = self.busy
                raise Conflict(busy if isinstance(busy, str) else busy(self.state()))
            with self._changed:
                self._state.clear()
                self._state.update(stage="starting", done=0, total=0, started=time.time(), by=by)

        def body() -> None:
            try:
                self.update(**work())
            except Exception as e:  # the page says it stopped, and why
                log.exception("%s failed", self.name)
                self.update(error=f"{type(e).__name__}: {e}", **_kept(e))
            finally:
                self.update(finished=time.time())

        threading.Thread(target=body, name=self.name, daemon=True).start()


def _kept(e: Exception) -> State:
    """What of a run's error is kept until the next run: the system's own error, bare.

    Its traceback, and those of the errors it was raised from, hold every frame of the work,
    with the work's data (an import's whole list, parsed): kept until the next run of the kind,
    that would keep personal data in the server's memory for as long as the process lives. Any
    other error is a fault, kept as its words only (``error``) and logged whole.
    """
    if not isinstance(e, SafepassageError):
        return {}
    e.__traceback__ = None
    e.__cause__ = None
    e.__context__ = None
    e.__suppress_context__ = True
    return {"exception": e}


def error_of(state: State) -> SafepassageError | None:
    """The system's own error a run stopped on, as a new object for a page to raise.

    Raising the kept one would hang the page's frames (the request, its upload) on it, through
    its traceback, until the next run: a copy carries them away with the request instead.
    """
    kept = state.get("exception")
    if not isinstance(kept, SafepassageError):
        return None
    fresh = type(kept).__new__(type(kept), *kept.args)
    fresh.__dict__.update(kept.__dict__)
    return fresh
