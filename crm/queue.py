"""Redis and RQ wiring.

With REDIS_URL set we connect to it; without, the app starts an embedded real Redis
(crm/embedded_redis.py) on a socket in the instance folder, so the web processes and the
worker share one server. The connection is made on first use, never at import.
"""
from __future__ import annotations

from flask import current_app
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

SERIALIZER = JSONSerializer


def redis_url(app=None) -> str:
    """The configured Redis, or the embedded one (started on first use)."""
    app = app or current_app._get_current_object()
    if app.config["REDIS_URL"]:
        return app.config["REDIS_URL"]
    from crm.embedded_redis import ensure_running

    return ensure_running(app.instance_path)


def get_redis(app=None) -> Redis:
    app = app or current_app._get_current_object()
    conn = app.extensions.get("redis")
    if conn is None:
        conn = Redis.from_url(redis_url(app))
        app.extensions["redis"] = conn
    return conn


def queue_name(name: str, app=None) -> str:
    app = app or current_app._get_current_object()
    return f"{app.config['RQ_QUEUE_PREFIX']}{name}"


def get_queue(name: str = "default", app=None) -> Queue:
    app = app or current_app._get_current_object()
    return Queue(queue_name(name, app), connection=get_redis(app), serializer=SERIALIZER)


def all_queues(app=None) -> list[Queue]:
    app = app or current_app._get_current_object()
    return [get_queue(name, app) for name in app.config["RQ_QUEUES"]]
