"""Demo projects for `make run` and screenshots: every stage, for the two demo staff members.

Idempotent: a project that already exists (same organisation and name) is left alone. Everything
goes through the services, then the stage history is spread over the past months so that the
timeline and the "time in each stage" read like a real ledger.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from crm.accounts.services import find_by_email
from crm.extensions import db
from crm.leads import services
from crm.leads.models import Project, StageChange
from crm.leads.stages import MILESTONE_STAGES, PIPELINE
from crm.organizations.models import Organization
from crm.organizations.services import create_organization
from crm.timeutil import local_today

STAFF = "staff@blueledger.demo"
STAFF2 = "staff2@blueledger.demo"

# (中文名, English name, country, cluster, project, 万元, final stage, owner, source, platform,
#  location, tags, days since first contact)
PROJECTS = [
    ("中国船舶集团青岛北海造船有限公司", "CSSC Qingdao Beihai Shipbuilding", "CN", "shipbuilding",
     "大型LNG运输船配套产业园", "1200000", "signed", STAFF, "forum", None, "海西湾船舶与海工产业基地",
     "LNG,链主企业", 260),
    ("招商局重工（青岛）有限公司", "China Merchants Heavy Industry (Qingdao)", "CN", "shipbuilding",
     "深远海养殖工船建造基地", "650000", "negotiating", STAFF2, "platform", "哈工程青岛船舶科技园",
     "海西湾", "深远海养殖,海工装备", 120),
    ("今井造船株式会社", "Imai Shipbuilding Co., Ltd.", "JP", "shipbuilding",
     "中日绿色甲醇动力船舶研发中心", "85000", "contacted", STAFF2, "expo", None, "古镇口融合创新区",
     "外资,绿色船舶", 45),
    ("现代尾浦造船", "Hyundai Mipo Dockyard", "KR", "equipment",
     "船用脱硫装置区域服务中心", "42000", "identified", STAFF2, "expo", None, None, "外资", 10),
    ("青岛海洋生物医药研究院", "Qingdao Marine Biomedical Research Institute", "CN", "biomedicine",
     "海洋创新药中试基地", "380000", "registered", STAFF, "referral", "海创小镇", "海创小镇",
     "创新药,中试", 330),
    ("明月海藻集团有限公司", "Bright Moon Seaweed Group", "CN", "biomedicine",
     "海藻酸盐医用敷料生产线", "120000", "started", STAFF, "visit", None, "董家口经济区",
     "海洋生物制品", 420),
    ("Marine Harvest Biotech AS", "Marine Harvest Biotech AS", "NO", "biomedicine",
     "Omega-3 鱼油精炼项目", "96000", "on_hold", STAFF, "expo", None, None, "外资,营养品", 200),
    ("国信海洋牧场发展有限公司", "Guoxin Marine Ranching Development", "CN", "fisheries",
     "“国信1号”深远海养殖二期", "3200000", "producing", STAFF, "forum", None, "黄海冷水团海域",
     "海洋牧场,深远海养殖,300亿以上", 600),
    ("青岛鲁海丰食品集团", "Qingdao Luhaifeng Food Group", "CN", "fisheries",
     "海洋牧场休闲渔业综合体", "58000", "intention", STAFF, "visit", None, "琅琊台海域",
     "海洋牧场", 150),
    ("獐子岛集团股份有限公司", "Zhangzidao Group", "CN", "fisheries",
     "海珍品苗种繁育中心", "16000", "lost", STAFF, "referral", None, None, "苗种", 240),
    ("Mowi ASA", "Mowi ASA", "NO", "fisheries",
     "三文鱼深远海网箱合作", "540000", "negotiating", STAFF, "forum", None, "黄海冷水团海域",
     "外资,深远海养殖,50亿以上", 90),
    ("中外运冷链物流有限公司", "Sinotrans Cold Chain Logistics", "CN", "cold_chain",
     "董家口港冷链物流枢纽", "450000", "intention", STAFF2, "platform", "自贸区青岛片区",
     "董家口港", "冷链,国际贸易", 110),
    ("青岛港国际股份有限公司", "Qingdao Port International", "CN", "cold_chain",
     "前湾港冷库扩建", "2800", "contacted", STAFF2, "visit", None, "前湾港区", "冷链", 30),
    ("日本冷藏仓库株式会社", "Nichirei Logistics Group", "JP", "cold_chain",
     "日韩进口水产品分拨中心", "73000", "identified", STAFF, "expo", None, None, "外资,冷链", 6),
    ("明阳智慧能源集团", "Mingyang Smart Energy Group", "CN", "energy",
     "海上风电装备制造基地", "1500000", "signed", STAFF2, "forum", None, "董家口经济区",
     "海上风电,50亿以上", 300),
    ("中广核新能源", "CGN New Energy", "CN", "energy",
     "海上光伏示范项目", "260000", "negotiating", STAFF, "platform", "光谷产业园", "海上",
     "新能源", 75),
    ("青岛海洋科技投资发展集团", "Qingdao Marine Sci-Tech Investment Group", "CN", "services",
     "涉海金融服务中心", "500", "identified", STAFF, "other", None, "唐岛湾", "金融", 3),
    ("中远海运集团", "COSCO Shipping", "CN", "shipping",
     "航运交易与船舶融资租赁平台", "300000", "contacted", STAFF, "referral", None, "自贸片区",
     "航运金融", 40),
    ("海尔卡奥斯", "Haier COSMOPlat", "CN", "equipment",
     "海洋装备工业互联网平台", "35000", "on_hold", STAFF2, "platform", "光谷产业园", None,
     "工业互联网", 180),
    ("青岛灵山湾文旅集团", "Lingshan Bay Culture & Tourism Group", "CN", "tourism",
     "海洋文化影视旅游综合体", "800000", "started", STAFF2, "visit", None, "灵山湾", "文旅",
     380),
]

ACTIVITIES = [
    ("call", "电话联系企业投资部，介绍西海岸新区海洋产业政策", "对方表示有兴趣，约定面谈"),
    ("visit", "带队赴企业总部拜访，参观生产线并交流选址需求", "企业提出用地约200亩、配套码头的需求"),
    ("docking", "参加东亚海洋博览会招商对接会，一对一洽谈", "对方高层同意近期来青考察"),
    ("meeting", "陪同企业考察拟落户园区，与园区管委会座谈", "初步认可选址，要求提供政策清单"),
    ("email", "发送项目投资政策清单和用地规划资料", "对方已确认收到，正在内部评估"),
]


def _org(zh: str, en: str, country: str, cluster: str) -> Organization:
    existing = db.session.scalar(select(Organization).where(Organization.name_zh == zh))
    if existing is not None:
        return existing
    return create_organization(name_zh=zh, name_en=en if en != zh else None, country=country,
                               cluster_code=cluster, allow_duplicate=True)


def _path(final: str) -> list[str]:
    """The stages a demo project went through to reach `final`."""
    if final in PIPELINE:
        return list(PIPELINE[1:PIPELINE.index(final) + 1])
    before = "negotiating" if final == "lost" else "intention"
    return list(PIPELINE[1:PIPELINE.index(before) + 1]) + [final]


def _backdate(project: Project, days: int) -> None:
    """Spread the stage changes over the project's life, oldest first."""
    changes = list(db.session.scalars(select(StageChange).where(
        StageChange.project_id == project.id).order_by(StageChange.id)))
    start = datetime.combine(local_today() - timedelta(days=days), time(2, 0))
    step = timedelta(days=days / max(len(changes), 1))
    for i, change in enumerate(changes):
        change.changed_at = (datetime.combine(change.milestone_on, time(2, 0))
                             if change.milestone_on else start + step * i)
        if change.from_stage is not None:
            change.from_entered_at = changes[i - 1].changed_at
    project.created_at = changes[0].changed_at
    project.stage_changed_at = changes[-1].changed_at
    db.session.commit()


