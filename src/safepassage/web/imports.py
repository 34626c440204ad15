"""Imports started from the lists pages: one at a time per source (a second start, a double click
on Import too, is refused while one works), each a background run of this process
(``web.background``). The import's page follows its progress in the import's record.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from safepassage.domain.access import Principal
from safepassage.services import intake, intake_review
from safepassage.services.uow import UnitOfWorkFactory
from safepassage.web.background import BackgroundRun, State
from safepassage.web.uploads import Upload, UploadStore

log = logging.getLogger(__name__)

_RUNS: dict[int, BackgroundRun] = {}  # source -> the run of its imports in this process
_LOCK = threading.Lock()


def _busy(state: State) -> str:
    return (
        f"a list is still being imported into this source (import {state.get('import_id', '')}); "
        "wait until it is done, then import this one"
    )


def run_of(source_id: int) -> BackgroundRun:
    """The background run of the imports into ``source_id``; its state has the ``import_id``
    once the import's record exists."""
    with _LOCK:
        if source_id not in _RUNS:
            _RUNS[source_id] = BackgroundRun(f"import into source {source_id}", _busy)
        return _RUNS[source_id]


def started(state: State) -> bool:
    """Whether the import has its record (``import_id``), or has ended without one."""
    return "import_id" in state or "finished" in state


def start(
    uows: UnitOfWorkFactory,
    who: Principal,
    uploads: UploadStore,
    token: str,
    upload: Upload,
    mapping: dict[str, str | None],
    include_hidden: bool,
) -> BackgroundRun:
    """Import the kept upload behind ``token`` into its source in the background (Conflict
    while the source has one running: the upload is kept then, for Import to be pressed again).

    However the import ends, done or failed, the upload is deleted from ``uploads``: a failed
    import's page asks for the file to be imported again (the rows done are kept, nobody is
    registered twice), never for the kept upload, so nothing is kept for a retry. One that stops
    on an error once its record exists is marked failed, with the error.
    """
    run = run_of(upload.source_id)

    def on_start(import_id: int) -> None:
        run.update(import_id=import_id)

    def progress(done: int, total: int) -> None:
        run.update(stage="importing", done=done, total=total)

    def work() -> dict[str, Any]:
        try:
            report = intake.run_import(
                upload.data,
                upload.filename,
                upload.source_id,
                mapping,
                who,
                uows,
                include_hidden,
                progress=progress,
                on_start=on_start,
            )
        except Exception as e:
            import_id = run.state().get("import_id")
            if import_id is not None:  # the import's record exists: it must not stay "running"
                try:
                    intake_review.fail_import(import_id, f"{type(e).__name__}: {e}", uows(), who)
                except Exception:
                    log.exception("could not mark import %s failed", import_id)
            raise
        finally:
            uploads.forget(token)
        return {"rows": report.rows}

    run.start(who.username, work)
    return run
