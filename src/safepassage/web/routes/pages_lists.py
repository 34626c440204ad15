"""Lists in: sources, an upload that shows hidden content and the column mapping before anything
is imported, the import's progress, and the quarantine where rows are corrected one by one.

An upload is kept on the server between the preview and the import (``web.uploads``); the import
runs in the background (``web.imports``) and the page polls its progress.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from safepassage.domain.access import Action, Principal, Role
from safepassage.domain.errors import InvalidInput
from safepassage.domain.intake import Target, check_mapping
from safepassage.domain.people import Category
from safepassage.domain.row_status import RowStatus
from safepassage.services import intake, intake_review
from safepassage.services.common import authorize
from safepassage.services.nations import list_nations
from safepassage.web import background, imports, uploads
from safepassage.web.deps import Sys, UoW, UoWFactory, Who
from safepassage.web.render import render

router = APIRouter(include_in_schema=False)

MAX_BYTES = 50 * 1024 * 1024
START_WAIT = 10.0  # seconds to wait for an import's record before sending the user on
_TOO_LARGE = "the file is larger than the limit of 50 MB; split the list into smaller files"


def _not_too_large(request: Request) -> None:
    """Refuse an upload that is too large from its declared length, before it is read."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BYTES + 1024 * 1024:
        raise InvalidInput(_TOO_LARGE, field="file")


SmallEnough = Annotated[None, Depends(_not_too_large)]


