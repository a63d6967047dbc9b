"""The expo figures of an edition (DOMAIN.md), from SQL aggregates: six queries, any size.

Definitions: *exhibitors* are registrations approved and not withdrawn or rejected (statuses
approved, confirmed, checked_in); countries/regions are counted by distinct ISO 3166 code of
the exhibiting organisation; *intended deals* are the sum of those exhibitors' intended-deal
amounts (万元). The mode split, cluster and country breakdowns count the same exhibitors.

``edition_figures(event_id) -> dict`` (the dashboard, bulletins and the API publish it):

- ``event_id``
- ``exhibitors`` (int), ``countries`` (int), ``intended_deals_wan`` (Decimal, 2 places)
- ``registrations`` (int, every status) and ``by_status`` {status: int} for every status
- ``checked_in`` (int)
- ``by_mode`` {"offline", "online", "hybrid": int}
- ``by_cluster``: [{``cluster_code`` (None: not classified), ``name_zh``, ``name_en``,
  ``exhibitors``, ``intended_deals_wan``}], most exhibitors first
- ``by_country``: [{``country`` (ISO code), ``exhibitors``, ``intended_deals_wan``}], most
  exhibitors first
- ``booths``: {``total``, ``allocated``} (allocated: booths with any registration on them)
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Numeric, distinct, func, select, type_coerce

from crm.expo.models import COUNTED_STATUSES, MODES, STATUSES, Booth, Exhibitor
from crm.extensions import db
from crm.organizations.models import Organization
from crm.reference.models import IndustryCluster

CENT = Decimal("0.01")


def _wan(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def _deal_sum():
    return type_coerce(func.coalesce(func.sum(Exhibitor.intended_deal_wan), 0), Numeric(14, 2))


def edition_figures(event_id: int) -> dict:
    counted = (Exhibitor.event_id == event_id) & Exhibitor.status.in_(COUNTED_STATUSES)
    by_status = dict.fromkeys(STATUSES, 0)
    for status, count in db.session.execute(
            select(Exhibitor.status, func.count()).where(Exhibitor.event_id == event_id)
            .group_by(Exhibitor.status)):
        by_status[status] = count
    totals = db.session.execute(
        select(func.count(Exhibitor.id), func.count(distinct(Organization.country)), _deal_sum())
        .join(Organization, Organization.id == Exhibitor.organization_id).where(counted)).one()
    by_mode = dict.fromkeys(MODES, 0)
    for mode, count in db.session.execute(
            select(Exhibitor.mode, func.count()).where(counted).group_by(Exhibitor.mode)):
        by_mode[mode] = count
    clusters = db.session.execute(
        select(Organization.cluster_code, IndustryCluster.name_zh, IndustryCluster.name_en,
               func.count(Exhibitor.id), _deal_sum())
        .join(Organization, Organization.id == Exhibitor.organization_id)
        .outerjoin(IndustryCluster, IndustryCluster.code == Organization.cluster_code)
        .where(counted)
        .group_by(Organization.cluster_code, IndustryCluster.name_zh, IndustryCluster.name_en)
        .order_by(func.count(Exhibitor.id).desc(), Organization.cluster_code))
    countries = db.session.execute(
        select(Organization.country, func.count(Exhibitor.id), _deal_sum())
        .join(Organization, Organization.id == Exhibitor.organization_id).where(counted)
        .group_by(Organization.country)
        .order_by(func.count(Exhibitor.id).desc(), Organization.country))
    booths = db.session.execute(
        select(func.count(Booth.id), func.count(Exhibitor.id))
        # With the edition in the join, the (event_id, booth_id) unique index answers it.
        .outerjoin(Exhibitor, (Exhibitor.event_id == Booth.event_id)
                   & (Exhibitor.booth_id == Booth.id))
        .where(Booth.event_id == event_id)).one()
    return {
        "event_id": event_id,
        "exhibitors": totals[0],
        "countries": totals[1],
        "intended_deals_wan": _wan(totals[2]),
        "registrations": sum(by_status.values()),
        "by_status": by_status,
        "checked_in": by_status["checked_in"],
        "by_mode": by_mode,
        "by_cluster": [{"cluster_code": code, "name_zh": zh, "name_en": en, "exhibitors": n,
                        "intended_deals_wan": _wan(deals)}
                       for code, zh, en, n, deals in clusters],
        "by_country": [{"country": code, "exhibitors": n, "intended_deals_wan": _wan(deals)}
                       for code, n, deals in countries],
        "booths": {"total": booths[0], "allocated": booths[1]},
    }
