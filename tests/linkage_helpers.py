"""Shared by the linkage tests: a person to find again on another list, and a model that sends
every candidate pair to review."""

from __future__ import annotations

from safepassage.linkage.model import FIELDS, Model
from safepassage.services import people

SAME_STUDENT = people.PersonInput(
    given_name="Mohammad",
    father_name="Abdurrahman",
    family_name="Karimi",
    sex="M",
    date_of_birth="1991-08-03",  # 1370/05/12 in the Solar Hijri calendar
    nationalities=["AF"],
    phone="+93 70 123 4567",
    documents=[people.DocumentInput("passport", "P1234567", "AF")],
)

EVERYTHING_FOR_REVIEW = Model(
    {f: {} for f in FIELDS}, prior=0.0, upper=1000.0, lower=-1000.0, trained_on="test"
)
"""Every candidate pair goes to the review queue, none is merged: to test the queue itself."""
