"""What the reminder tests share: a real SMTP server on loopback (aiosmtpd) that records every
mail by Message-ID and can answer 451 or 550, records made straight with the models, and real
`worker.py` processes (long-running, with the schedule) pointed at that server."""
from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
_counter = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    message_id: str
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    peer: tuple  # the client's address and port: one per SMTP session
    at: float  # time.monotonic() of acceptance

    @cached_property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)


def _message_id(raw: bytes) -> str:
    """The Message-ID, read without parsing the whole mail: the server answers at once, as a
    real one that only queues the mail would (a slow reply would widen the window)."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        if line[:11].lower() == b"message-id:":
            return line[11:].strip().decode()
    return ""


class RecordingHandler:
    """Accepts mail and remembers it. `fail_first` answers 451 to the first N DATA commands of
    each Message-ID; `refuse` answers that reply (e.g. 550) to every DATA; `rcpt_delay` makes
    RCPT slow, as a real server doing its checks (before the message exists: a crash then loses
    nothing)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.accepted: list[Received] = []
        self.data_attempts: Counter = Counter()
        self.fail_first = 0
        self.refuse: str | None = None
        self.rcpt_delay = 0.0
        self.on_accept = None  # called with the Message-ID as a mail is accepted

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message_id = _message_id(envelope.original_content)
        with self.lock:
            self.data_attempts[message_id] += 1
            if self.refuse:
                return self.refuse
            if self.data_attempts[message_id] <= self.fail_first:
                return "451 4.3.0 Try again later"
            self.accepted.append(Received(message_id, envelope.mail_from,
                                          list(envelope.rcpt_tos), envelope.original_content,
                                          tuple(session.peer), time.monotonic()))
        if self.on_accept:
            self.on_accept(message_id)
        return "250 OK"

    def message_ids(self) -> Counter:
        with self.lock:
            return Counter(r.message_id for r in self.accepted)

    def wait_for(self, count: int, timeout: float) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.accepted) >= count:
                    return list(self.accepted)
            time.sleep(0.05)
        with self.lock:
            return list(self.accepted)


class SMTPServer:
    def __init__(self):
        self.handler = RecordingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def config(self) -> dict:
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_USE_SSL": False,
                "MAIL_USE_TLS": False, "MAIL_USERNAME": None, "MAIL_TIMEOUT": 5.0}


# --- records made with the models ---------------------------------------------------------------

def make_project(owner, name: str | None = None, org_en: str | None = "Blue Ocean Co",
                 unit_id: int | None = None):
    from crm.extensions import db
    from crm.leads.models import Project
    from crm.organizations.models import Organization

    n = next(_counter)
    org = Organization(name_zh=f"蓝海公司{n}", name_en=org_en and f"{org_en} {n}", country="CN")
    db.session.add(org)
    db.session.flush()
    project = Project(organization_id=org.id, name=name or f"深远海养殖项目{n}",
                      cluster_code="fisheries", owner_id=owner.id,
                      unit_id=unit_id if unit_id is not None else owner.unit_id)
    db.session.add(project)
    db.session.commit()
    return project


def make_step(project, assignee, due_on: date, action: str | None = None, commit=True):
    from crm.extensions import db
    from crm.leads.models import NextStep

    step = NextStep(project_id=project.id, assignee_id=assignee.id, due_on=due_on,
                    action=action or f"回访客户 {next(_counter)}")
    db.session.add(step)
    if commit:
        db.session.commit()
    return step


def make_problem(project, owner, due_on: date | None = None, status: str = "open"):
    from crm.extensions import db
    from crm.leads.models import Problem

    problem = Problem(project_id=project.id, owner_id=owner.id, due_on=due_on, status=status,
                      description=f"用地指标需协调 {next(_counter)}")
    db.session.add(problem)
    db.session.commit()
    return problem


def today():
    from crm.timeutil import local_today

    return local_today()


def days(n: int) -> date:
    return today() + timedelta(days=n)


# --- worker processes ---------------------------------------------------------------------------

FAST = {
    "MAIL_RETRY_INTERVALS": "1,1,1,1,1",
    "MAIL_LEASE_SECONDS": "4",
    "MAIL_REQUEUE_SECONDS": "4",
    "REMINDERS_RELAY_SECONDS": "1",
    "REMINDERS_PLAN_SECONDS": "0",  # no planner unless a test asks for one
    "MAIL_TIMEOUT": "5",
}


