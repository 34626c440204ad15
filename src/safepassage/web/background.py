"""Long work started from a page (a linkage run, a plan): one at a time per kind, in a thread of
this process, its stage kept for the page to poll, its end (result or error) kept until the
next run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from safepassage.domain.errors import Conflict

log = logging.getLogger(__name__)


class BackgroundRun:
    def __init__(self, name: str, busy: str) -> None:
        self.name = name
        self.busy = busy
        """What a second start is told while one works."""
        self._state: dict[str, Any] = {}
        self._lock = threading.Lock()

    def state(self) -> dict[str, Any]:
        """Stage, progress, who started it and when; ``finished`` once done; then ``error`` or
        what the work returned. Empty before the first run."""
        return dict(self._state)

    def update(self, **values: Any) -> None:
        self._state.update(values)

    def start(self, by: str, work: Callable[[], dict[str, Any]]) -> None:
        """Run ``work`` in a thread; what it returns is kept with the state. Refused (Conflict)
        while a run of this kind works."""
        with self._lock:
            if self._state and "finished" not in self._state:
                raise Conflict(self.busy)
            self._state.clear()
            self._state.update(stage="starting", done=0, total=0, started=time.time(), by=by)

        def body() -> None:
            try:
                self._state.update(work())
            except Exception as e:  # the page says it stopped, and why
                log.exception("%s failed", self.name)
                self._state["error"] = f"{type(e).__name__}: {e}"
            finally:
                self._state["finished"] = time.time()

        threading.Thread(target=body, name=self.name, daemon=True).start()