# -- pages ----------------------------------------------------------------------------------------
def _lists_page(
    request: Request,
    who: Principal,
    uow: UoW,
    errors: dict[str, str] | None = None,
    v: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    sources = intake_review.list_sources(who, uow)
    nations = []
    if who.role is Role.COORDINATOR:
        nations = [(n.code, n.name) for n in list_nations(who, uow).nations]
    return render(
        request,
        "pages/lists.html",
        {
            "sources": sources,
            "nations": nations,
            "categories": [(c.value, c.value.replace("_", " ")) for c in Category],
            "errors": errors or {},
            "v": v or {"category": "other"},
        },
        status_code=status,
    )


@router.get("/lists")
def lists(request: Request, who: Who, uow: UoW, starting: int = 0) -> Response:
    return _lists_page(request, who, uow, v={"category": "other", "starting": starting})


@router.post("/lists/sources")
async def source_create(request: Request, who: Who, uow: UoW) -> Response:
    form = await request.form()
    v = {k: str(form.get(k, "")) for k in ("name", "sponsoring_nation", "sponsor_org", "category")}
    cmd = intake.SourceInput(
        v["name"],
        v["sponsoring_nation"] or None,
        v["sponsor_org"] or None,
        v["category"] or "other",
    )
    try:
        intake.save_source(cmd, who, uow)
    except InvalidInput as e:
        return _lists_page(request, who, uow, e.by_field(), v, 422)
    return RedirectResponse("/lists", status_code=303)


def _preview_page(
    request: Request,
    who: Principal,
    uow: UoW,
    pre: intake.Preview,
    token: str,
    source_id: int,
    include_hidden: bool | None = None,
    status: int = 200,
) -> Response:
    f = pre.file
    hidden_rows = bool(pre.hidden_rows or pre.hidden_sheets)
    examples: dict[str, str] = {}
    for s in f.sheets:
        for r in s.rows[:50]:
            for h, cell in r.values.items():
                if cell.strip() and h not in examples:
                    examples[h] = cell
    chosen = [t for t in pre.mapping.values() if t]
    source = next((s for s in intake_review.list_sources(who, uow) if s.id == source_id), None)
    return render(
        request,
        "pages/list_preview.html",
        {
            "pre": pre,
            "token": token,
            "source": source,
            "hidden": hidden_rows or any(s.hidden_columns for s in f.sheets),
            "include_hidden": (not hidden_rows) if include_hidden is None else include_hidden,
            "examples": examples,
            "targets": [(t.value, t.value.replace("_", " ")) for t in Target],
            "repeated": {t for t in chosen if chosen.count(t) > 1},
        },
        status_code=status,
    )


def _filename(name: str) -> str:
    return (name.replace("\\", "/").rsplit("/", 1)[-1].strip() or "list")[-200:]


@router.post("/lists/preview")
async def list_preview(
    request: Request, _: SmallEnough, who: Who, uow: UoW, system: Sys
) -> Response:
    async with request.form() as form:  # closes the uploaded file's spool whatever happens
        authorize(who, Action.LISTS_IMPORT, uow)
        upload, sid = form.get("file"), str(form.get("source_id", ""))
        errors: dict[str, str] = {}
        if not isinstance(upload, UploadFile) or not upload.filename:
            errors["file"] = "choose the list's file: CSV or Excel workbook (.xlsx)"
        elif (upload.size or 0) > MAX_BYTES:
            errors["file"] = _TOO_LARGE
        if not sid.isdigit():
            errors["source_id"] = "choose the source the list comes from"
        if errors or not isinstance(upload, UploadFile):
            return _lists_page(request, who, uow, errors, {"source_id": sid}, 422)
        name, data = _filename(upload.filename or ""), await upload.read()
    try:
        pre = await asyncio.to_thread(intake.preview, data, name, int(sid), who, uow)
    except InvalidInput as e:
        return _lists_page(request, who, uow, e.by_field(), {"source_id": sid}, 422)
    token = uploads.store(system).keep(uploads.Upload(data, name, int(sid)), who.username)
    return _preview_page(request, who, uow, pre, token, int(sid))


def _mapping(form: FormData) -> dict[str, str | None]:
    mapping: dict[str, str | None] = {}
    for key, header in form.multi_items():
        if key.startswith("col_") and isinstance(header, str):
            mapping[header] = str(form.get("map_" + key[4:], "")) or None
    return mapping


def _problems(mapping: dict[str, str | None]) -> list[str]:
    try:
        return check_mapping({h: Target(t) if t else None for h, t in mapping.items()})
    except ValueError:
        return ["a column is mapped to a field that does not exist; choose again"]


@router.post("/lists/import")
async def list_import(
    request: Request, who: Who, uow: UoW, uows: UoWFactory, system: Sys
) -> Response:
    authorize(who, Action.LISTS_IMPORT, uow)
    form = await request.form()
    token = str(form.get("token", ""))
    kept = uploads.store(system)
    upload = kept.kept(token, who.username)
    mapping, include_hidden = _mapping(form), form.get("include_hidden") == "on"
    problems = _problems(mapping)
    if problems:
        pre = await asyncio.to_thread(
            intake.preview, upload.data, upload.filename, upload.source_id, who, uow
        )
        pre = intake.Preview(pre.file, mapping, problems, pre.hidden_rows, pre.hidden_sheets)
        return _preview_page(request, who, uow, pre, token, upload.source_id, include_hidden, 422)
    run = imports.start(uows, who, kept, token, upload, mapping, include_hidden)
    state = await asyncio.to_thread(run.wait_for, imports.started, START_WAIT)
    if "import_id" in state:
        return RedirectResponse(f"/lists/imports/{state['import_id']}", status_code=303)
    stopped = background.error_of(state)
    if stopped is not None:
        raise stopped
    if "error" in state:
        raise RuntimeError("the import could not start; the error is in the server's log")
    return RedirectResponse("/lists?starting=1", status_code=303)  # listed once it has started


@router.get("/lists/imports/{import_id}")
def import_page(request: Request, import_id: int, who: Who, uow: UoW) -> Response:
    imp = intake_review.import_status(import_id, who, uow)
    return render(request, "pages/list_import.html", {"imp": imp})


@router.get("/lists/imports/{import_id}/progress")
def import_progress(request: Request, import_id: int, who: Who, uow: UoW) -> Response:
    imp = intake_review.import_status(import_id, who, uow)
    return render(request, "partials/import_progress.html", {"imp": imp})


def _quarantine_page(
    request: Request, who: Principal, uow: UoW, source_id: int, status: int = 200, **ctx: Any
) -> Response:
    q = intake_review.quarantine(source_id, who, uow)
    ctx = {"notice": "", "person": 0, "row_errors": {}, "row_values": {}, **ctx}
    return render(request, "pages/quarantine.html", {"q": q, **ctx}, status_code=status)


@router.get("/lists/sources/{source_id}/quarantine")
def quarantine_page(
    request: Request,
    source_id: int,
    who: Who,
    uow: UoW,
    row: int = 0,
    person: int = 0,
    status: str = "",
) -> Response:
    notice = f"Row {row} is registered." if row and person else ""
    if notice and status == RowStatus.MATCHED:
        notice = f"Row {row} was registered already (same document): linked to that record."
    return _quarantine_page(request, who, uow, source_id, notice=notice, person=person)


@router.post("/lists/rows/{row_id}")
async def row_resubmit(request: Request, row_id: int, who: Who, uow: UoW) -> Response:
    form = await request.form()
    values: dict[str, str] = {}
    for key, header in form.multi_items():
        if key.startswith("header_") and isinstance(header, str):
            values[header] = str(form.get("cell_" + key[7:], ""))
    try:
        done = intake_review.resubmit_row(row_id, values, who, uow)
    except InvalidInput as e:
        sid = str(form.get("source_id", ""))
        if not sid.isdigit():
            raise
        return _quarantine_page(
            request,
            who,
            uow,
            int(sid),
            422,
            row_errors={row_id: e.errors},
            row_values={row_id: values},
        )
    return RedirectResponse(
        f"/lists/sources/{done.source_id}/quarantine?row={done.row_number}"
        f"&person={done.person_id}&status={done.status}",
        status_code=303,
    )
