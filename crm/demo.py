"""Demo data for `make run` and screenshots: idempotent, realistic, never used in production."""
from __future__ import annotations

from sqlalchemy import select

from crm.accounts.models import User
from crm.accounts.services import create_user, find_by_email
from crm.audit.actor import Actor, acting_as
from crm.expo.demo import seed_demo as seed_expo_demo
from crm.extensions import db
from crm.leads.demo import seed_demo as seed_leads_demo
from crm.reference.models import InvestmentUnit
from crm.reference.services import seed_reference_data
from crm.reports.demo import seed_demo as seed_reports_demo

DEMO_PASSWORD = "blueledger-demo"
DEMO_USERS = [
    ("admin@blueledger.demo", "系统管理员", "admin", None, "zh_CN"),
    ("manager@blueledger.demo", "王局长", "manager", None, "zh_CN"),
    ("staff@blueledger.demo", "李招商", "staff", "区海洋发展局招商科", "zh_CN"),
    ("staff2@blueledger.demo", "张海燕", "staff", "哈工程青岛船舶科技园", "zh_CN"),
    ("organizer@blueledger.demo", "Chen Expo", "organizer", None, "en"),
]


def _seed_users() -> list[User]:
    users = []
    for email, name, role, unit_name, locale in DEMO_USERS:
        user = find_by_email(email)
        if user is None:
            unit_id = None
            if unit_name:
                unit_id = db.session.scalar(
                    select(InvestmentUnit.id).where(InvestmentUnit.name_zh == unit_name))
            user = create_user(email=email, display_name=name, role=role, password=DEMO_PASSWORD,
                               unit_id=unit_id, locale=locale)
        users.append(user)
    return users


def seed_demo() -> list[str]:
    with acting_as(Actor.system("demo data")):
        seed_reference_data()
        users = _seed_users()
        seed_expo_demo()  # before the leads: their expo leads reuse its organisations
        seed_leads_demo()
        seed_reports_demo()
    lines = [f"demo login: {u.email} / {DEMO_PASSWORD} ({u.role})" for u in users]
    return lines
