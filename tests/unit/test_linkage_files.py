"""A linkage run holds the registry's names, dates of birth and documents: none of it may lie on
disk, during the run or after it."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest

from safepassage.linkage.engine import Linker
from safepassage.linkage.features import LinkRecord
from safepassage.linkage.model import Model

CANARY, DOCUMENT = "Zarghunaqanary", "X9876543"


def _records() -> list[LinkRecord]:
    born = dt.date(1991, 8, 3)
    person = {"father_name": "Ghulam", "family_name": "Haidari", "sex": "F"}
    return [
        LinkRecord(
            1,
            CANARY,
            **person,
            dob_earliest=born,
            dob_latest=born,
            dob_precision="day",
            documents=(DOCUMENT,),
            phone="+93701234567",
            household=1,
            source=1,
        ),
        LinkRecord(
            2,
            CANARY,
            **person,
            dob_earliest=born,
            dob_latest=born,
            dob_precision="day",
            documents=(DOCUMENT,),
            household=2,
            source=2,
        ),
        LinkRecord(3, "Bilal", father_name="Ahmad", family_name="Karimi", sex="M", source=2),
    ]


def _secrets_in(folder: Path) -> list[str]:
    found = []
    for p in folder.rglob("*"):
        if p.is_file():
            content = p.read_bytes()
            for secret in (CANARY, CANARY.lower(), DOCUMENT, "haidari", "+93701234567"):
                if secret.encode() in content:
                    found.append(f"{p.name}: {secret}")
    return found


def test_a_linkage_run_leaves_no_personal_data_in_the_temporary_folder_during_or_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # where DuckDB would spill (./.tmp) if not told otherwise
    looked: dict[str, list[str]] = {}

    def look(stage: str, done: int, total: int) -> None:  # at every stage, while it runs
        looked[stage] = _secrets_in(tmp_path)
        for d in (p for p in tmp_path.rglob("*") if p.is_dir()):
            assert d.stat().st_mode & 0o777 == 0o700, f"{d} is readable by others"

    with Linker(Model.load(), progress=look) as linker:
        pairs, _ = linker.run(_records(), 3)
    assert [(p.a, p.b) for p in pairs if p.score >= linker.model.upper] == [(1, 2)]
    assert {"features", "blocking", "comparing", "households"} <= set(looked)
    assert looked == {stage: [] for stage in looked}
    assert list(tmp_path.rglob("*")) == []  # the run's spill directory is gone too
