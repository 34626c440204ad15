"""What a process keeps between requests (adapters/memory.py): for its time, within its limit,
forgotten on demand; on a clock the test moves by hand."""

from __future__ import annotations

from safepassage.adapters.memory import Memory, Recall


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_value_is_kept_for_its_seconds_then_read_again() -> None:
    ticks, reads = Ticks(), []
    kept: Recall[str] = Recall(5.0, clock=ticks)

    def load() -> str:
        reads.append(ticks.now)
        return f"read at {ticks.now}"

    assert kept.recall("line", load) == "read at 100.0"
    ticks.now = 104.9
    assert kept.recall("line", load) == "read at 100.0"
    ticks.now = 105.0
    assert kept.recall("line", load) == "read at 105.0"
    assert reads == [100.0, 105.0]


def test_forgetting_one_key_leaves_the_others() -> None:
    kept: Recall[int] = Recall(60.0, clock=Ticks())
    kept.put("a", 1)
    kept.put("b", 2)
    kept.forget("a")
    assert (kept.get("a"), kept.get("b")) == (None, 2)
    kept.forget()
    assert kept.get("b") is None


def test_past_its_limit_everything_is_forgotten_rather_than_growing() -> None:
    kept: Recall[int] = Recall(60.0, limit=3, clock=Ticks())
    for i in range(3):
        kept.put(i, i)
    kept.put("fourth", 4)
    assert [kept.get(k) for k in (0, 1, 2, "fourth")] == [None, None, None, 4]


def test_each_system_has_its_own_memory() -> None:
    a, b = Memory(), Memory()
    a.tokens.put("digest", "row")
    assert b.tokens.get("digest") is None
