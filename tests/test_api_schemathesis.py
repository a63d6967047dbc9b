"""Schemathesis against the app in-process: generated requests to every operation, valid and
invalid, must get no server error and only answers the OpenAPI document describes."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_headers_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from crm.api.services import create_token
from crm.expo import services as expo
from crm.leads import services as leads
from crm.organizations.services import create_organization
from crm.timeutil import local_today

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
EXAMPLES = 10  # per operation and kind of run: a few seconds in all


@pytest.fixture
def known_ids(users, reference_data) -> dict[str, int]:
    """A little of everything, and the ids of one record of each kind."""
    today = local_today()
    event = expo.create_event(name_zh="2021 东亚海洋博览会", starts_on=today + timedelta(days=20),
                              ends_on=today + timedelta(days=23))
    expo.add_booths(event, hall="A", codes="A1-A5", area_m2="9")
    for n, country in enumerate(("CN", "KR", "JP")):
        org = create_organization(name_en=f"Fuzz Marine {n}", country=country,
                                  cluster_code="shipping")
        exhibitor = expo.register_exhibitor(event, organization_id=org.id, status="approved",
                                            intended_deal_wan=Decimal("100.50"))
        project = leads.create_project(organization_id=org.id, name=f"项目{n}",
                                       cluster_code="fisheries", owner_id=users["staff"].id,
                                       planned_investment_wan=Decimal("20000"))
        leads.log_activity(project, users["staff"], kind="call", occurred_on=today,
                           summary="电话沟通")
    return {"event_id": event.id, "exhibitor_id": exhibitor.id, "lead_id": project.id,
            "organization_id": org.id}


def _run(strategy, headers: dict) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


def test_the_api_keeps_to_its_description(app, users, known_ids):
    def each_request_on_its_own(environ, start_response):
        # As in production (and the test client of conftest): a fresh app context per request,
        # so that nothing, the authenticated user included, carries over from the previous one.
        with app.app_context():
            return app(environ, start_response)

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", each_request_on_its_own)
    headers = {"Authorization": f"Bearer {create_token(users['admin'], 'schemathesis')[1]}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16
    for operation in operations:
        _run(operation.as_strategy(GenerationMode.POSITIVE), headers)
        _run(operation.as_strategy(GenerationMode.NEGATIVE), headers)
        names = {p.name for p in operation.path_parameters}
        if names:
            ids = {name: known_ids[name] for name in names}
            _run(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=ids), headers)
