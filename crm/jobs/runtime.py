"""Run each RQ job inside an app context of the worker's app.

The worker process creates the app once (importing WeasyPrint and the models once), then every
job, in its forked work horse, gets a fresh app context: a clean database session, and the
connection pool inherited from the parent is dropped so that no socket is shared across fork.
"""
from __future__ import annotations

from flask import Flask
from rq.job import Job

_app: Flask | None = None


def bind_app(app: Flask) -> None:
    global _app
    _app = app


class AppContextJob(Job):
    def perform(self):
        if _app is None:  # a job run outside worker.py (e.g. rq's own CLI) builds its own app
            from crm import create_app

            bind_app(create_app())
        from crm.extensions import db

        with _app.app_context():
            db.engine.dispose(close=False)
            return super().perform()
