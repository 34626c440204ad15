"""People and household pages: search, records with history, forms with messages beside fields."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from safepassage.domain.access import Action, PeopleFilter, allowed
from safepassage.domain.errors import InvalidInput
from safepassage.domain.people import Category, DocumentKind, Need, Person, Relationship, Sex
from safepassage.domain.pipeline import PersonStatus, StationKind
from safepassage.services import households, passes, people, stations
from safepassage.services.common import authorize
from safepassage.services.nations import list_nations
from safepassage.services.planning_board import household_plan
from safepassage.web.deps import UoW, Who
from safepassage.web.render import partial, render

router = APIRouter(include_in_schema=False)
DOC_ROWS = 3
MEMBER_ROWS = 12

CHOICES = {
    "sex": Sex,
    "category": Category,
    "need": Need,
    "status": PersonStatus,
    "doc_kind": DocumentKind,
    "relationship": Relationship,
}


def _split(text: str) -> list[str]:
    return [x.strip() for x in text.replace(";", ",").split(",") if x.strip()]


def person_input(form: FormData) -> people.PersonInput:
    docs = [
        people.DocumentInput(
            str(form.get(f"doc_kind_{i}", "passport")),
            str(form.get(f"doc_number_{i}", "")),
            str(form.get(f"doc_country_{i}", "")) or None,
            str(form.get(f"doc_expiry_{i}", "")) or None,
        )
        for i in range(1, DOC_ROWS + 1)
    ]
    return people.PersonInput(
        **{
            k: str(form.get(k, ""))
            for k in (
                "given_name",
                "father_name",
                "family_name",
                "native_given_name",
                "native_father_name",
                "native_family_name",
                "date_of_birth",
                "sponsor_org",
                "phone",
            )
        },
        sex=str(form.get("sex", "U")),
        dob_calendar=str(form.get("dob_calendar", "gregorian")),
        nationalities=_split(str(form.get("nationalities", ""))),
        category=str(form.get("category", "other")),
        sponsoring_nation=str(form.get("sponsoring_nation", "")) or None,
        needs=[str(n) for n in form.getlist("needs")],
        documents=docs,
        version=int(str(form.get("version", "0")) or 0),
    )


def form_values(p: Person) -> dict[str, Any]:
    v: dict[str, Any] = {
        k: getattr(p, k) or ""
        for k in (
            "given_name",
            "father_name",
            "family_name",
            "native_given_name",
            "native_father_name",
            "native_family_name",
            "sponsor_org",
            "phone",
            "sponsoring_nation",
        )
    }
    v |= {
        "sex": p.sex.value,
        "category": p.category.value,
        "version": p.version,
        "nationalities": ", ".join(p.nationalities),
        "needs": [n.value for n in p.needs],
        "date_of_birth": p.date_of_birth.original if p.date_of_birth else "",
        "dob_calendar": p.date_of_birth.calendar.value if p.date_of_birth else "gregorian",
    }
    for i, d in enumerate(p.documents[:DOC_ROWS], start=1):
        v |= {
            f"doc_kind_{i}": d.kind.value,
            f"doc_number_{i}": d.number,
            f"doc_country_{i}": d.issuing_country or "",
            f"doc_expiry_{i}": d.expiry.isoformat() if d.expiry else "",
        }
    return v


def _form_page(
    request: Request,
    who: Who,
    uow: UoW,
    values: dict[str, Any],
    errors: dict[str, str],
    action: str,
    title: str,
    status: int = 200,
) -> Response:
    nations = list_nations(who, uow).nations
    return render(
        request,
        "pages/person_form.html",
        {
            "v": values,
            "errors": errors,
            "action": action,
            "title": title,
            "choices": CHOICES,
            "nations": nations,
            "doc_rows": range(1, DOC_ROWS + 1),
        },
        status_code=status,
    )


@router.get("/people")
def people_list(
    request: Request,
    who: Who,
    uow: UoW,
    q: str = "",
    nation: str = "",
    category: str = "",
    status: str = "",
    need: str = "",
    page: int = 1,
    after: int = 0,
) -> Response:
    f = PeopleFilter(
        nation=nation or None, category=category or None, status=status or None, need=need or None
    )
    result = people.search_people(q, f, who, uow, page=page, after=after)
    ctx = {
        "r": result,
        "q": q,
        "f": f,
        "choices": CHOICES,
        "nations": list_nations(who, uow).nations,
    }
    if partial(request):
        return render(request, "partials/people_results.html", ctx)
    return render(request, "pages/people.html", ctx)


@router.get("/people/new")
def person_new(request: Request, who: Who, uow: UoW) -> Response:
    authorize(who, Action.PERSON_WRITE, uow)
    values = {
        "sponsoring_nation": who.nation or "",
        "sponsor_org": who.org or "",
        "dob_calendar": "gregorian",
        "sex": "U",
        "category": "other",
        "version": 0,
    }
    return _form_page(request, who, uow, values, {}, "/people/new", "Register a person")


@router.post("/people/new")
async def person_create(request: Request, who: Who, uow: UoW) -> Response:
    form = await request.form()
    try:
        pid = people.create_person(person_input(form), who, uow)
    except InvalidInput as e:
        return _form_page(
            request,
            who,
            uow,
            dict(form) | {"needs": form.getlist("needs")},
            e.by_field(),
            "/people/new",
            "Register a person",
            422,
        )
    return RedirectResponse(f"/people/{pid}", status_code=303)


@router.get("/people/{person_id}")
def person_page(request: Request, person_id: int, who: Who, uow: UoW) -> Response:
    return render(request, "pages/person.html", {"v": people.get_person(person_id, who, uow)})


@router.get("/people/{person_id}/edit")
def person_edit(request: Request, person_id: int, who: Who, uow: UoW) -> Response:
    authorize(who, Action.PERSON_WRITE, uow)
    view = people.get_person(person_id, who, uow)
    return _form_page(
        request,
        who,
        uow,
        form_values(view.person),
        {},
        f"/people/{person_id}/edit",
        f"Edit {view.person.display_name}",
    )


@router.post("/people/{person_id}/edit")
async def person_update(request: Request, person_id: int, who: Who, uow: UoW) -> Response:
    form = await request.form()
    try:
        people.update_person(person_id, person_input(form), who, uow)
    except InvalidInput as e:
        return _form_page(
            request,
            who,
            uow,
            dict(form) | {"needs": form.getlist("needs")},
            e.by_field(),
            f"/people/{person_id}/edit",
            "Edit person",
            422,
        )
    return RedirectResponse(f"/people/{person_id}", status_code=303)


def _members(form: FormData) -> list[tuple[int, str]]:
    out = []
    for i in range(1, MEMBER_ROWS + 1):
        pid = str(form.get(f"member_{i}", "")).strip()
        if pid:
            if not pid.isdigit():
                raise InvalidInput(f"row {i}: {pid!r} is not a person number", field="members")
            out.append((int(pid), str(form.get(f"relationship_{i}", "other"))))
    return out


def _household_form(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str],
    action: str,
    title: str,
    status: int = 200,
) -> Response:
    return render(
        request,
        "pages/household_form.html",
        {
            "v": values,
            "errors": errors,
            "action": action,
            "title": title,
            "rows": range(1, MEMBER_ROWS + 1),
            "relationships": list(Relationship),
        },
        status_code=status,
    )


@router.get("/households/new")
def household_new(request: Request, who: Who, uow: UoW, head: int | None = None) -> Response:
    authorize(who, Action.PERSON_WRITE, uow)
    values = {"member_1": head or "", "relationship_1": "head", "version": 0}
    return _household_form(request, values, {}, "/households/new", "New household")


@router.post("/households/new")
async def household_create(request: Request, who: Who, uow: UoW) -> Response:
    form = await request.form()
    try:
        hid = households.create_household(households.HouseholdInput(_members(form)), who, uow)
    except InvalidInput as e:
        return _household_form(
            request, dict(form), e.by_field(), "/households/new", "New household", 422
        )
    return RedirectResponse(f"/households/{hid}", status_code=303)


@router.get("/households/{household_id}")
def household_page(request: Request, household_id: int, who: Who, uow: UoW) -> Response:
    view = households.get_household(household_id, who, uow)
    partners = [n for n in list_nations(who, uow).nations if n.operating]
    calls: dict[str, Any] = {}
    if view.can_edit and allowed(who, Action.PASS_ISSUE):
        calls = {
            "passes": passes.passes_of_household(household_id, who, uow),
            "gates": [
                s
                for s in stations.list_stations(who, uow)
                if s.kind is StationKind.GATE and s.active
            ],
            "start": uow.now().strftime("%Y-%m-%dT%H:%M"),
        }
    planned = household_plan(household_id, who, uow) if allowed(who, Action.PLAN_VIEW) else None
    return render(
        request,
        "pages/household.html",
        {"h": view, "partners": partners, "calls": calls, "planned": planned},
    )


@router.get("/households/{household_id}/edit")
def household_edit(request: Request, household_id: int, who: Who, uow: UoW) -> Response:
    authorize(who, Action.PERSON_WRITE, uow)
    view = households.get_household(household_id, who, uow)
    values: dict[str, Any] = {"version": view.version}
    for i, m in enumerate(view.members, start=1):
        values[f"member_{i}"] = m.id
        values[f"relationship_{i}"] = m.relationship.value if m.relationship else "other"
    return _household_form(
        request, values, {}, f"/households/{household_id}/edit", f"Household {view.reference}"
    )


@router.post("/households/{household_id}/edit")
async def household_update(request: Request, household_id: int, who: Who, uow: UoW) -> Response:
    form = await request.form()
    try:
        households.update_household(
            household_id,
            households.HouseholdInput(_members(form), int(str(form.get("version", "0")) or 0)),
            who,
            uow,
        )
    except InvalidInput as e:
        return _household_form(
            request,
            dict(form),
            e.by_field(),
            f"/households/{household_id}/edit",
            "Edit household",
            422,
        )
    return RedirectResponse(f"/households/{household_id}", status_code=303)


@router.post("/households/{household_id}/offer")
async def household_offer(request: Request, household_id: int, who: Who, uow: UoW) -> Response:
    form = await request.form()
    households.offer_household(household_id, str(form.get("nation", "")), who, uow)
    return RedirectResponse(f"/households/{household_id}", status_code=303)
