"""The ledger spreadsheet: XLSX/CSV with Chinese headers, preview with per-row errors, one
transaction, idempotent re-import, stage moves by the rules, and an export that re-imports."""
import io
from decimal import Decimal

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from crm.audit.models import AuditLog
from crm.extensions import db
from crm.leads.models import Project, StageChange
from crm.organizations.models import Organization
from tests.leads_support import days_ago, make_org, make_project

HEADERS = ["序号", "企业名称", "英文名称", "项目名称", "产业链", "计划投资(万元)", "项目阶段", "签约日期",
           "负责人", "项目来源", "下次跟进日期", "标签", "流失原因"]


def _xlsx(rows, headers=HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _upload(client, data: bytes, name="台账.xlsx"):
    return client.post("/projects/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _token(body: str) -> str:
    marker = 'name="token" type="hidden" value="'
    start = body.index(marker) + len(marker)
    return body[start:body.index('"', start)]


def _import(client, data: bytes, name="台账.xlsx"):
    preview = _upload(client, data, name)
    assert preview.status_code == 200, preview.get_data(as_text=True)[:500]
    body = preview.get_data(as_text=True)
    resp = client.post("/projects/import/commit", data={"token": _token(body)})
    assert resp.status_code == 302
    return body


def _count(model):
    return db.session.scalar(select(func.count(model.id)))


def test_preview_shows_row_errors_and_writes_nothing(users, login):
    staff = users["staff"]
    data = _xlsx([
        [1, "青岛深蓝渔业有限公司", "Deep Blue Fisheries", "深远海养殖平台", "现代渔业", "120000", "洽谈中", None, None, "论坛", None, "深远海养殖", None],
        [2, "某船舶公司", None, "船坞", "不存在的产业", "-5", "已签约", None, None, None, None, None, None],
        [3, None, None, "没有企业的项目", "船舶海工", "100", None, None, None, None, None, None, None],
        [4, "流失企业", None, "流失项目", "冷链物流", "100", "流失", None, None, None, None, None, None],
        [5, "别人的企业", None, "别人的项目", "冷链物流", "100", None, None, "admin@blueledger.demo", None, None, None, None],
    ])
    resp = _upload(login(staff), data)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'data-testid="valid-count">1 ' in body
    errors = body[body.index('data-testid="import-errors"'):]
    # Spreadsheet row numbers: the header is row 1.
    for row, column in [(3, "产业链"), (3, "计划投资(万元)"), (4, "企业名称"), (5, "流失原因"), (6, "负责人")]:
        assert f"<td>{row}</td><td>{column}</td>" in errors, (row, column)
    assert _count(Project) == 0 and _count(Organization) == 0


def test_import_creates_then_reimport_changes_nothing(users, login):
    staff = users["staff"]
    known = make_org("中国船舶集团青岛北海造船有限公司", "CSSC Qingdao Beihai Shipbuilding")
    rows = [
        [1, "中国船舶集团青岛北海造船有限公司", None, "LNG 配套产业园", "船舶海工", "1,200,000", "已签约", days_ago(30), None, "论坛", days_ago(-5), "LNG，链主", None],
        [2, "青岛深蓝渔业有限公司", "Deep Blue Fisheries", "深远海养殖平台", "fisheries", 56000.5, "negotiating", None, "staff@blueledger.demo", "Expo", None, None, None],
        [3, "青岛深蓝渔业有限公司", "Deep Blue Fisheries", "海洋牧场示范区", "现代渔业", "800", None, None, None, None, None, None, None],
    ]
    client = login(staff)
    preview = _import(client, _xlsx(rows))
    assert "新建项目" in preview
    projects = {p.name: p for p in db.session.scalars(select(Project))}
    assert set(projects) == {"LNG 配套产业园", "深远海养殖平台", "海洋牧场示范区"}
    lng = projects["LNG 配套产业园"]
    assert (lng.organization_id, lng.stage, lng.signed_on) == (known.id, "signed", days_ago(30))
    assert lng.planned_investment_wan == Decimal("1200000.00") and lng.tags == "LNG,链主"
    assert projects["深远海养殖平台"].planned_investment_wan == Decimal("56000.50")
    assert projects["深远海养殖平台"].organization_id == projects["海洋牧场示范区"].organization_id
    assert all(p.owner_id == staff.id and p.unit_id == staff.unit_id for p in projects.values())
    assert _count(Organization) == 2
    timeline = db.session.scalars(select(StageChange).where(StageChange.project_id == lng.id)).all()
    assert [(c.to_stage, c.milestone_on) for c in timeline] == [("signed", days_ago(30))]
    audit = db.session.scalar(select(AuditLog).where(AuditLog.entity == "projects"))
    assert audit.actor_kind == "import" and "台账.xlsx" in audit.actor_label

    before = (_count(Project), _count(Organization), _count(StageChange), _count(AuditLog))
    again = _import(client, _xlsx(rows))
    assert "已更新" in again or "updated" in again
    assert (_count(Project), _count(Organization), _count(StageChange), _count(AuditLog)) == before


def test_reimport_moves_stages_by_the_rules(users, login):
    staff = users["staff"]
    org = make_org("青岛冷链集团")
    project = make_project(staff, org, name="冷库二期", stage="negotiating")
    client = login(staff)
    bad = _upload(client, _xlsx([[1, "青岛冷链集团", None, "冷库二期", "冷链物流", None, "已对接", None, None, None, None, None, None]]))
    assert "不能从" in bad.get_data(as_text=True)
    missing_date = _upload(client, _xlsx([[1, "青岛冷链集团", None, "冷库二期", "冷链物流", None, "已签约", None, None, None, None, None, None]]))
    assert "签约日期" in missing_date.get_data(as_text=True) and 'data-testid="valid-count">0 ' in missing_date.get_data(as_text=True)
    _import(client, _xlsx([[1, "青岛冷链集团", None, "冷库二期", "冷链物流", "9000", "已签约", days_ago(2), None, None, None, None, None]]))
    db.session.expire_all()
    fresh = db.session.get(Project, project.id)
    assert (fresh.stage, fresh.signed_on, fresh.planned_investment_wan) == ("signed", days_ago(2), Decimal("9000.00"))
    change = db.session.scalar(select(StageChange).order_by(StageChange.id.desc()))
    assert (change.from_stage, change.to_stage, change.actor_id) == ("negotiating", "signed", staff.id)


def test_staff_cannot_import_over_a_colleagues_project(users, login, make_user):
    staff = users["staff"]
    colleague = make_user("staff", unit_id=staff.unit_id)
    make_project(colleague, make_org("同事企业"), name="同事项目")
    body = _upload(login(staff), _xlsx([[1, "同事企业", None, "同事项目", "冷链物流", "5", None, None, None, None, None, None, None]])).get_data(as_text=True)
    assert 'data-testid="valid-count">0 ' in body


def test_admin_import_needs_owners_and_csv_works(users, login):
    csv = ("企业名称,项目名称,产业链,计划投资(万元),负责人\r\n"
           "青岛港国际,冷链枢纽,冷链物流,45000,staff@blueledger.demo\r\n"
           "无主企业,无主项目,冷链物流,10,\r\n").encode("gb18030")
    client = login(users["admin"])
    body = _import(client, csv, "ledger.csv")
    assert "<td>3</td><td>负责人</td>" in body
    project = db.session.scalar(select(Project))
    assert (project.name, project.owner_id) == ("冷链枢纽", users["staff"].id)
    assert _count(Project) == 1


def test_a_damaged_file_is_refused(users, login):
    resp = _upload(login(users["staff"]), b"PK\x03\x04 not really a workbook", "x.xlsx")
    assert resp.status_code == 422 and "invalid-feedback" in resp.get_data(as_text=True)


def test_export_is_scoped_filtered_and_reimports_unchanged(users, login, make_user):
    staff = users["staff"]
    far = make_user("staff", unit_id=None, email="far@blueledger.demo")
    from crm.reference.models import InvestmentUnit
    far.unit_id = db.session.scalars(select(InvestmentUnit.id).order_by(InvestmentUnit.id)).all()[2]
    db.session.commit()
    make_project(staff, make_org("明月海藻集团", "Bright Moon Seaweed"), name="海藻敷料", stage="started",
                 started_on=days_ago(9), planned_investment_wan="120000.55", tags="海洋生物医药",
                 next_follow_up_on=days_ago(-1))
    make_project(staff, name="小线索", planned_investment_wan="10")
    make_project(far, name="外单位项目")
    client = login(staff)
    resp = client.get("/projects/export", query_string={"amount": "ge1"})
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(resp.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("企业名称", "英文名称", "统一社会信用代码", "国家/地区", "项目名称")
    assert [r[4] for r in rows[1:]] == ["海藻敷料"]
    assert "外单位项目" not in client.get("/projects/export", query_string={"format": "csv"}).get_data(as_text=True)

    before = (_count(Project), _count(StageChange), _count(AuditLog))
    _import(client, resp.data, "export.xlsx")
    assert (_count(Project), _count(StageChange), _count(AuditLog)) == before


def test_template_downloads(users, login):
    resp = login(users["staff"]).get("/projects/import/template")
    headers = next(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert "项目名称*" in headers and "产业链*" in headers
