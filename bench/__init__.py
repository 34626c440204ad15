"""Benchmarks with their targets; each module's docstring says what it measures and how."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def keep(name: str, rows: list[dict[str, Any]], verdict: dict[str, bool]) -> Path:
    """Write a run's rows and verdict, with when and on what, to bench/results/<name>.json."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(
        json.dumps(
            {
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "load_before": os.getloadavg(),
                "rows": rows,
                "verdict": verdict,
            },
            indent=1,
        )
    )
    return path
