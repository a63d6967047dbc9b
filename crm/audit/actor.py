"""Who is acting: a user in a request, or an import, a job or the system outside one."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from flask import has_request_context


@dataclass(frozen=True)
class Actor:
    kind: str  # user | import | job | system | anonymous
    label: str
    user_id: int | None = None

    @classmethod
    def for_user(cls, user) -> "Actor":
        return cls("user", user.email, user.id)

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls("system", label)

    @classmethod
    def job(cls, name: str) -> "Actor":
        return cls("job", name)

    @classmethod
    def importer(cls, user, filename: str) -> "Actor":
        return cls("import", f"{user.email}: {filename}", user.id)


_explicit: ContextVar[Actor | None] = ContextVar("blueledger_actor", default=None)


@contextmanager
def acting_as(actor: Actor):
    token = _explicit.set(actor)
    try:
        yield actor
    finally:
        _explicit.reset(token)


def current_actor() -> Actor:
    explicit = _explicit.get()
    if explicit is not None:
        return explicit
    if has_request_context():
        from flask_login import current_user

        if current_user and current_user.is_authenticated:
            return Actor.for_user(current_user)
        return Actor("anonymous", "anonymous")
    return Actor.system()
