"""Users, login sessions, API tokens, the audit trail and record history in the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from safepassage.adapters.db import audit_chain
from safepassage.adapters.db import tables as t
from safepassage.adapters.db.bulk import write_rows
from safepassage.adapters.db.people_rows import nations_of
from safepassage.adapters.db.sealed import InScope


class UserRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(
        self,
        username: str,
        password_hash: str,
        role: str,
        nation: str | None,
        org: str | None,
        station: str | None,
        now: dt.datetime,
    ) -> int:
        return int(
            self.conn.execute(
                t.app_user.insert()
                .values(
                    username=username,
                    password_hash=password_hash,
                    role=role,
                    nation=nation,
                    org=org,
                    station=station,
                    active=True,
                    created_at=now,
                )
                .returning(t.app_user.c.id)
            ).scalar_one()
        )

    def by_username(self, username: str) -> sa.Row | None:
        return self.conn.execute(
            sa.select(t.app_user).where(t.app_user.c.username == username)
        ).first()

    def get(self, user_id: int) -> sa.Row | None:
        return self.conn.execute(sa.select(t.app_user).where(t.app_user.c.id == user_id)).first()

    def all(self) -> list[sa.Row]:
        return list(self.conn.execute(sa.select(t.app_user).order_by(t.app_user.c.username)))

    def set_password(self, user_id: int, password_hash: str) -> None:
        self.conn.execute(
            t.app_user.update()
            .where(t.app_user.c.id == user_id)
            .values(password_hash=password_hash)
        )

    def set_active(self, user_id: int, active: bool) -> None:
        self.conn.execute(
            t.app_user.update().where(t.app_user.c.id == user_id).values(active=active)
        )


class SessionRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(
        self,
        token_hash: str,
        user_id: int,
        csrf: str,
        now: dt.datetime,
        expires: dt.datetime,
        source: str,
    ) -> None:
        self.conn.execute(
            t.user_session.insert().values(
                token_hash=token_hash,
                user_id=user_id,
                csrf_token=csrf,
                created_at=now,
                expires_at=expires,
                source=source,
            )
        )

    def get(self, token_hash: str) -> sa.Row | None:
        return self.conn.execute(
            sa.select(t.user_session).where(t.user_session.c.token_hash == token_hash)
        ).first()

    def delete(self, token_hash: str) -> None:
        self.conn.execute(t.user_session.delete().where(t.user_session.c.token_hash == token_hash))

    def delete_for_user(self, user_id: int) -> None:
        self.conn.execute(t.user_session.delete().where(t.user_session.c.user_id == user_id))


class TokenRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, token_hash: str, user_id: int, name: str, now: dt.datetime) -> int:
        return int(
            self.conn.execute(
                t.api_token.insert()
                .values(token_hash=token_hash, user_id=user_id, name=name, created_at=now)
                .returning(t.api_token.c.id)
            ).scalar_one()
        )

    def get(self, token_hash: str) -> sa.Row | None:
        return self.conn.execute(
            sa.select(t.api_token).where(
                t.api_token.c.token_hash == token_hash, t.api_token.c.revoked_at.is_(None)
            )
        ).first()

    def owner(self, token_hash: str) -> sa.Row | None:
        """The active user behind a live token, in one query (every scanner request asks)."""
        u = t.app_user.c
        return self.conn.execute(
            sa.select(t.app_user)
            .join(t.api_token, t.api_token.c.user_id == u.id)
            .where(
                t.api_token.c.token_hash == token_hash,
                t.api_token.c.revoked_at.is_(None),
                u.active.is_(True),
            )
        ).first()

    def for_user(self, user_id: int) -> list[sa.Row]:
        return list(
            self.conn.execute(
                sa.select(t.api_token)
                .where(t.api_token.c.user_id == user_id)
                .order_by(t.api_token.c.id)
            )
        )

    def revoke(self, token_id: int, now: dt.datetime) -> None:
        self.conn.execute(
            t.api_token.update().where(t.api_token.c.id == token_id).values(revoked_at=now)
        )


class AuditRepository:
    """The audit trail: entries are added, never changed; linked into a hash chain
    (``audit_chain``) when their transaction commits."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.written = False  # entries added in this transaction, to be linked at its commit

    def add(self, **values: Any) -> None:
        self.conn.execute(t.audit.insert().values(**values))
        self.written = True

    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(t.audit.insert(), list(rows))
            self.written = True

    def link(self) -> int:
        """Link every committed, unlinked entry, in a transaction of its own (call it between
        transactions: it commits); how many."""
        return audit_chain.link_apart(self.conn)

    def head(self) -> audit_chain.Head | None:
        """The last linked entry: its position and seal."""
        return audit_chain.head(self.conn)

    def check(self, written: audit_chain.Head | None = None) -> audit_chain.Check:
        """Check every linked entry against its seal and place, and a head written down."""
        return audit_chain.check(self.conn, written)

    def all(self) -> Iterator[sa.Row[Any]]:
        """Every entry, in the order of the chain (unlinked ones last, by id), with ``detail``
        as stored beside it (``stored_detail``: what its seal covers)."""
        c = t.audit.c
        stored = audit_chain.stored(c.detail, self.conn.dialect).label("stored_detail")
        q = sa.select(t.audit, stored).order_by(c.seq.is_(None), c.seq, c.id)
        yield from self.conn.execute(q.execution_options(yield_per=2000))

    def recent(
        self,
        limit: int,
        before: int | None = None,
        action: str | None = None,
        username: str | None = None,
        entity: str | None = None,
        entity_id: str | None = None,
        outcome: str | None = None,
    ) -> list[sa.Row]:
        c = t.audit.c
        q = sa.select(t.audit).order_by(c.id.desc()).limit(limit)
        if before:
            q = q.where(c.id < before)
        if action:
            q = q.where(c.action.startswith(action))
        if username:
            q = q.where(c.username == username)
        if entity:
            q = q.where(c.entity == entity)
        if entity_id:
            q = q.where(c.entity_id == entity_id)
        if outcome:
            q = q.where(c.outcome == outcome)
        return list(self.conn.execute(q))


class HistoryRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(
        self,
        entity: str,
        entity_id: int,
        at: dt.datetime,
        username: str,
        action: str,
        changes: dict[str, Any],
    ) -> None:
        self.add_many(
            [
                {
                    "entity": entity,
                    "entity_id": entity_id,
                    "at": at,
                    "username": username,
                    "action": action,
                    "changes": changes,
                }
            ]
        )

    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """History rows; a person's changes are sealed under the key of their list's nation."""
        if not rows:
            return
        scopes = nations_of(self.conn, [r["entity_id"] for r in rows if r["entity"] == "person"])
        write_rows(
            self.conn,
            t.history,
            [
                r | {"changes": InScope(scopes.get(r["entity_id"]), r["changes"])}
                if r["entity"] == "person"
                else r
                for r in rows
            ],
        )

    def of(self, entity: str, entity_id: int) -> list[sa.Row]:
        c = t.history.c
        return list(
            self.conn.execute(
                sa.select(t.history)
                .where(c.entity == entity, c.entity_id == entity_id)
                .order_by(c.id.desc())
            )
        )
