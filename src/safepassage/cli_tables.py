"""What the command line prints of what a use case returned: a list's column mapping, an
import's rows by status, a plan's departures and its calls forward, a linkage run, simulation
runs side by side.

Apart from ``cli.py`` so that the commands read as what they are (parse, call a use case,
print) and the rich tables' columns are found in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from safepassage.services.intake import ImportReport, Preview
    from safepassage.services.linkage import LinkReport
    from safepassage.services.planning import CallReport, PlanMade
    from safepassage.services.simulation import Comparison

PLAN_COLUMNS = ("departs (UTC)", "callsign", "nation", "seats", "planned", "load", "standby")
PLAN_RIGHT = {"seats", "planned", "load", "standby", "waiting"}  # numbers, aligned right


def mapping(out: Console, filename: str, pre: Preview) -> None:
    """A list's warnings (hidden rows and sheets, among others) and its column mapping."""
    for warning in pre.file.warnings:
        out.print(f"[yellow]![/yellow] {warning}")
    table = Table(title=f"{filename}: {pre.file.row_count:,} rows; column mapping")
    table.add_column("column")
    table.add_column("field")
    for header, target in pre.mapping.items():
        table.add_row(header, target or "[dim](kept, not mapped)[/dim]")
    out.print(table)


def imported(out: Console, report: ImportReport) -> None:
    """An import's rows by status, and the households formed."""
    result = Table(title=f"import {report.import_id}: {report.rows:,} rows")
    result.add_column("status")
    result.add_column("rows", justify="right")
    for status, n in report.counts.items():
        result.add_row(status, f"{n:,}")
    result.add_row("[bold]total[/bold]", f"[bold]{sum(report.counts.values()):,}[/bold]")
    out.print(result)
    out.print(f"{report.households} households formed from the list's family numbers")


def plan(out: Console, made: PlanMade) -> None:
    """A plan's departures with their loads, then the households planned and those not, why."""
    from safepassage.planning.result import Reason

    s, r = made.summary, made.result
    table = Table(title=f"plan {made.plan_id}: {r.status.value}, {r.gap:.2%} from the bound")
    for col in (*PLAN_COLUMNS, "waiting", ""):
        table.add_column(col, justify="right" if col in PLAN_RIGHT else "left")
    for d in s["departures"]:
        table.add_row(
            d["departs_at"][:16].replace("T", " "),
            d["callsign"],
            d["nation"],
            str(d["seats"]),
            str(d["planned_seats"]),
            f"{d['load']:.0%}",
            str(d["standby_persons"]),
            str(d["waiting"]),
            "[red]under 90 % while households wait[/red]" if d["alarm"] else "",
        )
    out.print(table)
    out.print(
        f"{s['households_planned']:,} of {s['households']:,} households planned "
        f"({s['persons_planned']:,} of {s['persons']:,} persons) in {r.seconds:.1f} s"
    )
    for reason, counts in sorted(s["unplanned"].items()):
        out.print(
            f"  not planned: {counts['households']:,} households ({counts['persons']:,} "
            f"persons): {Reason(reason).sentence}"
        )


def called(out: Console, report: CallReport) -> None:
    """The households called forward from the plan, and those that could not be, why."""
    out.print(f"{len(report.issued):,} households called forward (passes issued)")
    for hid, why in report.skipped.items():
        out.print(f"  household {hid} not called: {why}")


def linkage(out: Console, report: LinkReport) -> None:
    """A linkage run's counts and where its time went."""
    result = Table(title=f"linkage run {report.run_id}")
    result.add_column("")
    result.add_column("", justify="right")
    for label, value in (
        ("records read", report.records),
        ("candidate pairs compared", report.candidates),
        ("records merged into another", report.merged),
        ("pairs waiting for review", report.review),
        ("blocking keys skipped (too common)", report.skipped_blocks),
    ):
        result.add_row(label, f"{value:,}")
    out.print(result)
    out.print("seconds: " + ", ".join(f"{k} {v}" for k, v in report.seconds.items() if v))


def simulation(out: Console, compared: Comparison) -> None:
    """Simulation runs side by side: boarded, missed, no-shows, the bottleneck."""
    results: list[dict[str, Any]] = compared.results
    table = Table(title=compared.scenario.name)
    for col in ("", *(r["label"] for r in results)):
        table.add_column(col)
    for label, key in (("boarded", "boarded"), ("missed", "missed"), ("no-shows", "no_shows")):
        table.add_row(label, *(f"{r[key]:,}" for r in results))
    table.add_row("bottleneck", *(str(r["bottleneck"]) for r in results))
    out.print(table)
