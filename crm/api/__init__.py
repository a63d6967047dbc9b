"""The JSON API under /api/v1: token authentication, problem details, an OpenAPI description.

Views parse with marshmallow schemas (the same schemas the OpenAPI document is generated from),
call the feature services the web pages call, and dump the result. See crm/api/setup.py.
"""
from crm.api import cli  # noqa: F401  (attaches `flask crm create-token` to crm.cli.crm_cli)