class Workers:
    """Long-running `worker.py` processes (each with its schedule), stopped on exit."""

    def __init__(self, env: dict, count: int = 2, log_dir: Path | None = None):
        self.env = env
        self.count = count
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self) -> "Workers":
        for i in range(self.count):
            log = (self.log_dir or Path("/tmp")) / f"worker-{os.getpid()}-{i}-{time.time_ns()}.log"
            self.logs.append(log)
            with open(log, "wb") as out:
                self.processes.append(subprocess.Popen(
                    [sys.executable, str(ROOT / "worker.py")], env=self.env, cwd=ROOT,
                    stdout=out, stderr=subprocess.STDOUT))
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def stop(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.processes:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def output(self) -> str:
        return "\n".join(log.read_text(errors="replace") for log in self.logs if log.exists())

    def children(self) -> set[int]:
        pids = set()
        for p in self.processes:
            path = Path(f"/proc/{p.pid}/task/{p.pid}/children")
            if path.exists():
                pids.update(int(pid) for pid in path.read_text().split())
        return pids

    def wait_ready(self, timeout: float = 30) -> set[int]:
        """Wait until every worker runs its long-lived children (the schedule, rq's scheduler);
        returns them: whatever child appears later is a work horse."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all("Listening on" in log.read_text(errors="replace") for log in self.logs
                   if log.exists()) and len(self.logs) == self.count:
                break
            time.sleep(0.1)
        first = self.children()
        time.sleep(1.5)  # horses come and go within this; the long-lived children stay
        return first & self.children()


# Runs in its own process: a killer in the test process would wake when the in-process SMTP
# server's thread lets go of the GIL, which is right after it accepts a mail — not at random.
# Before each kill it notes the victim's TCP ports, so a mail that was in flight in that very
# horse can be recognised at the server (by the client port of its session).
_KILLER = r"""
import os, random, signal, sys, time
seed, count = int(sys.argv[1]), int(sys.argv[2])
workers = [int(p) for p in sys.argv[3].split(",")]
spared = {int(p) for p in sys.argv[4].split(",") if p}
rng = random.Random(seed)

def ports(pid):
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        link = os.readlink(f"/proc/{pid}/fd/{fd}")
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[9] in inodes:
                    found.append(str(int(cols[1].rsplit(":", 1)[1], 16)))
    return found

kills, deadline = 0, time.monotonic() + 60
while kills < count and time.monotonic() < deadline:
    time.sleep(rng.uniform(0.05, 0.3))
    horses = set()
    for w in workers:
        with open(f"/proc/{w}/task/{w}/children") as f:
            horses.update(int(c) for c in f.read().split())
    horses = sorted(horses - spared)
    if horses:
        victim = rng.choice(horses)
        try:
            open_ports = ports(victim)
            os.kill(victim, signal.SIGKILL)
        except (ProcessLookupError, FileNotFoundError):
            continue  # it finished just now
        kills += 1
        print(victim, time.monotonic(), ",".join(open_ports), flush=True)
"""


@dataclass
class Kill:
    pid: int
    at: float  # time.monotonic()
    ports: set[int]  # local TCP ports the horse had open when it was killed


def kill_horses(workers: "Workers", spared: set[int], count: int, seed: int) -> list[Kill]:
    """SIGKILL `count` work horses at random moments."""
    done = subprocess.run(
        [sys.executable, "-c", _KILLER, str(seed), str(count),
         ",".join(str(p.pid) for p in workers.processes), ",".join(map(str, spared))],
        capture_output=True, text=True, timeout=90, check=True)
    kills = []
    for line in done.stdout.splitlines():
        pid, at, *ports = line.split()
        kills.append(Kill(int(pid), float(at), {int(p) for p in ports[0].split(",")} if ports
                          else set()))
    return kills


def worker_env(app, smtp: SMTPServer, **extra) -> dict:
    from tests.conftest import worker_env as base_env

    env = base_env(app)
    env.update({k: str(v) for k, v in smtp.config().items() if v is not None})
    env["MAIL_USE_SSL"] = env["MAIL_USE_TLS"] = "0"
    env.update(FAST)
    env.update({k: str(v) for k, v in extra.items()})
    env["BASE_URL"] = app.config["BASE_URL"]
    return env


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@pytest.fixture
def smtp(app, monkeypatch):
    """A recording SMTP server on loopback; the app (and workers given its config) send to it."""
    with SMTPServer() as server:
        for key, value in server.config().items():
            monkeypatch.setitem(app.config, key, value)
        yield server
