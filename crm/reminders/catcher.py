"""A local mail catcher for development: an SMTP server on MAIL_SERVER:MAIL_PORT (127.0.0.1:1025
by default) that writes every mail it receives to instance/mail/ as an .eml file.

    python -m crm.reminders.catcher     # started by `make run` when MAIL_SERVER is not set

It refuses to run in production, where mails must reach real people.
"""
from __future__ import annotations

import re
import signal
import sys
import threading
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller

from crm import create_app

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class SaveToFolder:
    """aiosmtpd handler: one file per mail, named by time and Message-ID."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        name = _UNSAFE.sub("_", (message.get("Message-ID") or "no-id").strip("<>"))[:80]
        path = self.folder / f"{stamp}-{name}.eml"
        path.write_bytes(envelope.original_content)
        print(f"mail to {', '.join(envelope.rcpt_tos)}: {message.get('Subject', '')} → {path}",
              flush=True)
        return "250 OK"


def main() -> int:
    app = create_app()
    if app.config["ENV_NAME"] == "production":
        print("the mail catcher is for development only; set MAIL_SERVER", file=sys.stderr)
        return 1
    folder = Path(app.instance_path) / "mail"
    controller = Controller(SaveToFolder(folder), hostname=app.config["MAIL_SERVER"],
                            port=app.config["MAIL_PORT"])
    controller.start()
    print(f"mail catcher on {app.config['MAIL_SERVER']}:{app.config['MAIL_PORT']}, "
          f"writing to {folder}/", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
