"""Helpers the leads tests share: organisations and projects made through the services."""
from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from crm.leads import services
from crm.organizations.models import Organization
from crm.organizations.services import create_organization

_counter = itertools.count(1)


def make_org(name_zh: str | None = None, name_en: str | None = None, **extra) -> Organization:
    n = next(_counter)
    return create_organization(name_zh=name_zh or f"测试海洋公司{n}",
                               name_en=name_en or f"Test Ocean Co {n}", allow_duplicate=True,
                               **extra)


def make_project(owner, org: Organization | None = None, **fields):
    fields.setdefault("name", f"项目{next(_counter)}")
    fields.setdefault("cluster_code", "shipbuilding")
    fields.setdefault("planned_investment_wan", Decimal("20000"))
    return services.create_project(organization_id=(org or make_org()).id, owner_id=owner.id,
                                   **fields)


def days_ago(n: int) -> date:
    from crm.timeutil import local_today
    from datetime import timedelta

    return local_today() - timedelta(days=n)
