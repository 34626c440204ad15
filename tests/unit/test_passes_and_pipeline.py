"""Passes and the pipeline's rules, without a database."""

from __future__ import annotations

import datetime as dt

import pytest

from safepassage.adapters.crypto import PassSigner, PassVerifier, new_signing_key
from safepassage.domain import passes
from safepassage.domain.errors import InvalidInput
from safepassage.domain.pipeline import (
    IllegalTransition,
    PersonStatus,
    Station,
    StationKind,
    after_call_forward,
    after_departure,
    after_refusal,
    after_station,
)

SECRET = "a-secret-of-at-least-thirty-two-characters"
T0 = dt.datetime(2021, 8, 21, 6, 0, tzinfo=dt.UTC)
NAMES = ["Ahmad Karimi", "Farida Karimi", "کریمی امید"]


def claims(**kw: object) -> passes.PassClaims:
    base: dict[str, object] = {
        "pass_id": 4812,
        "household_id": 77,
        "valid_from": T0,
        "valid_until": T0 + dt.timedelta(hours=6),
        "gate_station_id": 3,
        "persons": 3,
        "lap_infants": 1,
        "names_digest": passes.names_digest(NAMES),
    }
    return passes.PassClaims(**(base | kw))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def keys() -> tuple[PassSigner, PassVerifier]:
    k = new_signing_key(SECRET, 1)
    return PassSigner(1, k.sealed_private, SECRET), PassVerifier({1: k.public})


def test_a_pass_fits_in_one_sms_and_reads_back_exactly(
    keys: tuple[PassSigner, PassVerifier],
) -> None:
    signer, verifier = keys
    code = passes.sign(claims(), signer)
    assert len(code) == 153 and code.startswith("SP") and code.isalnum()
    read = passes.read(passes.qr_text(code, NAMES), verifier)
    assert read.claims == claims() and read.names == tuple(NAMES) and read.code == code
    typed = "-".join(code[i : i + 5] for i in range(0, len(code), 5)).lower().replace("0", "o")
    assert passes.read(typed, verifier).claims == claims()


def test_crockford_base32_round_trips_any_bytes() -> None:
    for data in (b"", b"\x00", b"\xff" * 7, bytes(range(94))):
        assert passes.b32decode(passes.b32encode(data), len(data)) == data


def test_a_pass_signed_with_another_key_or_altered_is_refused(
    keys: tuple[PassSigner, PassVerifier],
) -> None:
    signer, verifier = keys
    other = new_signing_key(SECRET, 1)
    forged = passes.sign(claims(), PassSigner(1, other.sealed_private, SECRET))
    with pytest.raises(passes.PassRefused) as e:
        passes.read(forged, verifier)
    assert e.value.reason is passes.Refusal.FORGED
    code = passes.sign(claims(), signer)
    with pytest.raises(passes.PassRefused) as e:
        passes.read(passes.qr_text(code, ["Ahmad Karimi", "Farida Karimi"]), verifier)
    assert e.value.reason is passes.Refusal.ALTERED


def test_the_sealed_key_opens_only_with_its_secret() -> None:
    k = new_signing_key(SECRET, 2)
    with pytest.raises(Exception, match="cannot be unsealed"):
        PassSigner(2, k.sealed_private, "another-secret-of-thirty-two-characters")
    with pytest.raises(Exception, match="cannot be unsealed"):
        PassSigner(3, k.sealed_private, SECRET)  # the key id is bound into the seal


def test_claims_refuse_what_no_pass_can_say() -> None:
    with pytest.raises(InvalidInput, match="lap infants"):
        claims(lap_infants=4)
    with pytest.raises(InvalidInput, match="end after"):
        claims(valid_until=T0)
    with pytest.raises(InvalidInput, match="between 1 and 255"):
        claims(persons=0)


def test_the_checks_come_in_the_order_the_operator_needs() -> None:
    c = claims()
    late = T0 + dt.timedelta(hours=7)
    with pytest.raises(passes.PassRefused) as e:
        passes.check(c, late, 9, True, revoked="sold")
    assert e.value.reason is passes.Refusal.REVOKED and "sold" in str(e.value)
    with pytest.raises(passes.PassRefused) as e:
        passes.check(c, late, 9, True)
    assert e.value.reason is passes.Refusal.EXPIRED and "21 Aug 12:00 UTC" in str(e.value)
    with pytest.raises(passes.PassRefused) as e:
        passes.check(c, T0 + dt.timedelta(hours=1), 9, True)
    assert e.value.reason is passes.Refusal.WRONG_GATE
    passes.check(c, T0 + dt.timedelta(hours=1), 9, False)  # later stations take any gate's pass


LINE = [
    Station(1, "GATE", "Gate", StationKind.GATE, 0),
    Station(2, "DOCS", "Documents", StationKind.DOCUMENTS, 10),
    Station(3, "SEC", "Security", StationKind.SECURITY, 20),
    Station(4, "MED", "Medical", StationKind.MEDICAL, 30, frozenset({"student"})),
    Station(5, "MAN", "Manifest", StationKind.MANIFEST, 40),
]


def test_stations_are_passed_in_order_and_optional_ones_skipped() -> None:
    s = PersonStatus
    assert after_station(s.CALLED_FORWARD, LINE[0], "citizen", LINE) is s.AT_GATE
    with pytest.raises(IllegalTransition, match="has not been through Gate"):
        after_station(s.CALLED_FORWARD, LINE[1], "citizen", LINE)
    assert after_station(s.SCREENED, LINE[4], "citizen", LINE) is s.MANIFESTED
    with pytest.raises(IllegalTransition, match="has not been through Medical"):
        after_station(s.SCREENED, LINE[4], "student", LINE)
    assert after_station(s.SCREENED, LINE[3], "citizen", LINE) is s.MEDICALLY_CLEARED
    with pytest.raises(IllegalTransition, match="already"):
        after_station(s.DOCUMENTS_CHECKED, LINE[1], "citizen", LINE)
    with pytest.raises(IllegalTransition, match="not called forward"):
        after_station(s.REGISTERED, LINE[0], "citizen", LINE)
    with pytest.raises(IllegalTransition, match="refused"):
        after_station(s.REFUSED, LINE[0], "citizen", LINE)


def test_the_other_transitions() -> None:
    s = PersonStatus
    assert after_call_forward(s.NO_SHOW) is s.CALLED_FORWARD
    with pytest.raises(IllegalTransition):
        after_call_forward(s.AT_GATE)
    assert after_refusal(s.AT_GATE) is s.REFUSED
    with pytest.raises(IllegalTransition):
        after_refusal(s.BOARDED)
    with pytest.raises(IllegalTransition, match="not on board"):
        after_departure(s.MANIFESTED)


def test_a_station_code_and_name_are_checked() -> None:
    with pytest.raises(InvalidInput) as e:
        Station(1, "gate north", "", StationKind.GATE, -1)
    assert set(e.value.by_field()) == {"code", "name", "position"}