def _seed_project(row, owners) -> Project | None:
    (zh, en, country, cluster, name, amount, final, owner_email, source, platform, location,
     tags, days) = row
    org = _org(zh, en, country, cluster)
    if db.session.scalar(select(Project.id).where(Project.organization_id == org.id,
                                                  Project.name == name)):
        return None
    owner = owners[owner_email]
    today = local_today()
    project = services.create_project(
        organization_id=org.id, name=name, cluster_code=cluster, owner_id=owner.id,
        planned_investment_wan=Decimal(amount), source=source, source_platform=platform,
        location=location, tags=tags,
        intention_notes="企业计划在西海岸新区布局，重点关注用地、用海和人才政策。",
        expected_signing_on=today + timedelta(days=60) if final in PIPELINE[:4] else None)
    path = _path(final)
    for i, stage in enumerate(path):
        on = None
        if stage in MILESTONE_STAGES or stage == "lost":
            on = today - timedelta(days=int(days * (len(path) - i - 0.5) / (len(path) + 1)))
        services.change_stage(project, stage, actor=owner, on=on,
                              lost_reason="企业最终选择落户外省，给予的土地价格更低" if stage == "lost" else None,
                              note="例会研究决定" if stage in MILESTONE_STAGES else None)
    _backdate(project, days)
    return project


def _follow_up(project: Project, owner, index: int, nth: int) -> None:
    """Activities, then a next step and sometimes a problem; `nth` counts the owner's projects
    so that each demo staff member gets steps due today, overdue and next week."""
    today = local_today()
    count = 1 + index % 4
    for n in range(count):
        kind, summary, outcome = ACTIVITIES[(index + n) % len(ACTIVITIES)]
        occurred = today - timedelta(days=(count - n) * 9 + index % 5)
        services.log_activity(project, owner, kind=kind, occurred_on=occurred, summary=summary,
                              outcome=outcome, people="企业投资总监；招商科")
    if project.stage in ("lost", "producing"):
        return
    # Some due today, some overdue, some next week: "my day" has something in every section.
    due = today + timedelta(days=(0, -3, 5, -1, 2)[nth % 5])
    services.add_next_step(project, owner, action=("回访确认考察行程", "提交项目用地预审材料",
                                                   "安排局领导会见", "发送投资协议草稿",
                                                   "对接园区落实厂房")[nth % 5], due_on=due)
    if nth % 3 == 0:
        services.add_problem(project, owner, due_on=today + timedelta(days=(-4, 7, 0)[index % 3]),
                             description=("用海审批需市海洋发展局协调", "项目用地指标不足，需区自然资源局统筹",
                                          "外资准入及外汇登记流程需商务局指导")[index % 3])


def seed_demo() -> int:
    """Returns how many projects it created."""
    owners = {email: find_by_email(email) for email in (STAFF, STAFF2)}
    if None in owners.values():
        return 0
    created, nth = 0, dict.fromkeys(owners, 0)
    for index, row in enumerate(PROJECTS):
        project = _seed_project(row, owners)
        if project is not None:
            _follow_up(project, owners[row[7]], index, nth[row[7]])
            created += 1
        nth[row[7]] += 1
    return created
