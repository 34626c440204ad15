"""The station's offline pass check, in Chromium: passcheck.js reads a pass as passes.py does.

Passes are signed in Python with the real signer. No server runs: Playwright answers every request
of the page from the package's own static files, at a plain-http LAN address, so that the page is
not a secure context and has no ``crypto.subtle``, as on a station tablet; any other request fails
the tests (the check must work with no network).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Route

from safepassage.adapters.crypto import PassSigner, PassVerifier, b64, new_signing_key
from safepassage.domain import passes
from safepassage.domain.passes import PassClaims, PassRefused, Refusal
from safepassage.web.app import _CSP, STATIC

pytestmark = pytest.mark.e2e

STATION = "http://station.lan"
PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script src="/static/vendor/nacl-fast.min.js"></script>
<script src="/static/passcheck.js"></script></head><body></body></html>"""
SECRET = "e2e-pass-secret-4k8w2z"

START = dt.datetime(2021, 8, 21, 6, 0, tzinfo=dt.UTC)
END = dt.datetime(2021, 8, 21, 12, 0, tzinfo=dt.UTC)
INSIDE = dt.datetime(2021, 8, 21, 9, 30, tzinfo=dt.UTC)
GATE = 3
LATER_STATION = 5
NAMES = ["Muhammad Karimi", "Zarghuna Ahmadzai", "محمد کریمی", "زرغونه احمدزی"]


@dataclass(frozen=True)
class Keys:
    signer: PassSigner
    verifier: PassVerifier
    published: dict[str, str]  # what the server publishes to stations: key id -> b64 of raw key


@pytest.fixture(scope="module")
def keys() -> Keys:
    key = new_signing_key(SECRET, 1)
    return Keys(
        PassSigner(1, key.sealed_private, SECRET),
        PassVerifier({1: key.public}),
        {"1": b64(key.public)},
    )


def issue(
    keys: Keys,
    names: Sequence[str] = NAMES,
    *,
    pass_id: int = 17,
    gate: int = GATE,
    start: dt.datetime = START,
    end: dt.datetime = END,
) -> str:
    digest = passes.names_digest(names)
    # passes.sign takes the key id from the claims, not from the signer: keep them the same
    claims = PassClaims(pass_id, 4242, start, end, gate, 5, 1, digest, keys.signer.key_id)
    return passes.sign(claims, keys.signer)


@pytest.fixture(scope="module")
def page(chromium: Browser) -> Iterator[Page]:
    """The two scripts on a plain-http station page under the app's CSP, with no network."""
    outside: list[str] = []
    errors: list[str] = []

    def serve(route: Route) -> None:
        url = urlsplit(route.request.url)
        if f"{url.scheme}://{url.netloc}" != STATION:
            outside.append(route.request.url)
            route.abort()
        elif url.path == "/":
            route.fulfill(
                body=PAGE, content_type="text/html", headers={"Content-Security-Policy": _CSP}
            )
        elif url.path.startswith("/static/") and (STATIC / url.path[8:]).is_file():
            route.fulfill(path=STATIC / url.path[8:], content_type="text/javascript")
        else:
            route.fulfill(status=404)

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            errors.append(f"console: {msg.text}")

    context = chromium.new_context()
    try:
        context.route("**/*", serve)
        p = context.new_page()
        p.on("console", on_console)
        p.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        p.goto(f"{STATION}/")
        assert p.evaluate("[isSecureContext, typeof crypto.subtle]") == [False, "undefined"]
        assert p.evaluate("typeof SafePassagePass.readPass") == "function"
        yield p
    finally:
        context.close()
    assert not outside, f"the page reached for the network: {outside}"
    assert not errors, "the browser reported errors:\n" + "\n".join(errors)


def ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


READ_JS = """([text, keys]) => {
  const r = SafePassagePass.readPass(text, keys);
  if (!r.ok) return r;
  const when = (d) => (d instanceof Date ? d.getTime() : "not a Date: " + d);
  return {...r, claims: {...r.claims, validFrom: when(r.claims.validFrom),
                         validUntil: when(r.claims.validUntil)}};
}"""


