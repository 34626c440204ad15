"""Nations and their policies, users and API tokens, and the audit trail."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from safepassage.domain.access import Action, Role
from safepassage.domain.errors import InvalidInput
from safepassage.domain.nations import FamilyRule
from safepassage.domain.people import Category
from safepassage.services import audit_log, auth, nations
from safepassage.services.common import authorize
from safepassage.services.overview import audit_trail
from safepassage.web.deps import UoW, Who
from safepassage.web.render import render

router = APIRouter(include_in_schema=False)
RULE_ROWS = 6


def _split(text: str) -> list[str]:
    return [x.strip().upper() for x in text.replace(";", ",").split(",") if x.strip()]


@router.get("/nations")
def nations_page(request: Request, who: Who, uow: UoW) -> Response:
    return render(
        request, "pages/nations.html", {"n": nations.list_nations(who, uow), "errors": {}, "v": {}}
    )


@router.post("/nations")
async def nation_save(request: Request, who: Who, uow: UoW) -> Response:
    form = await request.form()
    try:
        nations.save_nation(
            str(form.get("code", "")),
            str(form.get("name", "")),
            "operating" in form,
            "sending" in form,
            "sponsor_only" in form,
            who,
            uow,
        )
    except InvalidInput as e:
        return render(
            request,
            "pages/nations.html",
            {"n": nations.list_nations(who, uow), "errors": e.by_field(), "v": dict(form)},
            status_code=422,
        )
    return RedirectResponse("/nations", status_code=303)


def _policy_form(
    request: Request,
    code: str,
    values: dict[str, object],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return render(
        request,
        "pages/policy_form.html",
        {
            "code": code,
            "v": values,
            "errors": errors,
            "rows": range(1, RULE_ROWS + 1),
            "categories": list(Category),
            "family_rules": list(FamilyRule),
        },
        status_code=status,
    )


@router.get("/nations/{code}/policy")
def policy_edit(request: Request, code: str, who: Who, uow: UoW) -> Response:
    authorize(who, Action.POLICY_WRITE, uow)
    view = nations.list_nations(who, uow)
    p = view.policies.get(code.upper())
    values: dict[str, object] = {
        "family_rule": p.family_rule.value if p else "head",
        "offers_spare_seats": p.offers_spare_seats if p else False,
    }
    for i, r in enumerate(p.rules if p else (), start=1):
        values |= {
            f"nationalities_{i}": ", ".join(sorted(r.nationalities)),
            f"categories_{i}": [c.value for c in r.categories],
            f"sponsoring_{i}": ", ".join(sorted(r.sponsoring_nations)),
            f"label_{i}": r.label,
        }
    return _policy_form(request, code.upper(), values, {})


def _policy_input(form: FormData) -> nations.PolicyInput:
    rules = [
        nations.RuleInput(
            _split(str(form.get(f"nationalities_{i}", ""))),
            [str(c) for c in form.getlist(f"categories_{i}")],
            _split(str(form.get(f"sponsoring_{i}", ""))),
            str(form.get(f"label_{i}", "")),
        )
        for i in range(1, RULE_ROWS + 1)
    ]
    return nations.PolicyInput(
        rules, str(form.get("family_rule", "head")), "offers_spare_seats" in form
    )


@router.post("/nations/{code}/policy")
async def policy_save(request: Request, code: str, who: Who, uow: UoW) -> Response:
    form = await request.form()
    try:
        nations.set_policy(code, _policy_input(form), who, uow)
    except InvalidInput as e:
        values: dict[str, object] = dict(form) | {
            f"categories_{i}": form.getlist(f"categories_{i}") for i in range(1, RULE_ROWS + 1)
        }
        return _policy_form(request, code.upper(), values, e.by_field(), 422)
    return RedirectResponse("/nations", status_code=303)


def _users_page(
    request: Request,
    who: Who,
    uow: UoW,
    errors: dict[str, str] | None = None,
    values: dict[str, object] | None = None,
    token: str = "",
    status: int = 200,
) -> Response:
    return render(
        request,
        "pages/users.html",
        {
            "users": auth.list_users(who, uow),
            "roles": list(Role),
            "nations": nations.list_nations(who, uow).nations,
            "errors": errors or {},
            "v": values or {},
            "new_token": token,
        },
        status_code=status,
    )


@router.get("/users")
def users(request: Request, who: Who, uow: UoW) -> Response:
    return _users_page(request, who, uow)


@router.post("/users")
async def user_create(request: Request, who: Who, uow: UoW) -> Response:
    form = await request.form()
    cmd = auth.NewUser(
        **{
            k: str(form.get(k, ""))
            for k in ("username", "password", "role", "nation", "org", "station")
        }
    )
    try:
        auth.create_user(cmd, who, uow)
    except InvalidInput as e:
        values: dict[str, object] = {k: v for k, v in form.items() if k != "password"}
        return _users_page(request, who, uow, e.by_field(), values, status=422)
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{user_id}/token")
async def user_token(request: Request, user_id: int, who: Who, uow: UoW) -> Response:
    form = await request.form()
    try:
        token = auth.issue_token(user_id, str(form.get("name", "")), who, uow)
    except InvalidInput as e:
        return _users_page(request, who, uow, e.by_field(), status=422)
    return _users_page(request, who, uow, token=token)


@router.post("/users/{user_id}/active")
async def user_active(request: Request, user_id: int, who: Who, uow: UoW) -> Response:
    form = await request.form()
    auth.set_active(user_id, str(form.get("active", "")) == "1", who, uow)
    return RedirectResponse("/users", status_code=303)


@router.post("/tokens/{token_id}/revoke")
def token_revoke(token_id: int, who: Who, uow: UoW) -> Response:
    auth.revoke_token(token_id, who, uow)
    return RedirectResponse("/users", status_code=303)


@router.get("/audit")
def audit_page(
    request: Request,
    who: Who,
    uow: UoW,
    action: str = "",
    username: str = "",
    entity: str = "",
    entity_id: str = "",
    outcome: str = "",
    before: int | None = None,
) -> Response:
    filters = {
        "action": action,
        "username": username,
        "entity": entity,
        "entity_id": entity_id,
        "outcome": outcome,
    }
    rows = audit_trail(who, uow, 100, before, **filters)
    head = audit_log.shown_head(who, uow)  # no entry of its own: seals, not personal data
    return render(
        request,
        "pages/audit.html",
        {
            "rows": rows,
            "f": filters,
            "head": head,
        },
    )
