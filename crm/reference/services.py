"""Clusters and investment units: seeded from DOMAIN.md, maintained by admins."""
from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import select

from crm.exceptions import ValidationFailed
from crm.extensions import db
from crm.reference.models import IndustryCluster, InvestmentUnit
from crm.reference.vocab import DEFAULT_CLUSTERS, DEFAULT_UNITS

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


def clusters(active_only: bool = True) -> list[IndustryCluster]:
    stmt = select(IndustryCluster).order_by(IndustryCluster.position, IndustryCluster.code)
    if active_only:
        stmt = stmt.where(IndustryCluster.active.is_(True))
    return list(db.session.scalars(stmt))


def units(active_only: bool = True) -> list[InvestmentUnit]:
    stmt = select(InvestmentUnit).order_by(InvestmentUnit.id)
    if active_only:
        stmt = stmt.where(InvestmentUnit.active.is_(True))
    return list(db.session.scalars(stmt))


def cluster_choices(blank: str | None = None) -> list[tuple[str, str]]:
    choices = [(c.code, c.label) for c in clusters()]
    return [("", blank)] + choices if blank is not None else choices


def cluster_labels() -> dict[str, str]:
    return {c.code: c.label for c in clusters(active_only=False)}


def unit_choices(blank: str | None = None) -> list[tuple[int | str, str]]:
    choices = [(u.id, u.label) for u in units()]
    return [("", blank)] + choices if blank is not None else choices


def add_cluster(code: str, name_zh: str, name_en: str) -> IndustryCluster:
    code = code.strip().lower()
    if not CODE_RE.match(code):
        msg = _("Codes use lower-case letters, digits and underscores (2–32).")
        raise ValidationFailed(msg, {"code": msg})
    if db.session.scalar(select(IndustryCluster).where(IndustryCluster.code == code)):
        msg = _("This code is already used.")
        raise ValidationFailed(msg, {"code": msg})
    cluster = IndustryCluster(code=code, name_zh=name_zh.strip(), name_en=name_en.strip(),
                              position=len(clusters(active_only=False)) + 1)
    db.session.add(cluster)
    db.session.commit()
    return cluster


def update_cluster(cluster: IndustryCluster, *, name_zh: str, name_en: str, active: bool):
    cluster.name_zh, cluster.name_en, cluster.active = name_zh.strip(), name_en.strip(), active
    db.session.commit()
    return cluster


def save_unit(unit: InvestmentUnit | None, *, name_zh: str, name_en: str | None,
              active: bool = True) -> InvestmentUnit:
    name_zh = name_zh.strip()
    clash = db.session.scalar(select(InvestmentUnit).where(InvestmentUnit.name_zh == name_zh))
    if clash is not None and clash is not unit:
        msg = _("This unit already exists.")
        raise ValidationFailed(msg, {"name_zh": msg})
    if unit is None:
        unit = InvestmentUnit()
        db.session.add(unit)
    unit.name_zh, unit.name_en, unit.active = name_zh, (name_en or "").strip() or None, active
    db.session.commit()
    return unit


def seed_reference_data() -> None:
    """Idempotent: adds the clusters and units of DOMAIN.md that are missing."""
    have = set(db.session.scalars(select(IndustryCluster.code)))
    for position, (code, zh, en) in enumerate(DEFAULT_CLUSTERS, start=1):
        if code not in have:
            db.session.add(IndustryCluster(code=code, name_zh=zh, name_en=en, position=position))
    have_units = set(db.session.scalars(select(InvestmentUnit.name_zh)))
    for zh, en in DEFAULT_UNITS:
        if zh not in have_units:
            db.session.add(InvestmentUnit(name_zh=zh, name_en=en))
    db.session.commit()
