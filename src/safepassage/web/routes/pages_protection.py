"""The registry's protection, for coordinators and liaisons: how its keys are held, what was
shredded, and the shred itself (password again, the operation's name typed)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from safepassage.domain.access import Action, Role
from safepassage.domain.errors import InvalidInput
from safepassage.services import nations, protection
from safepassage.services.common import authorize
from safepassage.web.deps import Sys, UoW, Who
from safepassage.web.render import render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request, who: Who, system: Sys, errors: dict[str, str], v: dict[str, str]
) -> Response:
    with system.uow(readonly=True) as uow:
        op = uow.operation.get()
    source = system.sealing.source
    held = f"a key file ({source.key_file})" if source.key_file else "a passphrase given at start"
    operating = [n for n in nations.list_nations(who, system.uow()).nations if n.operating]
    if who.role is Role.LIAISON:
        operating = [n for n in operating if n.code == who.nation]
    return render(
        request,
        "pages/protection.html",
        {
            "held": held,
            "passphrase": source.key_file is None,
            "beside": _beside_database(system),
            "shredded": protection.shredded(system.uow()),
            "operation_name": op.name if op else "",
            "nations": operating,
            "errors": errors,
            "v": v,
        },
        status_code=422 if errors else 200,
    )


def _beside_database(system: Sys) -> bool:
    """Whether the key file sits in the SQLite database's own folder (a demo's habit)."""
    key_file = system.sealing.source.key_file
    database = system.engine.url.database if system.engine.dialect.name == "sqlite" else None
    if key_file is None or not database:
        return False
    return key_file.resolve().parent == Path(database).resolve().parent


@router.get("/protection")
def protection_page(request: Request, who: Who, uow: UoW, system: Sys) -> Response:
    authorize(who, Action.KEYS_SHRED, uow)
    return _page(request, who, system, {}, {})


@router.post("/protection/shred")
async def shred(request: Request, who: Who, system: Sys) -> Response:
    form = await request.form()
    v = {k: str(form.get(k) or "") for k in ("scope", "typed")}
    cmd = protection.ShredInput(
        v["scope"] or protection.OPERATION, v["typed"], str(form.get("password") or "")
    )
    try:
        protection.shred(cmd, who, system.uow())
    except InvalidInput as e:
        return _page(request, who, system, {x.field: x.message for x in e.errors}, v)
    system.scrub_keys()
    return RedirectResponse("/protection", status_code=303)
