"""Tiny jobs that prove the worker wiring: app context, database, Redis and failure reporting."""
from flask import current_app
from sqlalchemy import func, select

from crm.accounts.models import User
from crm.extensions import db


def ping(token: str) -> dict:
    users = db.session.scalar(select(func.count(User.id)))
    return {"token": token, "users": users, "app": current_app.name}


def fail(message: str) -> None:
    raise RuntimeError(message)
