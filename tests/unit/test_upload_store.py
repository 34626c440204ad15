"""Uploads kept between preview and import, on real files: sealed, bound to their token, deleted
with their bytes overwritten, swept when abandoned."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from safepassage.adapters.envelope import OPERATION, Vault
from safepassage.adapters.upload_store import GONE, KEEP_SECONDS, Upload, UploadStore, sweep
from safepassage.domain.errors import InvalidInput
from safepassage.web.uploads import upload_key

CANARY = "Zarghunaqanary"
FILENAME = "Haidariqanary family.csv"
LIST = f"Name;Father Name;DOB\n{CANARY};Ghulam;1990\n".encode()
KEY = bytes(range(32))


def _store(tmp_path: Path, key: bytes = KEY) -> UploadStore:
    return UploadStore(key, tmp_path / "uploads")


def _on_disk(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.iterdir())


def test_an_upload_on_disk_holds_neither_its_names_nor_its_file_name(tmp_path: Path) -> None:
    store = _store(tmp_path)
    token = store.keep(Upload(LIST, FILENAME, 7), "liaison.user")
    disk = _on_disk(store.folder())
    for secret in (CANARY, FILENAME, "Haidari", "liaison.user"):
        assert secret.encode() not in disk
        assert secret.encode("utf-16-le") not in disk
    assert {p.name.split(".")[0] for p in store.folder().iterdir()} == {token}
    assert store.kept(token, "liaison.user") == Upload(LIST, FILENAME, 7)


def test_a_data_file_swapped_between_two_uploads_opens_for_neither(tmp_path: Path) -> None:
    store = _store(tmp_path)
    a = store.keep(Upload(LIST, "a.csv", 1), "liaison.user")
    b = store.keep(Upload(b"Name\nOther\n", "b.csv", 1), "liaison.user")
    here = store.folder()
    data_a, data_b = (here / a).read_bytes(), (here / b).read_bytes()
    (here / a).write_bytes(data_b)
    (here / b).write_bytes(data_a)
    for token in (a, b):
        with pytest.raises(InvalidInput, match="upload it again") as e:
            store.kept(token, "liaison.user")
        assert [x.message for x in e.value.errors] == [GONE]


def test_a_meta_file_put_in_place_of_the_data_does_not_open(tmp_path: Path) -> None:
    store = _store(tmp_path)
    token = store.keep(Upload(LIST, "a.csv", 1), "liaison.user")
    here = store.folder()
    (here / token).write_bytes((here / f"{token}.meta").read_bytes())
    with pytest.raises(InvalidInput, match="upload it again"):
        store.kept(token, "liaison.user")


def test_an_upload_does_not_open_under_another_operations_key(tmp_path: Path) -> None:
    one, other = Vault(), Vault()
    one.new_key(b"k" * 32, OPERATION)
    other.new_key(b"k" * 32, OPERATION)
    assert upload_key(one) == upload_key(one) != upload_key(other)
    token = _store(tmp_path, upload_key(one)).keep(Upload(LIST, "a.csv", 1), "liaison.user")
    with pytest.raises(InvalidInput, match="upload it again"):
        _store(tmp_path, upload_key(other)).kept(token, "liaison.user")
    assert _store(tmp_path, upload_key(one)).kept(token, "liaison.user").data == LIST


def test_an_upload_is_for_the_user_who_uploaded_it_only(tmp_path: Path) -> None:
    store = _store(tmp_path)
    token = store.keep(Upload(LIST, "a.csv", 1), "liaison.user")
    with pytest.raises(InvalidInput, match="upload it again"):
        store.kept(token, "other.user")


def test_forgetting_an_upload_overwrites_its_bytes_with_zeros_then_deletes_it(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    token = store.keep(Upload(LIST, "a.csv", 1), "liaison.user")
    data = store.folder() / token
    size = data.stat().st_size
    same_blocks = tmp_path / "hard link to the data"  # sees the file's content after the unlink
    os.link(data, same_blocks)
    store.forget(token)
    assert list(store.folder().iterdir()) == []
    assert same_blocks.read_bytes() == bytes(size)
    with pytest.raises(InvalidInput, match="upload it again"):
        store.kept(token, "liaison.user")


def test_the_sweep_deletes_the_uploads_older_than_four_hours_only(tmp_path: Path) -> None:
    store = _store(tmp_path)
    old = store.keep(Upload(LIST, "old.csv", 1), "liaison.user")
    new = store.keep(Upload(LIST, "new.csv", 1), "liaison.user")
    then = time.time() - KEEP_SECONDS - 60
    for name in (old, f"{old}.meta"):
        os.utime(store.folder() / name, (then, then))
    assert KEEP_SECONDS == 4 * 3600
    assert sweep(store.folder()) == 2
    assert sorted(p.name for p in store.folder().iterdir()) == sorted([new, f"{new}.meta"])
    assert store.kept(new, "liaison.user").filename == "new.csv"


def test_the_uploads_folder_is_private_to_its_owner(tmp_path: Path) -> None:
    store = _store(tmp_path)
    token = store.keep(Upload(LIST, "a.csv", 1), "liaison.user")
    assert store.folder().stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in store.folder().iterdir())
    assert (store.folder() / token).exists()
