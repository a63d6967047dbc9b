"""Building and sending one mail over SMTP, with failures sorted into transient and permanent.

Header values pass through `header_text` (control characters, CR and LF folded to spaces) and the
message is built with `email.policy.SMTP`, which refuses any header value that still contains a
line break: a display name or a project name cannot smuggle in a `Bcc:`. The envelope recipient is
passed to SMTP explicitly and never read back from the headers.
"""
from __future__ import annotations

import re
import smtplib
import socket
import ssl
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr

from flask import current_app

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")


class MailError(Exception):
    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class TransientMailError(MailError):
    """Worth trying again later: a 4xx reply, or the server could not be reached.

    `connection` is true when the server itself is unreachable or broke the session: the other
    mails of a batch are left for the retry instead of being tried one by one.
    """

    def __init__(self, message: str, code: int | None = None, connection: bool = False):
        super().__init__(message, code)
        self.connection = connection


class PermanentMailError(MailError):
    """A 5xx reply: the same mail would be refused again."""


def header_text(value: str | None, limit: int = 255) -> str:
    return _CONTROL.sub(" ", value or "").strip()[:limit]


def sender_address(app=None) -> tuple[str, str]:
    app = app or current_app
    name, addr = parseaddr(app.config["MAIL_DEFAULT_SENDER"])
    return header_text(name), addr


def message_domain(app=None) -> str:
    return sender_address(app)[1].rpartition("@")[2] or "blueledger.local"


def build_message(*, to_email: str, to_name: str | None, subject: str, text: str,
                  html: str | None, message_id: str) -> EmailMessage:
    sender_name, sender_email = sender_address()
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = Address(display_name=sender_name, addr_spec=sender_email)
    msg["To"] = Address(display_name=header_text(to_name), addr_spec=header_text(to_email))
    msg["Subject"] = header_text(subject, 500)
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to reminders
    # base64 is 7-bit safe for any server, and choosing it saves the trial encodings.
    msg.set_content(text, cte="base64")
    if html:
        msg.add_alternative(html, subtype="html", cte="base64")
    return msg


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) \
        else str(exc.smtp_error)
    return f"{exc.smtp_code} {text}".strip()


class Mailer:
    """One SMTP session, opened on first use and reused for the mails of a batch."""

    def __init__(self, app=None):
        self.config = (app or current_app).config
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        host, port, timeout = cfg["MAIL_SERVER"], cfg["MAIL_PORT"], cfg["MAIL_TIMEOUT"]
        if cfg["MAIL_USE_SSL"]:
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
            if cfg["MAIL_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
        return smtp

    def _transaction(self, msg: EmailMessage, to_email: str, before_data) -> None:
        """MAIL, RCPT, then `before_data()`, then DATA: what smtplib's sendmail does, with a
        moment between the recipient's acceptance and the message for the caller."""
        smtp = self._smtp
        data = msg.as_bytes()  # before the transaction: DATA then only sends
        smtp.ehlo_or_helo_if_needed()
        code, reply = smtp.mail(sender_address()[1])
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender_address()[1])
        code, reply = smtp.rcpt(to_email)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({to_email: (code, reply)})
        try:
            before_data()
        except BaseException:
            self._reset()
            raise
        code, reply = smtp.data(data)
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)

    def send(self, msg: EmailMessage, to_email: str, before_data=lambda: None) -> None:
        """Hand the mail to the server; raises TransientMailError or PermanentMailError.

        `before_data` runs once the server has taken the recipient and before the message goes:
        whatever it raises cancels the mail (the transaction is reset).
        """
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._transaction(msg, header_text(to_email), before_data)
        except smtplib.SMTPRecipientsRefused as exc:
            self._reset()
            code, text = next(iter(exc.recipients.values()))
            detail = f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
            raise (TransientMailError(detail, code) if 400 <= code < 500
                   else PermanentMailError(detail, code)) from exc
        except smtplib.SMTPAuthenticationError as exc:
            # The account, not this mail, is refused: keep the mails until the settings are fixed.
            self.close()
            raise TransientMailError(_reply(exc), exc.smtp_code, connection=True) from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            self._reset()
            if 400 <= exc.smtp_code < 500:
                raise TransientMailError(_reply(exc), exc.smtp_code) from exc
            raise PermanentMailError(_reply(exc), exc.smtp_code) from exc
        except smtplib.SMTPResponseException as exc:  # e.g. a 421 greeting: service unavailable
            self.close()
            raise TransientMailError(_reply(exc), exc.smtp_code, connection=True) from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, TLS
            self.close()
            raise TransientMailError(f"{type(exc).__name__}: {exc}", connection=True) from exc

    def _reset(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.rset()
            except (smtplib.SMTPException, OSError):
                self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError, socket.timeout):
                smtp.close()
