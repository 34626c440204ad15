"""A scan's write on PostgreSQL as one statement (``scans_repo`` says why a scan writes once)."""

from __future__ import annotations

import functools

import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.adapters.db.counters import COUNT_SLOT_PG

# The write on PostgreSQL, one statement: the scan; an event per person (in the order given);
# the states that change, each only from the state the decision read; the counters (in key
# order, so that concurrent writers lock them in one order); at the manifest, the entries; at
# boarding, the entries boarded, each only if not boarded yet. The last line fails the whole
# statement (nothing written) unless exactly the expected people were moved and boarded. The
# people come as one JSON array of [id, state before, state after], the counters' moves as one
# of [status, nation, category, org, n]: two parameters where there were eleven arrays (the
# driver's work on the arrays was a tenth of the server's CPU a scan). Each station kind has
# its statement, without the parts it never uses: PostgreSQL prepares each part of a statement
# at every execution. The events' foreign key to the scan is checked at the statement's end.
_INSERT_SCAN = """
  INSERT INTO scan (idem_key, station_id, device, username, at, scanned_at, offline, pass_id,
                    flight_id, outcome, reason, response)
  VALUES (:idem_key, :station_id, :device, :username, :at, :scanned_at, :offline, :pass_id,
          :flight_id, :outcome, :reason, :response)
  RETURNING id
"""
_SCAN_TYPES = (
    sa.bindparam("at", type_=t.UTCDateTime()),
    sa.bindparam("scanned_at", type_=t.UTCDateTime()),
    sa.bindparam("response", type_=sa.LargeBinary()),  # sealed by ``_sealed_scan``
    sa.bindparam("reason", type_=sa.LargeBinary()),
)
_EVENT_TYPES = (sa.bindparam("event_reason", type_=sa.LargeBinary()),)
_WRITE_PARTS = {
    "events": """e AS (
  INSERT INTO person_event (at, person_id, household_id, action, outcome, reason, state_before,
                            state_after, pass_id, station_id, scan_id, flight_id, flight_key,
                            username, device)
  SELECT :at, (m ->> 0)::int, :household_id, 'scan', :outcome, :event_reason, m ->> 1, m ->> 2,
         :pass_id, :station_id, (SELECT id FROM s), :flight_id, :flight_key, :username, :device
  FROM json_array_elements(:moves) AS m
  RETURNING id, person_id
)""",
    "states": """u AS (
  UPDATE person SET status = m ->> 2, updated_at = :at
  FROM json_array_elements(:moves) AS m
  WHERE person.id = (m ->> 0)::int AND m ->> 1 <> m ->> 2 AND person.status = m ->> 1
  RETURNING person.id
)""",
    "counters": """c AS (
  INSERT INTO person_count (status, nation, category, org, slot, n)
  SELECT k ->> 0, k ->> 1, k ->> 2, k ->> 3, """
    + COUNT_SLOT_PG
    + """, (k ->> 4)::int
  FROM json_array_elements(:counts) AS k
  ON CONFLICT (status, nation, category, org, slot) DO UPDATE SET n = person_count.n + excluded.n
)""",
    "manifest": """mf AS (
  INSERT INTO manifest_entry (person_id, flight_id, manifested_event)
  SELECT e.person_id, :flight_id, e.id FROM e
)""",
    "boarding": """b AS (
  UPDATE manifest_entry SET boarded_event = e.id
  FROM e
  WHERE manifest_entry.person_id = e.person_id AND manifest_entry.boarded_event IS NULL
  RETURNING manifest_entry.person_id
)""",
}


@functools.cache
def record_scan_pg(flight_action: str) -> sa.TextClause:
    """The write of a scan at a station of this kind ("manifest", "boarding", or "" for the
    others), built once."""
    parts = ["s AS (" + _INSERT_SCAN + ")"]
    parts += [_WRITE_PARTS[k] for k in ("events", "states", "counters")]
    expected = "(SELECT count(*) FROM u) = :n_moved"
    if flight_action:
        parts.append(_WRITE_PARTS[flight_action])
    if flight_action == "boarding":
        expected += " AND (SELECT count(*) FROM b) = :n_people"
    return sa.text(
        "WITH "
        + ",\n".join(parts)
        + "\nSELECT (SELECT id FROM s), safepassage_expect("
        + expected
        + ", 'someone on this pass was moved by another scan a moment ago')"
    ).bindparams(
        *_SCAN_TYPES,
        *_EVENT_TYPES,
        *(sa.bindparam(n, type_=sa.JSON()) for n in ("moves", "counts")),
    )


RECORD_REFUSED_PG = sa.text(
    "WITH s AS ("
    + _INSERT_SCAN
    + """), c AS (
  INSERT INTO scan_conflict (pass_id, station_id, first_scan_id, second_scan_id, detected_at)
  SELECT :pass_id, :station_id, :first_scan_id, s.id, :at FROM s WHERE :conflict
)
SELECT id FROM s
"""
).bindparams(*_SCAN_TYPES)
