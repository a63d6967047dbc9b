"""Imports every feature's models so that SQLAlchemy and Alembic see the whole schema.

A feature with models adds its module here.
"""
import importlib

MODEL_MODULES = (
    "crm.reference.models",
    "crm.accounts.models",
    "crm.audit.models",
    "crm.organizations.models",
    "crm.expo.models",
    "crm.leads.models",
    "crm.reminders.models",
    "crm.tabular.models",
    "crm.reports.models",
    "crm.documents.models",
    "crm.api.models",
)


def import_all_models() -> None:
    for module in MODEL_MODULES:
        importlib.import_module(module)
