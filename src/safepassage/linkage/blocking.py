"""Blocking: which pairs of records the linkage compares at all.

Two records are a candidate pair when they share at least one key. Each key is one letter for
its kind and the values it joins (names as consonant keys, so spellings meet; a birth year is
each of the first two years a partial date allows):

* ``g`` given name and birth year;
* ``s`` given name with the father's or the family name, in either order (lists swap them);
* ``e`` the given name with one letter left out, and birth year (a typo in the given name);
* ``x`` father's and family name and birth year (a badly spelled given name);
* ``b`` the full date of birth and the given name's first letter;
* ``c`` the full date of birth and the father's or the family name;
* ``d`` a document number (folded for OCR confusions), ``p`` a phone number.

A key shared by more records than its limit says too little (a phone shared by a whole office)
and is skipped; the engine reports how many were.
"""

from __future__ import annotations

KEYS = """
CREATE TABLE keys AS
WITH r AS (
    SELECT id, g_key, g_dels, dob_day, dob_lo,
        [replace(x, ' ', '') FOR x IN [f_skel, fam_skel] IF x <> ''] AS surnames,
        CASE WHEN dob_lo IS NULL THEN []
            ELSE range(year(dob_lo), least(year(dob_hi), year(dob_lo) + 1) + 1) END AS years,
        docs, phone
    FROM rec
)
SELECT id, 'g' || g_key || '#' || unnest(years) AS k FROM r WHERE g_key <> ''
UNION ALL SELECT id, 's' || least(g_key, x) || '#' || greatest(g_key, x)
    FROM (SELECT id, g_key, unnest(surnames) AS x FROM r WHERE g_key <> '')
UNION ALL SELECT id, 'e' || unnest(string_split(g_dels, '|')) || '#' || y
    FROM (SELECT id, g_dels, unnest(years) AS y FROM r WHERE g_dels <> '')
UNION ALL SELECT id, 'x' || array_to_string(surnames, '#') || '#' || unnest(years)
    FROM r WHERE len(surnames) = 2
UNION ALL SELECT id, 'b' || dob_lo || left(g_key, 1) FROM r WHERE dob_day AND g_key <> ''
UNION ALL SELECT id, 'c' || dob_lo || '#' || unnest(surnames) FROM r WHERE dob_day
UNION ALL SELECT id, 'd' || unnest(string_split(docs, '|')) FROM r WHERE docs <> ''
UNION ALL SELECT id, 'p' || phone FROM r WHERE phone <> '';
CREATE TABLE block AS SELECT k, count(*) AS n FROM keys GROUP BY k;
"""

# the most records a key may be shared by: max_block, a fifth of it for given + surname without
# a year, a quarter for the one-typo neighbourhoods
LIMIT = "$max_block / CASE left(k, 1) WHEN 's' THEN 5 WHEN 'e' THEN 4 ELSE 1 END"

PAIRS = f"""
CREATE TABLE pairs AS
WITH usable AS (
    SELECT keys.k, keys.id FROM keys JOIN block USING (k) WHERE block.n BETWEEN 2 AND {LIMIT}
)
SELECT DISTINCT a.id AS a, b.id AS b FROM usable a JOIN usable b ON a.k = b.k AND a.id < b.id
"""


SKIPPED = f"SELECT count(*), count(*) FILTER (WHERE n > {LIMIT}) FROM block"
"""How many keys there are, and how many are shared by too many records to be used."""
