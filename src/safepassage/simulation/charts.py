"""Charts of runs as inline SVG, for the what-if page and the report that ``safepassage
simulate`` writes: no script, no library, nothing fetched (the airport has no reliable
internet), readable printed.

Written here because the two charts needed (grouped bars, lines over time) are a few dozen
lines of SVG, where a plotting library would be a large dependency that draws to files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

COLOURS = ("#1f5f99", "#d9822b", "#2e8540", "#8e44ad")
W, H, PAD_L, PAD_B, PAD_T = 760, 250, 44, 36, 24


def load_bars(runs: Sequence[tuple[str, Sequence[tuple[str, float]]]], title: str) -> str:
    """Grouped bars of each departure's load factor (0–1+), one colour per run, a line at 90 %.

    ``runs``: (run label, [(callsign, load), ...]) with the departures in the same order."""
    if not runs or not runs[0][1]:
        return ""
    n = len(runs[0][1])
    group = (W - PAD_L - 8) / n
    bar = max(1.0, group * 0.8 / len(runs))
    top = max(1.0, *(v for _, series in runs for _, v in series))
    y = _scale(top)
    parts = [_frame(title, [(f"{t:.0%}", t) for t in _ticks(top)], y)]
    parts.append(
        f'<line x1="{PAD_L}" x2="{W - 4}" y1="{y(0.9):.1f}" y2="{y(0.9):.1f}" '
        'stroke="#b00020" stroke-dasharray="4 3"><title>90 % of seats</title></line>'
    )
    for r, (label, series) in enumerate(runs):
        colour = COLOURS[r % len(COLOURS)]
        for i, (name, value) in enumerate(series):
            x = PAD_L + i * group + r * bar + group * 0.1
            parts.append(
                f'<rect x="{x:.1f}" y="{y(value):.1f}" width="{bar:.1f}" '
                f'height="{y(0) - y(value):.1f}" fill="{colour}"><title>{escape(label)}: '
                f"{escape(name)} {value:.0%}</title></rect>"
            )
    parts.append(_legend([label for label, _ in runs]))
    if n <= 40:
        for i, (name, _) in enumerate(runs[0][1]):
            x = PAD_L + (i + 0.5) * group
            parts.append(
                f'<text x="{x:.1f}" y="{H - PAD_B + 12}" font-size="9" text-anchor="end" '
                f'transform="rotate(-45 {x:.1f} {H - PAD_B + 12})">{escape(name)}</text>'
            )
    return _svg(title, parts)


def lines(
    runs: Sequence[tuple[str, Sequence[tuple[float, float]]]], title: str, unit: str, hours: float
) -> str:
    """Lines over time (minutes → value), one colour per run; the x axis in hours."""
    points = [p for _, series in runs for p in series]
    if not points:
        return ""
    top = max(1.0, max(v for _, v in points))
    y = _scale(top)
    end = max(hours * 60, max(t for t, _ in points), 1.0)

    def x(t: float) -> float:
        return PAD_L + (W - PAD_L - 8) * t / end

    parts = [_frame(title, [(f"{t:g} {unit}", t) for t in _ticks(top)], y)]
    for h in range(0, int(end // 60) + 1, max(1, int(end // 60) // 12 or 1)):
        parts.append(
            f'<text x="{x(h * 60):.1f}" y="{H - PAD_B + 14}" font-size="10" '
            f'text-anchor="middle">{h} h</text>'
        )
    for r, (label, series) in enumerate(runs):
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in series)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{COLOURS[r % len(COLOURS)]}" '
            f'stroke-width="1.6"><title>{escape(label)}</title></polyline>'
        )
    parts.append(_legend([label for label, _ in runs]))
    return _svg(title, parts)


def _scale(top: float):  # type: ignore[no-untyped-def]
    span = H - PAD_B - PAD_T

    def y(v: float) -> float:
        return PAD_T + span * (1 - min(v, top) / top)

    return y


def _ticks(top: float) -> list[float]:
    """Five ticks from 0 to ``top``, whole numbers when the scale is counts."""
    step = top / 4
    if top > 8:
        step = float(math.ceil(step))
    return [round(step * i, 2) for i in range(5) if step * i <= top + 1e-9]


def _frame(title: str, ticks: list[tuple[str, float]], y) -> str:  # type: ignore[no-untyped-def]
    out = [
        f'<line x1="{PAD_L}" x2="{PAD_L}" y1="{PAD_T}" y2="{H - PAD_B}" stroke="#999"/>',
        f'<line x1="{PAD_L}" x2="{W - 4}" y1="{H - PAD_B}" y2="{H - PAD_B}" stroke="#999"/>',
    ]
    for label, value in ticks:
        out.append(
            f'<text x="{PAD_L - 4}" y="{y(value) + 3:.1f}" font-size="10" text-anchor="end">'
            f"{escape(label)}</text>"
        )
    return "".join(out)


def _legend(labels: list[str]) -> str:
    return "".join(
        f'<rect x="{W - 200}" y="{4 + 14 * i}" width="10" height="10" '
        f'fill="{COLOURS[i % len(COLOURS)]}"/><text x="{W - 186}" y="{13 + 14 * i}" '
        f'font-size="11">{escape(label)}</text>'
        for i, label in enumerate(labels)
    )


def _svg(title: str, parts: list[str]) -> str:
    return (
        f'<svg viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif">'
        f"<title>{escape(title)}</title>"
        f'<text x="{PAD_L + 6}" y="{PAD_T + 2}" font-size="12" font-weight="bold">'
        f"{escape(title)}</text>{''.join(parts)}</svg>"
    )


def compare(runs: Sequence[dict]) -> dict[str, object]:
    """The charts that compare runs (each a ``RunResult.to_json()`` with a ``label``): the load
    of each departure, and each station's queue and waiting time over time."""
    if not runs:
        return {"loads": "", "queues": {}, "waits": {}}
    order = [d["callsign"] for d in runs[0]["departures"]]
    loads = [
        (r["label"], [(c, by.get(c, 0.0)) for c in order])
        for r in runs
        for by in [{d["callsign"]: d["load"] for d in r["departures"]}]
    ]
    hours = max(r["minutes"] for r in runs) / 60
    queues, waits = {}, {}
    for station in runs[0]["stations"]:
        code, name = station["code"], station["name"]
        same = [(r["label"], s) for r in runs for s in r["stations"] if s["code"] == code]
        queues[code] = lines(
            [(label, [(t, float(n)) for t, n in s["queue"]]) for label, s in same],
            f"{name}: households waiting",
            "",
            hours,
        )
        waits[code] = lines(
            [(label, [(t, float(w)) for t, w in s.get("wait", [])]) for label, s in same],
            f"{name}: mean wait of those reaching a lane",
            "min",
            hours,
        )
    return {
        "loads": load_bars(loads, "Load of each departure (seats filled by those boarded)"),
        "queues": queues,
        "waits": waits,
    }