def js_read(page: Page, text: str, keys: Keys, published: dict[str, str] | None = None) -> Any:
    return page.evaluate(READ_JS, [text, keys.published if published is None else published])


def refused(reason: Refusal, detail: str = "", *, in_sentence: bool = False) -> dict[str, Any]:
    """A refusal as passcheck.js returns it; check_window's detail is part of its sentence."""
    sentence = reason.sentence + (f" ({detail})" if in_sentence and detail else "")
    return {"ok": False, "reason": str(reason), "sentence": sentence, "detail": detail}


def py_read(text: str, verifier: PassVerifier) -> dict[str, Any]:
    """passes.read's verdict in the shape of readPass's."""
    try:
        r = passes.read(text, verifier)
    except PassRefused as e:
        return refused(e.reason, e.detail)
    c = r.claims
    claims = {
        "keyId": c.key_id,
        "passId": c.pass_id,
        "householdId": c.household_id,
        "validFrom": ms(c.valid_from),
        "validUntil": ms(c.valid_until),
        "gateStationId": c.gate_station_id,
        "persons": c.persons,
        "lapInfants": c.lap_infants,
    }
    names = None if r.names is None else list(r.names)
    return {"ok": True, "code": r.code, "claims": claims, "names": names}


def test_a_qr_code_with_latin_and_dari_names_reads_as_python_reads_it(page: Page, keys: Keys):
    code = issue(keys)
    text = passes.qr_text(code, NAMES)

    result = js_read(page, text, keys)

    assert result == py_read(text, keys.verifier)
    assert result["names"] == NAMES
    assert result["code"] == code
    assert result["claims"]["validFrom"] == ms(START)
    assert result["claims"]["validUntil"] == ms(END)
    assert (result["claims"]["passId"], result["claims"]["gateStationId"]) == (17, GATE)


def test_a_bare_short_code_reads_with_no_names(page: Page, keys: Keys):
    code = issue(keys)

    result = js_read(page, code, keys)

    assert result == py_read(code, keys.verifier)
    assert result["ok"] is True
    assert result["names"] is None


def test_a_typed_code_in_lower_case_with_letters_for_digits_and_hyphens_reads(
    page: Page, keys: Keys
):
    # a code with both a 0 and a 1 in it, so that O, I and L stand in for something
    code = next(c for c in (issue(keys, pass_id=i) for i in range(1, 200)) if {"0", "1"} <= set(c))
    mistyped = code.lower().replace("0", "o").replace("1", "i", 1).replace("1", "l")
    groups = [mistyped[i : i + 4] for i in range(0, len(mistyped), 4)]
    # hyphens and spaces as printed, a tab and line breaks as an SMS may wrap it
    typed = " \t" + "-".join(groups[:20]) + " \r\n" + " ".join(groups[20:30]) + "\t"
    typed += "- ".join(groups[30:35]) + "\n" + "".join(groups[35:]) + " \n"

    result = js_read(page, typed, keys)

    assert result == py_read(typed, keys.verifier)
    assert result["ok"] is True
    assert result["code"] == code


