"""`flask crm …` commands. Features attach their own commands to `crm_cli`."""
import click
from flask.cli import AppGroup

from crm.exceptions import ServiceError

crm_cli = AppGroup("crm", help="BlueLedger administration.")


@crm_cli.command("create-user")
@click.argument("email")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--role", type=click.Choice(["admin", "manager", "staff", "organizer"]),
              default="staff", show_default=True)
@click.option("--unit", "unit_name", default=None, help="Investment unit (Chinese name), for staff.")
@click.option("--locale", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True)
@click.password_option()
def create_user_command(email, display_name, role, unit_name, locale, password):
    """Create a user (asks for the password twice)."""
    from sqlalchemy import select

    from crm.accounts.services import create_user
    from crm.extensions import db
    from crm.reference.models import InvestmentUnit

    unit_id = None
    if unit_name:
        unit = db.session.scalar(select(InvestmentUnit).where(InvestmentUnit.name_zh == unit_name))
        if unit is None:
            raise click.BadParameter(f"no investment unit named {unit_name!r}", param_hint="--unit")
        unit_id = unit.id
    try:
        user = create_user(email=email, display_name=display_name, role=role, password=password,
                           unit_id=unit_id, locale=locale)
    except ServiceError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
        raise click.ClickException(f"{exc.message} {details}".strip()) from exc
    click.echo(f"created {user.email} ({user.role})")


@crm_cli.command("seed-demo")
def seed_demo_command():
    """Load the demo data (idempotent)."""
    from crm.demo import seed_demo

    for line in seed_demo():
        click.echo(line)


def init_app(app) -> None:
    app.cli.add_command(crm_cli)
