"""Reminders: the mail outbox, its relay to RQ, scheduled digests and summaries, SMTP delivery."""


def init_app(app) -> None:
    from crm.reminders import outbox

    outbox.init_app(app)
