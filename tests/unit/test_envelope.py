"""The key hierarchy for personal fields (adapters/envelope.py): what opens, what does not."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from safepassage.adapters import envelope
from safepassage.adapters.envelope import Argon2Params, Vault
from safepassage.domain.errors import ConfigurationError, Unreadable

FAST = Argon2Params(b"0123456789abcdef", time_cost=1, memory_kib=8, parallelism=1)
NAME = b"person.given_name"


def _vault(kek: bytes, *scopes: str) -> tuple[Vault, list[envelope.WrappedKey]]:
    vault = Vault()
    return vault, [vault.new_key(kek, s) for s in scopes]


def test_a_field_sealed_opens_again_and_hides_its_text() -> None:
    vault, _ = _vault(b"k" * 32, "DE")
    key = vault.current("DE")
    sealed = key.seal("محمد کریمی", NAME)
    assert "محمد".encode() not in sealed and b"Karimi" not in sealed
    assert key.open(sealed, NAME) == "محمد کریمی"
    assert key.seal("محمد کریمی", NAME) != sealed  # a fresh nonce each time: equal names hide


def test_a_sealed_value_moved_to_another_column_or_altered_does_not_open() -> None:
    key = _vault(b"k" * 32, "DE")[0].current("DE")
    sealed = key.seal("P1234567", b"document.number")
    with pytest.raises(Unreadable):
        key.open(sealed, b"person.phone")
    altered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(Unreadable):
        key.open(altered, b"document.number")


def test_one_nations_key_does_not_open_anothers_lists() -> None:
    vault, _ = _vault(b"k" * 32, "DE", "RU")
    sealed = vault.current("DE").seal("Hashimi", NAME)
    with pytest.raises(Unreadable):
        vault.current("RU").open(sealed, NAME)


def test_the_stored_keys_open_only_with_their_key_encryption_key() -> None:
    kek = envelope.kek_from_passphrase("the operation's passphrase", FAST)
    vault, stored = _vault(kek, "DE", envelope.OPERATION)
    sealed = vault.current("DE").seal("Zahra", NAME)
    assert all(b"Zahra" not in w.sealed for w in stored)
    later = Vault()
    with pytest.raises(ConfigurationError, match="does not open the operation's keys"):
        later.unlock(envelope.kek_from_passphrase("a guess", FAST), stored)
    assert later.locked
    later.unlock(envelope.kek_from_passphrase("the operation's passphrase", FAST), stored)
    assert later.key("DE", envelope.version_of(sealed)).open(sealed, NAME) == "Zahra"


def test_a_new_key_encryption_key_rewraps_without_touching_a_field() -> None:
    old, new = b"o" * 32, b"n" * 32
    vault, stored = _vault(old, "DE")
    sealed = vault.current("DE").seal("Nasir", NAME)
    rewrapped = envelope.rewrap(old, new, stored)
    with pytest.raises(ConfigurationError):
        Vault().unlock(old, rewrapped)
    fresh = Vault()
    fresh.unlock(new, rewrapped)
    assert fresh.key("DE", 1).open(sealed, NAME) == "Nasir"


def test_a_new_data_key_version_seals_new_writes_and_the_old_still_opens() -> None:
    kek = b"k" * 32
    vault, stored = _vault(kek, "DE")
    before = vault.current("DE").seal("Ahmad", NAME)
    stored.append(vault.new_key(kek, "DE"))
    after = vault.current("DE").seal("Ahmad", NAME)
    assert (envelope.version_of(before), envelope.version_of(after)) == (1, 2)
    reopened = Vault()
    reopened.unlock(kek, stored)
    for sealed in (before, after):
        key = reopened.key("DE", envelope.version_of(sealed))
        assert key.open(sealed, NAME) == "Ahmad"


def test_a_scope_forgotten_or_its_keys_destroyed_leaves_its_fields_unreadable() -> None:
    kek = b"k" * 32
    vault, stored = _vault(kek, "DE", "RU")
    de = vault.current("DE").seal("Klaus", NAME)
    vault.forget("DE")
    with pytest.raises(Unreadable, match="locked or shredded"):
        vault.key("DE", envelope.version_of(de))
    ru = vault.current("RU")  # the rest of the operation carries on
    assert ru.open(ru.seal("Ivan", NAME), NAME) == "Ivan"
    survivors = [w for w in stored if w.scope != "DE"]  # the nation's wrapped key destroyed
    restarted = Vault()
    restarted.unlock(kek, survivors)
    with pytest.raises(Unreadable):
        restarted.current("DE")
    vault.forget()
    assert vault.locked


def test_blind_indexes_match_equal_tokens_under_one_key_only() -> None:
    vault, _ = _vault(b"k" * 32, "DE", "RU")
    de, ru = vault.current("DE"), vault.current("RU")
    assert de.blind("mhmd") == de.blind("mhmd") != de.blind("ahmd")
    assert de.blind("mhmd") != ru.blind("mhmd")
    assert len(de.blind("mhmd")) == envelope.INDEX_BYTES


def test_a_key_file_is_made_for_its_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "operation.key"
    kek = envelope.new_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert envelope.kek_from_key_file(path) == kek
    with pytest.raises(ConfigurationError, match="never overwritten"):
        envelope.new_key_file(path)
    with pytest.raises(ConfigurationError, match="mount the medium"):
        envelope.kek_from_key_file(tmp_path / "missing.key")
    (tmp_path / "short.key").write_bytes(b"short")
    with pytest.raises(ConfigurationError, match="not a safepassage key file"):
        envelope.kek_from_key_file(tmp_path / "short.key")


def test_a_passphrase_gives_the_same_key_with_its_salt_and_another_with_another() -> None:
    a = envelope.kek_from_passphrase("passphrase", FAST)
    assert a == envelope.kek_from_passphrase("passphrase", FAST)
    other_salt = Argon2Params(b"fedcba9876543210", 1, 8, 1)
    assert a != envelope.kek_from_passphrase("passphrase", other_salt)
    with pytest.raises(ConfigurationError):
        envelope.kek_from_passphrase("", FAST)


def test_bytes_that_are_not_a_sealed_field_are_refused() -> None:
    with pytest.raises(Unreadable):
        envelope.version_of(b"plain text")
