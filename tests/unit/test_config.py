"""Settings refuse to start an operation with a default or weak secret."""

from __future__ import annotations

import pytest

from safepassage.config import DEMO_SECRET, load_settings
from safepassage.domain.errors import ConfigurationError


def test_outside_demo_mode_a_missing_or_weak_secret_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SAFEPASSAGE_SECRET_KEY", raising=False)
    monkeypatch.delenv("SAFEPASSAGE_DEMO", raising=False)
    for secret in ("", "changeme", DEMO_SECRET, "short"):
        with pytest.raises(ConfigurationError, match="SAFEPASSAGE_SECRET_KEY"):
            load_settings(secret_key=secret)


def test_demo_mode_runs_with_the_demo_secret_and_a_real_secret_is_accepted() -> None:
    assert load_settings(demo=True).secret_key == DEMO_SECRET
    assert load_settings(secret_key="x" * 40).secret_key == "x" * 40
