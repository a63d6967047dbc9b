"""`flask crm create-token EMAIL`: a token for scripts, printed once."""
import click

from crm.cli import crm_cli


@crm_cli.command("create-token")
@click.argument("email")
@click.option("--name", default="command line", show_default=True,
              help="What will use the token.")
def create_token_command(email, name):
    """Create an API token for the user with this email and print it (shown only once)."""
    from crm.accounts.services import find_by_email
    from crm.api.services import create_token
    from crm.exceptions import ServiceError

    user = find_by_email(email)
    if user is None or not user.active:
        raise click.BadParameter(f"no active user with the email {email!r}", param_hint="EMAIL")
    try:
        _row, raw = create_token(user, name)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(raw)
