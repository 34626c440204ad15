"""What a busy process may keep for a few seconds instead of asking the database again.

Scanners send hundreds of requests a second: reading the caller's token, the line of stations
or the size of a name key from the database on every one of them would cost more than the scan.
Each of those is kept here for a bounded time, then read again; a change made in this process
forgets the value at once, a change made in another process reaches this one when the time runs
out. The pass keys are kept here too, for the life of the process: a pass that names a key not
yet seen makes the key ring read them again (``keyring.py``).

Written here rather than taken from a library: the uses need only "keep for N seconds, at
most M entries, forget on demand", thread-safe, which is a dictionary and a lock;
``functools.lru_cache`` has no expiry and no per-key forgetting, and a cache package would be a
dependency for thirty lines.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from safepassage.adapters.crypto import KnownKeys
    from safepassage.domain.pipeline import Station

V = TypeVar("V")


class Recall(Generic[V]):
    """Values kept for ``seconds`` each, at most ``limit`` of them (all forgotten past that)."""

    def __init__(
        self,
        seconds: float,
        limit: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.limit = limit
        self._clock = clock
        self._kept: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The value kept for ``key`` if it is still fresh, else None."""
        kept = self._kept.get(key)
        if kept is not None and kept[0] > self._clock():
            return kept[1]
        return None

    def put(self, key: Hashable, value: V) -> V:
        """Keep ``value`` for ``key`` from now on, for ``seconds``."""
        with self._lock:
            if len(self._kept) >= self.limit:
                self._kept.clear()
            self._kept[key] = (self._clock() + self.seconds, value)
        return value

    def recall(self, key: Hashable, load: Callable[[], V]) -> V:
        """The fresh value for ``key``, or what ``load`` returns (then kept)."""
        kept = self.get(key)
        if kept is not None:
            return kept
        return self.put(key, load())

    def forget(self, key: Hashable | None = None) -> None:
        """Forget one key, or everything when no key is given."""
        with self._lock:
            if key is None:
                self._kept.clear()
            else:
                self._kept.pop(key, None)


TOKEN_SECONDS = 5.0
"""How long a process trusts a token it has just checked. A token revoked (or its user
deactivated) in this process stops at once, in another process within this many seconds."""

STATIONS_SECONDS = 5.0
"""How long a process keeps the line of stations: a change of the line reaches every scan within
this many seconds, in this process at once."""

KEY_SIZE_SECONDS = 600.0
"""How long the number of people carrying a name key is kept. Used only to pick the rarest key
to drive a search from, so a slightly stale figure does no harm, and keeping it avoids counting
a hundred thousand index entries for "Mohammad" on every search."""


@dataclass
class Memory:
    """The values one system keeps between requests, one ``Recall`` each (see the module)."""

    tokens: Recall[Any] = field(default_factory=lambda: Recall(TOKEN_SECONDS))
    stations: Recall[list[Station]] = field(default_factory=lambda: Recall(STATIONS_SECONDS, 1))
    key_sizes: Recall[int] = field(default_factory=lambda: Recall(KEY_SIZE_SECONDS, 100_000))
    # the pass keys, for the life of the process: a new key is read when a pass names it
    keys: Recall[KnownKeys] = field(default_factory=lambda: Recall(math.inf, 1))
