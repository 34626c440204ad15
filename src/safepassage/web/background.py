"""Long work started from a page (a linkage run, a plan, an import): one at a time per kind, in a
thread of this process, its stage kept for the page to poll, its end (result or error) kept until
the next run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from safepassage.domain.errors import Conflict

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
        """Stage, progress, who started it and when; ``finished`` once done; then ``error`` (and
        the ``exception`` itself, its traceback dropped) or what the work returned. Empty before
        the first run."""
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
                # without its traceback, which would keep the work's data alive until the next run
                self.update(error=f"{type(e).__name__}: {e}", exception=e.with_traceback(None))
            finally:
                self.update(finished=time.time())

        threading.Thread(target=body, name=self.name, daemon=True).start()
