"""The public sign-up page: no login, one small page that works without JavaScript on a phone.

Forms carry a double-submit token (cookie ``sp_signup_csrf``, path /signup, like the login form's)
and every POST, accepted or not, counts against the client address's hourly allowance; the
receipt check has an allowance of its own, so that guessing receipt codes is slow.
"""

from __future__ import annotations

import re
import secrets
import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from safepassage.domain.errors import InvalidInput
from safepassage.domain.people import Category, Relationship
from safepassage.services import auth, signup
from safepassage.services.person_input import DocumentInput, PersonInput
from safepassage.web.deps import Sys, UoW, client_address
from safepassage.web.render import render
from safepassage.web.routes.pages_auth import LoginThrottle

router = APIRouter(include_in_schema=False)

SIGNUP_CSRF_COOKIE = "sp_signup_csrf"
SIGNUP_PER_HOUR = 20
"""POSTs (sign-ups, failed or not, and receipt checks, counted apart) per client address/hour."""
FIRST_ROWS = 6  # member rows on the first page; "more rows" shows up to signup.MAX_MEMBERS
HEAD_FIELDS = (
    "given_name",
    "father_name",
    "family_name",
    "sex",
    "date_of_birth",
    "nationality",
    "phone",
    "doc_kind",
    "doc_number",
    "category",
)
MEMBER_FIELDS = ("given_name", "father_name", "sex", "date_of_birth", "relationship")
FIELD_OF = {"nationalities": "nationality", "documents": "doc_number"}  # service → form
CATEGORIES = [
    (Category.CITIZEN.value, "citizen of an evacuating country"),
    (Category.PERMANENT_RESIDENT.value, "permanent resident of an evacuating country"),
    (Category.VISA_HOLDER.value, "holder of a visa"),
    (Category.AT_RISK_STAFF.value, "staff at risk (worked for a foreign mission or army)"),
    (Category.STUDENT.value, "student accepted abroad"),
    (Category.THIRD_COUNTRY_NATIONAL.value, "citizen of another country"),
    (Category.OTHER.value, "other"),
]
RELATIONSHIPS = [(r.value, r.value.replace("_", " ")) for r in Relationship if r.value != "head"]
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
_lock = threading.Lock()


def _throttle(request: Request) -> LoginThrottle:
    state = request.app.state
    with _lock:
        if not hasattr(state, "signup_throttle"):
            state.signup_throttle = LoginThrottle(SIGNUP_PER_HOUR, window=3600)
        return state.signup_throttle  # type: ignore[no-any-return]


def _token(request: Request) -> str:
    """The form token: the browser's own if it has one (several tabs keep working), else new."""
    current = request.cookies.get(SIGNUP_CSRF_COOKIE, "")
    return current if _TOKEN.match(current) else secrets.token_urlsafe(24)


def _page(
    request: Request,
    system: Sys,
    template: str,
    context: dict[str, Any],
    status: int = 200,
    new_token: bool = False,
) -> Response:
    token = secrets.token_urlsafe(24) if new_token else _token(request)
    resp = render(request, template, {"signup_csrf": token, **context}, status_code=status)
    resp.set_cookie(
        SIGNUP_CSRF_COOKIE,
        token,
        path="/signup",
        httponly=True,
        samesite="strict",
        secure=system.settings.cookie_secure,
        max_age=6 * 3600,  # a long form on a slow connection must not expire under one's hands
    )
    return resp


def _form_page(
    request: Request,
    system: Sys,
    values: dict[str, str],
    rows: int,
    errors: dict[str, str] | None = None,
    messages: list[str] | None = None,
    status: int = 200,
) -> Response:
    return _page(
        request,
        system,
        "pages/signup.html",
        {
            "v": values,
            "rows": range(1, rows + 1),
            "row_count": rows,
            "more_rows": rows < signup.MAX_MEMBERS,
            "errors": errors or {},
            "messages": messages or [],
            "categories": CATEGORIES,
            "relationships": RELATIONSHIPS,
        },
        status,
    )


def _values(form: FormData) -> tuple[dict[str, str], int]:
    """What was typed, member rows that hold anything moved up to 1..n (so that the numbers in
    messages match the rows shown), and how many rows to show."""
    values = {k: str(form.get(k, "")).strip() for k in HEAD_FIELDS}
    values["dob_calendar"] = str(form.get("dob_calendar", "gregorian"))
    filled = []
    for i in range(1, signup.MAX_MEMBERS + 1):
        row = {f: str(form.get(f"m{i}_{f}", "")).strip() for f in MEMBER_FIELDS}
        if any(row.values()):
            filled.append(row)
    for n, row in enumerate(filled, start=1):
        values |= {f"m{n}_{f}": v for f, v in row.items()}
    try:
        shown = int(str(form.get("rows", FIRST_ROWS)))
    except ValueError:
        shown = FIRST_ROWS
    rows = min(max(shown, FIRST_ROWS, len(filled)), signup.MAX_MEMBERS)
    return values, rows


