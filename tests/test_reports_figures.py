"""The managers' figures against a data set built by hand, whose figures are known in advance.

The 2020 data set mirrors the bureau's 2020 report: 60 new ≥1亿 projects worth 1,467亿元, 2 of
them ≥300亿 and 4 in [50亿, 300亿). Around them: projects signed in one year and registered in
the next, lost and on-hold projects, projects below 1亿, projects of 2019 and 2021, stage
changes with known durations, overdue follow-ups and open problems. Every expected number
below was worked out by hand from the table, not computed by the code under test.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm.extensions import db
from crm.leads import services
from crm.leads.models import NextStep, Problem, Project, StageChange
from crm.organizations.models import Organization
from crm.reference.models import InvestmentUnit
from crm.reports import figures
from crm.reports.models import StageProbability, YearTarget
from crm.timeutil import local_today, utcnow
from tests.leads_support import make_project

D = Decimal

# The 60 new ≥1亿 projects of 2020, by size bucket (万元). Each bucket's sum is round:
# 300+ 6,600,000; 50-300 2,900,000; 10-50 4,000,000; 1-10 1,170,000 → 14,670,000万 = 1,467亿.
BIG = [D("3600000"), D("3000000")]
LARGE = [D("1000000"), D("800000"), D("600000"), D("500000")]
MEDIUM = [D("100000"), D("499999.99")] + [D("283333.33")] * 11 + [D("283333.38")]
SMALL = [D("10000"), D("99999.99"), D("12345.67")] + [D("28000")] * 36 + [D("39654.34")]


def _day(text: str) -> date:
    return date.fromisoformat(text)


def build_dataset(make_user) -> dict:
    """The hand-built ledger. Returns the ids a test needs (units U1/U2, owners S1-S3, projects)."""
    u1, u2 = db.session.scalars(select(InvestmentUnit.id).order_by(InvestmentUnit.id).limit(2)).all()
    s1 = make_user("staff", email="s1@blueledger.demo", unit_id=u1, display_name="S1")
    s2 = make_user("staff", email="s2@blueledger.demo", unit_id=u2, display_name="S2")
    s3 = make_user("staff", email="s3@blueledger.demo", unit_id=u2, display_name="S3")
    org = Organization(name_zh="测试企业", country="CN")
    db.session.add(org)
    db.session.flush()
    projects: dict[str, Project] = {}

    def add(key, amount, stage, cluster, unit, owner, created=None, **dates):
        p = Project(name=f"项目 {key}", organization_id=org.id, cluster_code=cluster,
                    planned_investment_wan=amount, stage=stage, unit_id=unit, owner_id=owner.id,
                    created_at=created or datetime(2019, 1, 1),
                    **{k: (_day(v) if isinstance(v, str) and k.endswith("_on") else v)
                       for k, v in dates.items()})
        db.session.add(p)
        projects[key] = p
        return p

    amounts = BIG + LARGE + MEDIUM + SMALL
    assert len(amounts) == 60 and sum(amounts) == D("14670000")
    # Group A: the 60 new ≥1亿 projects of 2020.
    add("a0", amounts[0], "started", "shipbuilding", u1, s1, signed_on="2020-01-01",
        registered_on="2020-03-01", started_on="2020-09-01")
    add("a1", amounts[1], "registered", "shipbuilding", u1, s1, signed_on="2020-12-31",
        registered_on="2021-02-01")
    add("a2", amounts[2], "producing", "equipment", u2, s2, registered_on="2020-05-05",
        started_on="2020-07-01", producing_on="2020-11-01")
    add("a3", amounts[3], "lost", "equipment", u2, s2, signed_on="2020-04-01",
        resume_stage="signed", lost_on="2020-10-01", lost_reason="moved elsewhere")
    add("a4", amounts[4], "on_hold", "biomedicine", u2, s2, signed_on="2020-02-02",
        resume_stage="signed")
    add("a5", amounts[5], "registered", "biomedicine", None, s2, registered_on="2020-08-08",
        signed_on="2020-09-09")
    add("a6", amounts[6], "registered", "shipping", u1, s1, signed_on="2020-11-30",
        registered_on="2021-01-15")
    add("a7", amounts[7], "lost", "shipping", u1, s1, registered_on="2020-03-03",
        resume_stage="registered", lost_on="2020-12-01", lost_reason="funding")
    add("a8", amounts[8], "started", "shipping", u1, s1, signed_on="2020-06-08",
        started_on="2020-10-10")
    for i in range(9, 20):
        add(f"a{i}", amounts[i], "signed", "shipping", u1, s1, signed_on=f"2020-06-{i:02d}")
    add("a20", amounts[20], "on_hold", "fisheries", u2, s3, registered_on="2020-07-01",
        resume_stage="registered")
    add("a21", amounts[21], "lost", "fisheries", u2, s3, registered_on="2020-07-02",
        resume_stage="registered", lost_on="2020-09-30", lost_reason="policy")
    add("a22", amounts[22], "producing", "fisheries", u2, s3, signed_on="2020-03-03",
        started_on="2020-05-05", producing_on="2020-12-12")
    add("a23", amounts[23], "registered", "fisheries", u2, s3, signed_on="2020-12-31",
        registered_on="2021-01-01")
    for i in range(24, 60):
        add(f"a{i}", amounts[i], "registered", "fisheries", u2, s3,
            registered_on=date(2020, 7, 1) + timedelta(days=i))
    # Group B: everything that must not count as a new ≥1亿 project of 2020.
    add("b1", D("9999.99"), "signed", "fisheries", u2, s3, signed_on="2020-05-01")
    add("b2", D("50000"), "registered", "shipping", u1, s1, signed_on="2019-12-31",
        registered_on="2020-01-10")
    add("b3", D("200000"), "signed", "shipping", u1, s1, signed_on="2021-01-01",
        created=datetime(2020, 10, 1))
    add("b4", D("5000000"), "negotiating", "energy", u1, s1, created=datetime(2020, 2, 1))
    add("b5", D("300000"), "lost", "energy", None, s2, resume_stage="negotiating",
        lost_on="2020-06-01", lost_reason="competitor", created=datetime(2019, 6, 1))
    add("b6", D("5000"), "started", "fisheries", u2, s3, signed_on="2018-01-01",
        registered_on="2018-03-01", started_on="2020-04-04")
    add("b7", D("80000"), "producing", "shipbuilding", u1, s1, signed_on="2018-05-05",
        started_on="2019-01-01", producing_on="2020-02-02")
    add("b8", D("20000"), "identified", "other", u1, s3)
    add("b9", D("40000"), "contacted", "other", None, s3, created=datetime(2020, 5, 1))
    add("b10", D("60000"), "intention", "biomedicine", u2, s2, created=datetime(2020, 1, 1))
    add("b11", D("100000"), "started", "shipbuilding", u1, s1, signed_on="2019-06-06",
        started_on="2021-03-03")
    add("b12", D("15000"), "on_hold", "other", u2, s3, resume_stage="contacted",
        created=datetime(2020, 1, 1))
    db.session.flush()

    def moves(key, *steps):
        entered = projects[key].created_at
        for from_stage, to_stage, at in steps:
            db.session.add(StageChange(project_id=projects[key].id, from_stage=from_stage,
                                       from_entered_at=entered if from_stage else None,
                                       to_stage=to_stage, changed_at=at, actor_label="test"))
            entered = at

    # Durations (days) in 2020: identified b10 60, b4 10, b9 20, b12 6; contacted b10 4,
    # b12 30; negotiating b10 40, b4 30+10, b5 183; on_hold b4 30+10.
    moves("b10", ("identified", "contacted", datetime(2020, 3, 1)),
          ("contacted", "negotiating", datetime(2020, 3, 5)),
          ("negotiating", "intention", datetime(2020, 4, 14)))
    moves("b4", ("identified", "negotiating", datetime(2020, 2, 11)),
          ("negotiating", "on_hold", datetime(2020, 3, 12)),
          ("on_hold", "negotiating", datetime(2020, 4, 11)),
          ("negotiating", "on_hold", datetime(2020, 4, 21)),
          ("on_hold", "negotiating", datetime(2020, 5, 1)))
    moves("b9", (None, "identified", datetime(2020, 5, 1)),
          ("identified", "contacted", datetime(2020, 5, 21)))
    moves("b12", ("identified", "contacted", datetime(2020, 1, 7)),
          ("contacted", "on_hold", datetime(2020, 2, 6)))
    moves("b5", ("identified", "negotiating", datetime(2019, 12, 1)),
          ("negotiating", "lost", datetime(2020, 6, 1)))
    # 2020-12-31 17:00 UTC is already 2021 in Qingdao: these stays end in 2021.
    moves("b3", ("identified", "intention", datetime(2020, 12, 31, 17)),
          ("intention", "signed", datetime(2021, 1, 1, 4)))

    today = local_today()
    for key, due, done in [("a0", 1, False), ("a0", 10, True), ("b4", 3, False),
                           ("a2", 0, False), ("a22", 1, False), ("b9", 100, False)]:
        db.session.add(NextStep(project_id=projects[key].id, action="回访", assignee_id=s1.id,
                                due_on=today - timedelta(days=due),
                                done_at=datetime(2020, 1, 1) if done else None))
    for key, status in [("a0", "open"), ("b4", "resolved"), ("a3", "open"), ("b5", "open"),
                        ("a2", "open")]:
        db.session.add(Problem(project_id=projects[key].id, description="用地指标",
                               owner_id=s1.id, status=status))
    db.session.add(YearTarget(year=2020, new_projects=55, new_investment_wan=D("12000000"),
                              started=12, producing=10))
    db.session.add_all([StageProbability(stage="intention", probability_pct=D("50")),
                        StageProbability(stage="signed", probability_pct=D("90"))])
    db.session.commit()
    return {"u1": u1, "u2": u2, "s1": s1.id, "s2": s2.id, "s3": s3.id,
            "projects": {k: p.id for k, p in projects.items()}}


def _pair(count, amount):
    return {"count": count, "planned_investment_wan": D(amount)}


def _stage(count, amount, pct=None, weighted=None):
    return {"count": count, "planned_investment_wan": D(amount),
            "probability_pct": None if pct is None else D(pct),
            "weighted_wan": None if weighted is None else D(weighted)}


def _dim(new, new_amount, started, producing, open_count, open_amount):
    return {"new_count": new, "new_investment_wan": D(new_amount), "started": started,
            "producing": producing, "open_count": open_count, "open_investment_wan": D(open_amount)}


@pytest.fixture
def dataset(app, make_user):
    return build_dataset(make_user)


def test_the_2020_figures_are_the_ones_worked_out_by_hand(dataset):
    f = figures.pipeline_figures(2020)
    u1, u2, s1, s2, s3 = (dataset[k] for k in ("u1", "u2", "s1", "s2", "s3"))

    assert f["new_projects"] == {
        "count": 60, "planned_investment_wan": D("14670000.00"), "target": 55,
        "target_investment_wan": D("12000000.00"),
        "buckets": {"1-10": _pair(40, "1170000.00"), "10-50": _pair(14, "4000000.00"),
                    "50-300": _pair(4, "2900000.00"), "300+": _pair(2, "6600000.00")},
        "now_on_hold": _pair(2, "610000.00"), "now_lost": _pair(3, "1399999.98"),
    }
    assert f["started"] == {"count": 5, "target": 12}
    assert f["producing"] == {"count": 3, "target": 10}
    assert f["targets"] == {"new_projects": 55, "new_investment_wan": D("12000000.00"),
                            "started": 12, "producing": 10, "note": None}
    assert f["by_stage"] == {
        "identified": _stage(1, "20000.00"),
        "contacted": _stage(1, "40000.00"),
        "negotiating": _stage(1, "5000000.00"),
        "intention": _stage(1, "60000.00", "50", "30000.00"),
        "signed": _stage(13, "3326666.67", "90", "2994000.00"),
        "registered": _stage(41, "4697654.34"),
        "started": _stage(4, "3988333.33"),
        "producing": _stage(3, "1092345.67"),
        "on_hold": _stage(3, "625000.00"),
        "lost": _stage(4, "1699999.98"),
    }
    assert list(f["by_stage"]) == ["identified", "contacted", "negotiating", "intention", "signed",
                                   "registered", "started", "producing", "on_hold", "lost"]
    assert f["open_pipeline"] == {"count": 65, "planned_investment_wan": D("18225000.01"),
                                  "weighted_wan": D("3024000.00")}
    assert [(c["from"], c["to"], c["reached_from"], c["reached_to"], c["rate_pct"])
            for c in f["conversion"]] == [
        ("identified", "contacted", 72, 71, D("98.6")),
        ("contacted", "negotiating", 71, 69, D("97.2")),
        ("negotiating", "intention", 69, 67, D("97.1")),
        ("intention", "signed", 67, 66, D("98.5")),
        ("signed", "registered", 66, 51, D("77.3")),
        ("registered", "started", 51, 7, D("13.7")),
        ("started", "producing", 7, 3, D("42.9")),
    ]
    assert {r["cluster_code"]: {k: r[k] for k in _dim(0, 0, 0, 0, 0, 0)} for r in f["by_cluster"]} == {
        "shipbuilding": _dim(2, "6600000", 1, 1, 4, "6780000"),
        "shipping": _dim(14, "4000000", 1, 0, 15, "3750000.01"),
        "biomedicine": _dim(2, "1100000", 0, 0, 2, "560000"),
        "fisheries": _dim(40, "1170000", 2, 1, 40, "1075000.00"),
        "equipment": _dim(2, "1800000", 1, 1, 1, "1000000"),
        "energy": _dim(0, "0", 0, 0, 1, "5000000"),
        "other": _dim(0, "0", 0, 0, 2, "60000"),
    }
    # Clusters come in their configured order, with their names.
    assert [r["cluster_code"] for r in f["by_cluster"]] == [
        "shipbuilding", "shipping", "biomedicine", "fisheries", "equipment", "energy", "other"]
    assert f["by_cluster"][0]["name_zh"] == "船舶海工"
    assert {r["unit_id"]: {k: r[k] for k in _dim(0, 0, 0, 0, 0, 0)} for r in f["by_unit"]} == {
        u1: _dim(16, "10600000", 2, 1, 21, "15550000.01"),
        u2: _dim(43, "3570000", 3, 2, 42, "2135000.00"),
        None: _dim(1, "500000", 0, 0, 2, "540000"),
    }
    assert f["by_unit"][-1]["unit_id"] is None  # "no unit" comes last
    assert {r["owner_id"]: {k: r[k] for k in _dim(0, 0, 0, 0, 0, 0)} for r in f["by_owner"]} == {
        s1: _dim(16, "10600000", 2, 1, 20, "15530000.01"),
        s2: _dim(4, "2900000", 1, 1, 3, "1560000"),
        s3: _dim(40, "1170000", 2, 1, 42, "1135000.00"),
    }
    assert {r["owner_id"]: r["name"] for r in f["by_owner"]} == {s1: "S1", s2: "S2", s3: "S3"}
    assert f["time_in_stage"] == {
        "identified": {"projects": 4, "median_days": D("15.0")},
        "contacted": {"projects": 2, "median_days": D("17.0")},
        "negotiating": {"projects": 3, "median_days": D("40.0")},
        "on_hold": {"projects": 1, "median_days": D("40.0")},
    }
    assert f["overdue_follow_ups"]["total"] == 4
    assert {r["unit_id"]: r["count"] for r in f["overdue_follow_ups"]["by_unit"]} == {u1: 2, u2: 1, None: 1}
    assert f["open_problems"]["total"] == 4
    assert {r["unit_id"]: r["count"] for r in f["open_problems"]["by_unit"]} == {u1: 1, u2: 2, None: 1}


def test_other_years_count_their_own_signings_once(dataset):
    f2021 = figures.pipeline_figures(2021)
    # Only b3 (signed 2021-01-01); a1, a6 and a23 were signed in 2020, registered in 2021.
    assert f2021["new_projects"]["count"] == 1
    assert f2021["new_projects"]["planned_investment_wan"] == D("200000.00")
    assert f2021["started"]["count"] == 1 and f2021["producing"]["count"] == 0
    assert f2021["started"]["target"] is None and f2021["targets"]["new_projects"] is None
    # b3's stays ended on 2021-01-01 in Qingdao: 91.7 days identified, 11 hours in intention.
    assert f2021["time_in_stage"] == {
        "identified": {"projects": 1, "median_days": D("91.7")},
        "intention": {"projects": 1, "median_days": D("0.5")},
    }
    f2019 = figures.pipeline_figures(2019)
    # b2 (signed 2019-12-31, registered 2020) and b11 (signed 2019, started 2021).
    assert f2019["new_projects"]["count"] == 2
    assert f2019["new_projects"]["planned_investment_wan"] == D("150000.00")
    assert f2019["producing"]["count"] == 0 and f2019["started"]["count"] == 1  # b7


def _total(stmt):
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def _amount(stmt):
    sub = stmt.order_by(None).subquery()
    return db.session.scalar(select(func.coalesce(func.sum(sub.c.planned_investment_wan), 0)))


def figure_links(f: dict) -> list[tuple[str, dict, int, Decimal | None]]:
    """Every number of the figures with the drill-down that must list exactly that many records."""
    links = []
    new = f["new_projects"]
    links.append(("new_projects", {}, new["count"], new["planned_investment_wan"]))
    for bucket, row in new["buckets"].items():
        links.append(("new_projects", {"bucket": bucket}, row["count"], row["planned_investment_wan"]))
    for side in ("on_hold", "lost"):
        row = new[f"now_{side}"]
        links.append(("new_projects", {"current": side}, row["count"], row["planned_investment_wan"]))
    links += [("started", {}, f["started"]["count"], None),
              ("producing", {}, f["producing"]["count"], None)]
    for stage, row in f["by_stage"].items():
        links.append(("pipeline", {"stage": stage}, row["count"], row["planned_investment_wan"]))
    links.append(("pipeline", {}, f["open_pipeline"]["count"],
                  f["open_pipeline"]["planned_investment_wan"]))
    for dim, key, param in (("by_cluster", "cluster_code", "cluster"),
                            ("by_unit", "unit_id", "unit"), ("by_owner", "owner_id", "owner")):
        for row in f[dim]:
            value = figures.NO_UNIT if row[key] is None else row[key]
            links += [("new_projects", {param: value}, row["new_count"], row["new_investment_wan"]),
                      ("started", {param: value}, row["started"], None),
                      ("producing", {param: value}, row["producing"], None),
                      ("pipeline", {param: value}, row["open_count"], row["open_investment_wan"])]
    for c in f["conversion"]:
        links.append(("reached", {"stage": c["from"]}, c["reached_from"], None))
    links.append(("reached", {"stage": f["conversion"][-1]["to"]}, f["conversion"][-1]["reached_to"], None))
    for stage, row in f["time_in_stage"].items():
        links.append(("time_in_stage", {"stage": stage}, row["projects"], None))
    for key in ("overdue_follow_ups", "open_problems"):
        links.append((key, {}, f[key]["total"], None))
        for row in f[key]["by_unit"]:
            unit = figures.NO_UNIT if row["unit_id"] is None else row["unit_id"]
            links.append((key, {"unit": unit}, row["count"], None))
    return links


@pytest.mark.parametrize("year", [2019, 2020, 2021])
def test_every_figure_equals_the_total_of_the_records_behind_it(dataset, year):
    f = figures.pipeline_figures(year)
    links = figure_links(f)
    assert len(links) > 40
    for figure, params, count, amount in links:
        stmt = figures.projects_behind(figure, year, **params)
        assert _total(stmt) == count, (figure, params)
        if amount is not None:
            assert D(_amount(stmt)).quantize(D("0.01")) == amount, (figure, params)


def test_drill_downs_filter_by_dimension_and_current_stage(dataset):
    ids = dataset["projects"]
    lost = db.session.scalars(figures.projects_behind("new_projects", 2020, current="lost")).all()
    assert {p.id for p in lost} == {ids["a3"], ids["a7"], ids["a21"]}
    big = db.session.scalars(figures.projects_behind("new_projects", 2020, bucket="300+")).all()
    assert [p.id for p in big] == [ids["a0"], ids["a1"]]  # largest first
    no_unit = db.session.scalars(figures.projects_behind("pipeline", 2020, unit=figures.NO_UNIT)).all()
    assert {p.id for p in no_unit} == {ids["a5"], ids["b9"]}


@pytest.mark.parametrize("figure, params", [
    ("nothing", {}),
    ("reached", {}),
    ("reached", {"stage": "lost"}),
    ("new_projects", {"bucket": "5-7"}),
    ("started", {"stage": "signed"}),
    ("open_problems", {"cluster": "shipping"}),
    ("pipeline", {"unit": "abc"}),
    ("pipeline", {"current": "gone"}),
])
def test_unknown_figures_and_parameters_are_refused(app, figure, params):
    with pytest.raises(figures.UnknownFigure):
        figures.projects_behind(figure, 2020, **params)


def test_stays_with_the_same_timestamp_are_ordered_by_their_record(app, make_user):
    """An import may record two moves at one instant; the second stay then lasts zero days."""
    owner = make_user("staff")
    org = Organization(name_zh="同一时刻", country="CN")
    db.session.add(org)
    db.session.flush()
    project = Project(name="同时", organization_id=org.id, cluster_code="other", stage="intention",
                      planned_investment_wan=D("1"), owner_id=owner.id,
                      created_at=datetime(2021, 3, 1))
    db.session.add(project)
    db.session.flush()
    entered = project.created_at
    for from_stage, to_stage, at in [("identified", "contacted", datetime(2021, 3, 11)),
                                     ("contacted", "negotiating", datetime(2021, 3, 11)),
                                     ("negotiating", "intention", datetime(2021, 3, 21))]:
        db.session.add(StageChange(project_id=project.id, from_stage=from_stage, to_stage=to_stage,
                                   from_entered_at=entered, changed_at=at, actor_label="import"))
        entered = at
    db.session.commit()
    assert figures.pipeline_figures(2021)["time_in_stage"] == {
        "identified": {"projects": 1, "median_days": D("10.0")},
        "contacted": {"projects": 1, "median_days": D("0.0")},
        "negotiating": {"projects": 1, "median_days": D("10.0")},
    }


def test_each_move_records_when_the_stage_it_ends_began(app, users):
    """The services stamp every stage change with the project's previous `stage_changed_at`:
    the stay it ends, which is all the median time in stage reads."""
    staff = users["staff"]
    project = make_project(staff)
    entered = utcnow() - timedelta(days=12)
    project.stage_changed_at = entered  # as if it had entered "identified" twelve days ago
    db.session.commit()
    services.change_stage(project, "contacted", actor=staff)
    services.change_stage(project, "negotiating", actor=staff)
    first, *moves = db.session.scalars(select(StageChange).where(
        StageChange.project_id == project.id).order_by(StageChange.id))
    assert (first.from_stage, first.from_entered_at) == (None, None)
    assert [(m.from_stage, m.from_entered_at) for m in moves] == [
        ("identified", entered), ("contacted", moves[0].changed_at)]
    time_in_stage = figures.pipeline_figures(local_today().year)["time_in_stage"]
    assert time_in_stage["identified"] == {"projects": 1, "median_days": D("12.0")}
    assert time_in_stage["contacted"] == {"projects": 1, "median_days": D("0.0")}


def test_a_move_out_of_a_stage_must_say_when_the_stage_began(app, users):
    project = make_project(users["staff"])
    db.session.add(StageChange(project_id=project.id, from_stage="identified", to_stage="contacted",
                               actor_label="test"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_demo_stays_follow_each_other(app):
    from crm.demo import seed_demo

    seed_demo()
    changes = db.session.scalars(select(StageChange).order_by(StageChange.project_id, StageChange.id)).all()
    assert len(changes) > 30
    for before, change in zip(changes, changes[1:]):
        if change.project_id == before.project_id:
            assert change.from_entered_at == before.changed_at <= change.changed_at


def test_the_demo_holds_the_2021_plan_and_is_idempotent(app):
    from crm.demo import seed_demo

    seed_demo()
    seed_demo()
    targets = {t.year: t for t in db.session.scalars(select(YearTarget))}
    assert set(targets) == {2020, 2021}
    plan = targets[2021]
    assert (plan.new_projects, plan.new_investment_wan, plan.started, plan.producing) == (50, None, 15, 15)
    assert db.session.scalar(select(func.count()).select_from(StageProbability)) == 8
    f = figures.pipeline_figures(2021)
    assert f["new_projects"]["target"] == 50 and f["started"]["target"] == 15
