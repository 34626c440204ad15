"""Reports written to a file as one self-contained HTML page (styles inline, charts as inline
SVG): read away from the server, mailed, or opened on a laptop without the application.

The module owns its Jinja environment over its own template directory (``TEMPLATE_DIR``). The
pages compare simulation runs with the same partial as the report (``partials/sim_results.html``),
so the web's environment loads from this directory too, after its own (``web/render.py``): one
table of runs compared, in the browser and in the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).parent / "report_templates"


def num(value: int | float | None) -> str:
    """A count as the operation writes it: whole, thousands apart by a space (``30 000``)."""
    return "" if value is None else f"{value:,.0f}".replace(",", " ")


# escaping as in the web's environment (Starlette's choice): the shared partial renders alike
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=jinja2.select_autoescape()
)
_ENV.filters["num"] = num


def write(path: Path, template: str, **context: Any) -> None:
    """Render ``template`` (a name under ``TEMPLATE_DIR``) with ``context`` into ``path``."""
    path.write_text(_ENV.get_template(template).render(**context), encoding="utf-8")
