"""The demo ledger: every stage, follow-ups in every section of "my day", idempotent."""
from sqlalchemy import func, select

from crm.demo import seed_demo
from crm.extensions import db
from crm.leads.models import Activity, NextStep, Problem, Project, StageChange
from crm.leads.stages import STAGES
from crm.timeutil import local_today


def test_demo_ledger_has_every_stage_and_is_idempotent(app, login):
    seed_demo()
    count = db.session.scalar(select(func.count(Project.id)))
    stages = set(db.session.scalars(select(Project.stage)))
    assert stages == set(STAGES)
    assert db.session.scalar(select(func.count(Activity.id))) >= count
    assert db.session.scalar(select(func.count(Problem.id)).where(Problem.status == "open")) >= 3
    today = local_today()
    dues = set(db.session.scalars(select(NextStep.due_on).where(NextStep.done_at.is_(None))))
    assert today in dues and any(d < today for d in dues) and any(d > today for d in dues)
    amounts = list(db.session.scalars(select(Project.planned_investment_wan)))
    assert min(amounts) <= 500 and max(amounts) >= 3000000  # 500万 … 300亿+
    for project in db.session.scalars(select(Project).where(Project.stage == "producing")):
        assert project.producing_on and project.started_on and project.signed_on
        times = list(db.session.scalars(select(StageChange.changed_at).where(
            StageChange.project_id == project.id).order_by(StageChange.id)))
        assert times == sorted(times) and (times[-1] - times[0]).days > 100
    seed_demo()
    assert db.session.scalar(select(func.count(Project.id))) == count

    from crm.accounts.services import find_by_email
    client = login(find_by_email("staff@blueledger.demo"))
    for url in ("/my-day", "/board", "/projects", "/problems"):
        assert client.get(url).status_code == 200
    body = client.get("/my-day").get_data(as_text=True)
    assert "回访" in body or "提交" in body or "安排" in body
