"""Personal fields sealed in the database: column types that seal on the way in, open on the way
out.

Every field that identifies or endangers a person is declared in ``tables.py`` with one of these
types. The unlocked keys (``envelope.Vault``) are attached to the engine (``attach``), so every
statement on it seals and opens with them, whatever path it takes: the repositories, the bulk
writer (``bulk.py`` converts rows with the columns' own types), a migration. No query can write a
personal field in clear by forgetting to seal it, and none can read one without the keys.

A value is sealed under the data key of its scope: ``InScope(nation, value)`` says whose list it
belongs to (a nation's lists under that nation's key, so that it can be shredded alone); a bare
value goes under the operation's key. Each sealed value is bound to its table and column
(``context``): a value copied into another column does not open there.

A field whose scope was shredded reads as gone (``SHREDDED`` for text, None for a date, an empty
document for JSON), so that the pages of the rest of the operation keep working; a locked system
fails loudly (``Unreadable``).

Search never opens a field: it goes through blind indexes (``Vault.blind``) stored beside them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from safepassage.adapters.envelope import DataKey, Vault
from safepassage.domain.errors import Unreadable

SHREDDED = "[shredded]"
"""What a text field reads as once the key it was sealed under was destroyed."""
_VAULT = "safepassage_vault"
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class InScope(NamedTuple):
    """A value to seal under the data key of ``scope`` (a nation's code; None: the operation)."""

    scope: str | None
    value: Any


def attach(engine: sa.Engine, vault: Vault) -> None:
    """Seal and open this engine's personal fields with ``vault``."""
    setattr(engine.dialect, _VAULT, vault)


def vault_of(dialect: sa.Dialect) -> Vault:
    """The vault attached to the engine of ``dialect``.

    Raises:
        Unreadable: when none is (the system was started without its keys).
    """
    vault: Vault | None = getattr(dialect, _VAULT, None)
    if vault is None:
        raise Unreadable(
            "the registry's keys are not unlocked: start the system with its key file or "
            "passphrase (SAFEPASSAGE_KEY_FILE or SAFEPASSAGE_KEY_PASSPHRASE)"
        )
    return vault


class Sealed(TypeDecorator[Any]):
    """A personal field, stored sealed (AES-256-GCM, see the module); ``context`` names its
    table and column."""

    impl = sa.LargeBinary
    cache_ok = True
    gone: Any = None

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context
        self._ad = context.encode()

    def encode(self, value: Any) -> str:
        return str(value)

    def decode(self, text: str) -> Any:
        return text

    def seal_with(self, key: DataKey, value: Any) -> bytes | None:
        """``value`` sealed for this column under ``key``, as the column stores it (see
        ``bulk.write_rows``'s ``sealed``: a batch of rows sealed before it is written)."""
        return None if value is None else key.seal(self.encode(value), self._ad)

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> bytes | None:
        scope = None
        if isinstance(value, InScope):
            scope, value = value
        if value is None:
            return None
        return self.seal_with(vault_of(dialect).sealer(scope), value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            raise Unreadable(
                f"{self.context} is stored in clear: run `safepassage migrate` with the keys"
            )
        text = vault_of(dialect).open(bytes(value), self._ad)
        return self.gone if text is None else self.decode(text)


class SealedText(Sealed):
    """A sealed text field."""

    cache_ok = True
    gone = SHREDDED


class SealedDate(Sealed):
    """A sealed date (a date of birth's bounds)."""

    cache_ok = True

    def encode(self, value: Any) -> str:
        assert isinstance(value, dt.date)
        return value.isoformat()

    def decode(self, text: str) -> Any:
        return dt.date.fromisoformat(text)


class SealedJSON(Sealed):
    """A sealed JSON document (a row's original cells, an audit entry's details)."""

    cache_ok = True

    @property
    def gone(self) -> Any:  # type: ignore[override]
        return {}

    def encode(self, value: Any) -> str:
        return _JSON.encode(value)

    def decode(self, text: str) -> Any:
        return json.loads(text)
