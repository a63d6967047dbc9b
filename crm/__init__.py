"""BlueLedger (蓝色台账): the expo and investment-lead CRM."""
from __future__ import annotations

import os

from flask import Flask

from crm.config import PROJECT_ROOT, load_config


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=os.environ.get("BLUELEDGER_INSTANCE", str(PROJECT_ROOT / "instance")),
    )
    app.config.from_mapping(load_config(app.instance_path))
    if overrides:
        app.config.from_mapping(overrides)
    os.makedirs(app.instance_path, exist_ok=True)
    register_extensions(app)
    register_blueprints(app)
    register_templates(app)
    from crm import cli, errors, headers

    errors.init_app(app)
    headers.init_app(app)
    cli.init_app(app)
    return app


def register_extensions(app: Flask) -> None:
    from crm import reminders
    from crm.accounts.services import load_user
    from crm.audit import history
    from crm.extensions import babel, csrf, db, limiter, login_manager, migrate
    from crm.i18n import select_locale
    from crm.models import import_all_models

    import_all_models()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "basic"
    history.init_app(app)
    reminders.init_app(app)


# Each feature's views module exposes `bp`; a new feature adds its module here.
BLUEPRINT_MODULES = (
    "crm.main.views",
    "crm.accounts.views",
    "crm.reference.views",
    "crm.audit.views",
    "crm.reminders.views",
    "crm.leads.views",
    "crm.documents.views",
    "crm.api.views",
    "crm.reports.views",
    "crm.organizations.views",
    "crm.expo.views",
)


def register_blueprints(app: Flask) -> None:
    import importlib

    from crm.accounts.access import enforce_access

    for module in BLUEPRINT_MODULES:
        app.register_blueprint(importlib.import_module(module).bp)
    app.before_request(enforce_access)


def register_templates(app: Flask) -> None:
    from flask_babel import get_locale

    from crm import formatting, nav
    from crm.audit.history import history_of
    from crm.reference.vocab import ROLE_LABELS, country_name

    formatting.init_app(app)
    app.jinja_env.globals.update(
        nav_menus=nav.menus,
        nav_entries=nav.all_entries,
        user_menu_items=lambda: nav.visible(nav.USER_ITEMS),
        role_label=lambda role: ROLE_LABELS.get(role, role),
        country_name=country_name,
        history_of=history_of,
        get_locale=get_locale,
    )