def changed(code: str, index: int) -> str:
    """The code with one character replaced by the next one of the alphabet."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return code[:index] + alphabet[(alphabet.index(code[index]) + 1) % 32] + code[index + 1 :]


@pytest.mark.parametrize(
    "index",
    [
        pytest.param(100, id="a character of the signature"),
        # characters 2..49 are the 30 bytes of claims; 28 falls inside "valid until"
        pytest.param(28, id="a character of the claims (the window extended)"),
        pytest.param(2, id="the first character (the version)"),
    ],
)
def test_a_code_with_one_character_changed_is_forged(page: Page, keys: Keys, index: int):
    text = passes.qr_text(changed(issue(keys), index), NAMES)

    result = js_read(page, text, keys)

    assert result == py_read(text, keys.verifier)
    assert result == refused(Refusal.FORGED)


@pytest.mark.parametrize(
    "shown",
    [
        pytest.param([*NAMES[:2], "محمد کریمى", NAMES[3]], id="one Dari letter changed"),
        pytest.param(["Muhammad Karimi", "Zarghuna Ahmadzay", *NAMES[2:]], id="one Latin letter"),
        pytest.param(NAMES[:3], id="a member dropped"),
        pytest.param([*NAMES, "Ahmad Shah"], id="a member added"),
        pytest.param([NAMES[1], NAMES[0], *NAMES[2:]], id="members reordered"),
        pytest.param([], id="no names"),
    ],
)
def test_names_changed_on_a_qr_code_are_altered(page: Page, keys: Keys, shown: list[str]):
    text = passes.qr_text(issue(keys), shown)

    result = js_read(page, text, keys)

    assert result == py_read(text, keys.verifier)
    assert result == refused(Refusal.ALTERED)


@pytest.mark.parametrize(
    ("issued", "shown"),
    [
        pytest.param(["Zoë Karimi"], "Zoe\u0308 Karimi", id="decomposed accents (NFC)"),
        pytest.param(["Zahra Karimi\ufeff"], "Zahra Karimi\ufeff", id="a trailing BOM kept"),
        pytest.param(["Ali", "Zahra"], "\u0085Ali\u001f|  Zahra\u00a0", id="Python's whitespace"),
        pytest.param([], "", id="a household with no names"),
    ],
)
def test_names_that_differ_only_as_python_normalises_them_are_not_altered(
    page: Page, keys: Keys, issued: list[str], shown: str
):
    text = issue(keys, issued) + "~" + shown

    result = js_read(page, text, keys)

    assert result == py_read(text, keys.verifier)
    assert result["ok"] is True, result


@pytest.mark.parametrize(
    "key_id",
    [
        pytest.param(2, id="a key id the station does not know"),
        pytest.param(1, id="another key under a known key id"),
    ],
)
def test_a_pass_signed_by_a_key_the_station_does_not_have_is_forged(
    page: Page, keys: Keys, key_id: int
):
    other = new_signing_key(SECRET, key_id)
    code = issue(Keys(PassSigner(key_id, other.sealed_private, SECRET), keys.verifier, {}))

    result = js_read(page, code, keys)

    assert result == py_read(code, keys.verifier)
    assert result == refused(Refusal.FORGED)
    # the same code reads once that key is published to the station
    with_other = {**keys.published, str(key_id): b64(other.public)}
    assert js_read(page, code, keys, with_other)["ok"] is True


def test_a_signature_with_an_unreduced_s_is_forged_as_the_server_finds_it(page: Page, keys: Keys):
    # S + L verifies as S does in textbook Ed25519; OpenSSL refuses it, so must the station
    raw = passes.b32decode(issue(keys)[2:], 94)
    order = 2**252 + 27742317777372353535851937790883648493
    s = int.from_bytes(raw[62:], "little")
    code = "SP" + passes.b32encode(raw[:62] + (s + order).to_bytes(32, "little"))

    result = js_read(page, code, keys)

    assert result == py_read(code, keys.verifier)
    assert result == refused(Refusal.FORGED)


TEXTS: dict[str, Callable[[str], str]] = {
    "empty": lambda code: "",
    "garbage": lambda code: "hello, world",
    "names only": lambda code: "~Muhammad Karimi",
    "the prefix alone": lambda code: "SP",
    "one character short": lambda code: code[:-1],
    "one character long": lambda code: code + "7",
    "a U (not in the alphabet)": lambda code: code[:60] + "U" + code[61:],
    "an emoji": lambda code: code[:60] + "\U0001f600" + code[61:],
    "Dari digits": lambda code: "SP" + "۱" * 151,
}


@pytest.mark.parametrize("make", TEXTS.values(), ids=TEXTS.keys())
def test_text_that_is_not_a_pass_is_unreadable_for_the_reason_python_gives(
    page: Page, keys: Keys, make: Callable[[str], str]
):
    text = make(issue(keys))

    result = js_read(page, text, keys)

    assert result == py_read(text, keys.verifier)
    assert result["reason"] == "unreadable"
    assert result["sentence"] == "This is not a readable pass. Scan it again or type the code."
    assert result["detail"]


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"version": 2}, id="version 2"),
        pytest.param({"persons": 0, "infants": 0}, id="no persons"),
        pytest.param({"persons": 2, "infants": 3}, id="more infants than persons"),
        pytest.param({"end": ms(START) // 1000}, id="ends as it starts"),
    ],
)
def test_a_signed_code_that_no_pass_could_be_is_unreadable(
    page: Page, keys: Keys, fields: dict[str, int]
):
    f = {"version": 1, "persons": 2, "infants": 0, "end": ms(END) // 1000, **fields}
    start = ms(START) // 1000
    layout = ">BBIIIIHBB8s"  # version, key id, pass, household, from, until, gate, ...
    digest = passes.names_digest(NAMES)
    fields = (f["version"], 1, 9, 9, start, f["end"], GATE, f["persons"], f["infants"], digest)
    body = struct.pack(layout, *fields)
    code = "SP" + passes.b32encode(body + keys.signer.sign(passes.SIGNING_CONTEXT + body))

    result = js_read(page, code, keys)

    assert result == py_read(code, keys.verifier)
    assert result["reason"] == "unreadable"


def test_sha256_agrees_with_python_across_block_boundaries(page: Page):
    messages = [bytes((i * 7 + 3) & 255 for i in range(n)) for n in range(0, 200)]
    messages.append("\n".join(NAMES).encode())

    hexes = page.evaluate(
        """(messages) => messages.map((m) => Array.from(SafePassagePass.sha256(
             new Uint8Array(m)), (b) => b.toString(16).padStart(2, "0")).join(""))""",
        [list(m) for m in messages],
    )

    assert hexes == [hashlib.sha256(m).hexdigest() for m in messages]


CHECK_JS = """([text, keys, o]) => SafePassagePass.checkPass(SafePassagePass.readPass(text, keys),
  {now: new Date(o.now), stationId: o.stationId, stationIsGate: o.stationIsGate,
   revoked: o.revokedAsArray ? o.revoked : new Set(o.revoked), used: new Set(o.used)})"""


@dataclass(frozen=True)
class Station:
    now: dt.datetime = INSIDE
    station_id: int = GATE
    is_gate: bool = True
    revoked: tuple[Any, ...] = ()
    used: tuple[str, ...] = ()


def js_check(page: Page, keys: Keys, code: str, at: Station, *, as_array: bool = False) -> Any:
    options = {
        "now": ms(at.now),
        "stationId": at.station_id,
        "stationIsGate": at.is_gate,
        "revoked": list(at.revoked),
        "revokedAsArray": as_array,
        "used": list(at.used),
    }
    return page.evaluate(CHECK_JS, [code, keys.published, options])


def py_check(keys: Keys, code: str, at: Station) -> dict[str, Any]:
    """What the server decides, in the order the station checks: revoked, window, gate, used."""
    claims = passes.read(code, keys.verifier).claims
    try:
        revoked = "" if claims.pass_id in at.revoked else None
        passes.check(claims, at.now, at.station_id, at.is_gate, revoked)
        if f"{claims.pass_id}:{at.station_id}" in at.used:
            raise PassRefused(Refusal.ALREADY_USED)
    except PassRefused as e:
        return refused(e.reason, e.detail, in_sentence=True)
    return {"ok": True}


@pytest.mark.parametrize(
    "at",
    [
        pytest.param(Station(), id="at its gate"),
        pytest.param(Station(now=START), id="at the first second"),
        pytest.param(Station(station_id=LATER_STATION, is_gate=False), id="at a later station"),
        pytest.param(Station(revoked=(18,), used=("17:4", "18:3")), id="others revoked and used"),
    ],
)
def test_a_pass_in_its_window_at_its_gate_is_admitted(page: Page, keys: Keys, at: Station):
    code = issue(keys)

    assert js_check(page, keys, code, at) == py_check(keys, code, at) == {"ok": True}


@pytest.mark.parametrize(
    ("at", "sentence"),
    [
        pytest.param(
            Station(now=START - dt.timedelta(seconds=1)),
            "Too early: this pass is not valid yet. (valid from 21 Aug 06:00 UTC)",
            id="not yet valid",
        ),
        pytest.param(
            Station(now=START - dt.timedelta(milliseconds=1)),
            "Too early: this pass is not valid yet. (valid from 21 Aug 06:00 UTC)",
            id="a millisecond early",
        ),
        pytest.param(
            Station(now=END),
            "EXPIRED: this pass's time window has ended. (ended 21 Aug 12:00 UTC)",
            id="expired",
        ),
        pytest.param(
            Station(revoked=(17,)), "REVOKED: this pass was withdrawn. Do not admit.", id="revoked"
        ),
        pytest.param(
            Station(station_id=4), "WRONG GATE: this pass is for another entry gate.", id="gate"
        ),
        pytest.param(
            Station(used=("17:3",)),
            "ALREADY USED at this station. Do not admit a second time.",
            id="already used",
        ),
        pytest.param(
            Station(station_id=LATER_STATION, is_gate=False, used=(f"17:{LATER_STATION}",)),
            "ALREADY USED at this station. Do not admit a second time.",
            id="already used at a later station",
        ),
        # one sentence when several checks fail: revoked, then the window, the gate, used
        pytest.param(
            Station(now=END, revoked=(17,), station_id=4, used=("17:4",)),
            "REVOKED: this pass was withdrawn. Do not admit.",
            id="revoked first",
        ),
        pytest.param(
            Station(now=END, station_id=4, used=("17:4",)),
            "EXPIRED: this pass's time window has ended. (ended 21 Aug 12:00 UTC)",
            id="then the window",
        ),
        pytest.param(
            Station(revoked=(17,), station_id=4, used=("17:4",)),
            "REVOKED: this pass was withdrawn. Do not admit.",
            id="revoked before the gate",
        ),
        pytest.param(
            Station(station_id=4, used=("17:4",)),
            "WRONG GATE: this pass is for another entry gate.",
            id="the gate before used",
        ),
    ],
)
def test_a_refused_pass_gets_the_first_failed_check_in_the_operators_sentence(
    page: Page, keys: Keys, at: Station, sentence: str
):
    code = issue(keys)

    result = js_check(page, keys, code, at)

    assert result == py_check(keys, code, at)
    assert result["sentence"] == sentence


def test_window_times_are_written_as_python_writes_them_in_every_month(page: Page, keys: Keys):
    for month in range(1, 13):
        start = dt.datetime(2022, month, 3 + month, month + 8, month * 4, tzinfo=dt.UTC)
        code = issue(keys, start=start, end=start + dt.timedelta(days=1, minutes=month))
        for now in (start - dt.timedelta(minutes=1), start + dt.timedelta(days=2)):
            at = Station(now=now)
            assert js_check(page, keys, code, at) == py_check(keys, code, at), start


def test_a_revocation_list_of_id_strings_still_refuses(page: Page, keys: Keys):
    # a list read from JSON or an HTML data attribute may hold "17" rather than 17
    result = js_check(page, keys, issue(keys), Station(revoked=("17",)), as_array=True)

    assert result["reason"] == "revoked"


def test_checking_a_pass_that_did_not_read_returns_why_it_did_not(page: Page, keys: Keys):
    result = js_check(page, keys, changed(issue(keys), 100), Station())

    assert result == refused(Refusal.FORGED)
