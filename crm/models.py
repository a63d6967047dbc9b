"""Imports every feature's models so that SQLAlchemy and Alembic see the whole schema."""


def import_all_models() -> None:
    from crm.accounts import models as _accounts  # noqa: F401
    from crm.audit import models as _audit  # noqa: F401
    from crm.reference import models as _reference  # noqa: F401
