"""What the server's log may hold: never a person's data.

Two ways it would, each closed by a filter on the loggers that write them:

- The access log (``uvicorn.access``) writes each request's URL, and searches carry names and
  document numbers in their query strings (``/people?q=<name>``, ``/api/ecc/passes?q=...``, a
  login's ``?next=`` back to one). The query string is cut from the URL it logs: the path says
  which page was asked for, which is what the log is for. Smaller than making every search a
  POST, which would break links to a search and its pages.
- An error's words can quote the data it stopped on (a cell of a list, a database statement's
  parameters), and a logged error's traceback prints them, with those of the errors it was
  raised from. An error logged by the server (``uvicorn.error``) or by a background run keeps
  its traceback (where it happened, the types) and loses its words; what it said is shown to
  the user who met it, on the page, and kept with an import's record.

Filters on the loggers rather than a formatter: the server's log configuration (uvicorn's own,
or one given to it) chooses the handlers and formats, and keeps a logger's filters.
"""

from __future__ import annotations

import logging
import traceback

ACCESS = "uvicorn.access"
ERRORS = ("uvicorn.error", "safepassage.web.background", "safepassage.web.imports")


def _without_query(arg: object) -> object:
    if isinstance(arg, str) and "?" in arg:
        return arg.split("?", 1)[0] + "?…"
    return arg


class WithoutQuery(logging.Filter):
    """Cuts the query string from the URL of an access log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_without_query(a) for a in record.args)
        return True


def bare_traceback(e: BaseException) -> str:
    """``e``'s traceback, and those it was raised from, with every error's words left out."""
    lines: list[str] = []
    seen: set[int] = set()
    chain: list[BaseException] = []
    at: BaseException | None = e
    while at is not None and id(at) not in seen:
        seen.add(id(at))
        chain.append(at)
        at = at.__cause__ or (None if at.__suppress_context__ else at.__context__)
    for i, err in enumerate(reversed(chain)):
        if i:
            lines.append("\nwhich led to:\n")
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(err.__traceback__))
        lines.append(f"{type(err).__module__}.{type(err).__qualname__} (its words not logged)\n")
    return "".join(lines).rstrip("\n")


class WithoutErrorWords(logging.Filter):
    """Replaces a record's traceback by its bare form (``bare_traceback``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = bare_traceback(record.exc_info[1])
            record.exc_info = None
        return True


_WITHOUT_QUERY = WithoutQuery()
_WITHOUT_WORDS = WithoutErrorWords()


def install() -> None:
    """Put the filters on the loggers (once however often it is called)."""
    logging.getLogger(ACCESS).addFilter(_WITHOUT_QUERY)
    for name in ERRORS:
        logging.getLogger(name).addFilter(_WITHOUT_WORDS)