def _inputs(v: dict[str, str], rows: int) -> tuple[PersonInput, list[tuple[PersonInput, str]]]:
    calendar = v["dob_calendar"] if v["dob_calendar"] == "solar_hijri" else "gregorian"
    kind = "passport" if v["doc_kind"] == "passport" else "national_id"
    doc = DocumentInput(
        kind,
        v["doc_number"],
        # a tazkira is Afghan; a passport is taken as issued by the nationality given
        "AF" if kind == "national_id" else (v["nationality"] or None),
    )
    category = v["category"] or "other"
    head = PersonInput(
        given_name=v["given_name"],
        father_name=v["father_name"] or None,
        family_name=v["family_name"] or None,
        sex=v["sex"] or "U",
        date_of_birth=v["date_of_birth"] or None,
        dob_calendar=calendar,
        nationalities=[v["nationality"]] if v["nationality"] else [],
        category=category,
        phone=v["phone"] or None,
        documents=[doc] if v["doc_number"] else [],
    )
    members = [
        (
            PersonInput(
                given_name=v[f"m{i}_given_name"],
                father_name=v[f"m{i}_father_name"] or None,
                sex=v[f"m{i}_sex"] or "U",
                date_of_birth=v[f"m{i}_date_of_birth"] or None,
                dob_calendar=calendar,
                category=category,
            ),
            v[f"m{i}_relationship"],
        )
        for i in range(1, rows + 1)
        if f"m{i}_given_name" in v
    ]
    return head, members


def _errors(e: InvalidInput) -> tuple[dict[str, str], list[str]]:
    """Messages keyed by the form's field names, and every message for the summary."""
    by_field: dict[str, str] = {}
    for err in e.errors:
        name = err.field
        if m := re.fullmatch(r"members\.(\d+)\.(\w+)", name):
            name = f"m{m[1]}_{FIELD_OF.get(m[2], m[2])}"
            message = err.message.split(": ", 1)[-1]  # beside its field, "member 2:" is clear
        else:
            name, message = FIELD_OF.get(name, name), err.message
        by_field[name] = f"{by_field[name]} {message}" if name in by_field else message
    return by_field, [err.message for err in e.errors]


def _refused(request: Request, uow: UoW, action: str, reason: str) -> None:
    signup.record_refusal(action, reason, client_address(request), uow)


@router.get("/signup")
def signup_form(request: Request, system: Sys) -> Response:
    return _form_page(request, system, {"dob_calendar": "gregorian"}, FIRST_ROWS)


@router.post("/signup")
async def signup_submit(request: Request, system: Sys, uow: UoW) -> Response:
    source = client_address(request)
    form = await request.form()
    values, rows = _values(form)
    if not _throttle(request).attempt(f"signup:{source}"):
        _refused(request, uow, "signup", "throttled")
        return _form_page(
            request,
            system,
            values,
            rows,
            messages=[
                f"Too many registrations from this connection ({SIGNUP_PER_HOUR} an hour). "
                "Nothing was saved. Please wait an hour and send the form again."
            ],
            status=429,
        )
    if not auth.same_token(
        str(form.get("csrf_token", "")), request.cookies.get(SIGNUP_CSRF_COOKIE, "")
    ):
        _refused(request, uow, "signup", "form token missing or wrong")
        return _form_page(
            request,
            system,
            values,
            rows,
            messages=[
                "This form has expired or was already sent. Nothing was saved. If you already "
                "got a receipt code, keep it: you do not need to register again. Otherwise check "
                "the form and send it again."
            ],
            status=403,
        )
    if form.get("more"):
        return _form_page(request, system, values, signup.MAX_MEMBERS)
    head, members = _inputs(values, rows)
    try:
        receipt = signup.register_household(head, members, source, uow)
    except InvalidInput as e:
        errors, messages = _errors(e)
        return _form_page(request, system, values, rows, errors, messages, 422)
    # a new token: sending the same form again (a reload) cannot register the household twice
    return _page(request, system, "pages/signup_receipt.html", {"receipt": receipt}, new_token=True)


@router.get("/signup/receipt")
def receipt_form(request: Request, system: Sys) -> Response:
    return _page(request, system, "pages/signup_receipt.html", {"checking": True})


@router.post("/signup/receipt")
async def receipt_check(request: Request, system: Sys, uow: UoW) -> Response:
    source = client_address(request)
    form = await request.form()
    code = str(form.get("code", "")).strip()[:40]
    ctx: dict[str, Any] = {"checking": True, "code": code}
    if not _throttle(request).attempt(f"receipt:{source}"):
        _refused(request, uow, "signup.receipt", "throttled")
        ctx["message"] = (
            f"Too many checks from this connection ({SIGNUP_PER_HOUR} an hour). "
            "Please wait an hour and try again."
        )
        return _page(request, system, "pages/signup_receipt.html", ctx, 429)
    if not auth.same_token(
        str(form.get("csrf_token", "")), request.cookies.get(SIGNUP_CSRF_COOKIE, "")
    ):
        _refused(request, uow, "signup.receipt", "form token missing or wrong")
        ctx["message"] = "This form has expired. Please send it again."
        return _page(request, system, "pages/signup_receipt.html", ctx, 403)
    ctx["result"] = signup.check_receipt(code, uow, source)
    ctx["checked"] = True
    return _page(request, system, "pages/signup_receipt.html", ctx)
