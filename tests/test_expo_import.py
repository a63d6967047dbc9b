"""Importing and exporting an edition's exhibitors through the pages: preview (nothing
written), per-row errors, commit in one transaction, idempotent re-import, hostile files."""
import io
import re
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import event as sa_event, func, select

from crm.audit.history import history_of
from crm.audit.models import AuditLog
from crm.expo import services
from crm.expo.models import Exhibitor
from crm.extensions import db
from crm.organizations.models import Contact, Organization
from crm.organizations.normalize import credit_code_check_char
from crm.organizations.services import add_contact
from crm.tabular.models import PendingUpload
from tests.test_expo_services import make_event, make_org
from tests.test_tabular import xlsx_bytes

CODE = "91370211MA3C0QX1L" + credit_code_check_char("91370211MA3C0QX1L")

ZH_ROWS = [
    ["中文名称", "英文名称", "统一社会信用代码", "国家/地区", "产业集群", "参展方式", "状态", "展位号",
     "意向成交额(万元)", "联系人", "邮箱"],
    ["青岛海工装备有限公司", "Qingdao Haigong Co., Ltd.", CODE, "中国", "船舶海工", "线上+线下", "已批准",
     "A01", "1200.50", "王海", "wang@haigong.cn"],
    ["", "Nichirei Corporation", "", "日本", "cold_chain", "online", "", "", "300", "Sato", ""],
    ["无名公司", "", "123", "火星", "", "space", "", "Z99", "-5", "", "not-an-email"],
    ["", "", "", "KR", "", "", "", "", "", "", ""],
    ["青岛海工装备股份有限公司", "", "", "CN", "", "", "", "", "", "", ""],  # same org as row 2
]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def upload(client, event, data, name):
    return client.post(f"/expo/events/{event.id}/import",
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def row_errors(response) -> list[tuple[str, str]]:
    """(row, column) of each line of the preview's error table."""
    table = response.text.split('data-testid="import-errors"', 1)
    if len(table) == 1:
        return []
    return re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>", table[1].split("</table>")[0])


def token_of(response) -> str:
    return re.search(r'name="token" type="hidden" value="([^"]+)"', response.text).group(1)


def setup_event():
    event = make_event()
    services.add_booths(event, hall="A", codes="A01-A05", area_m2="9")
    return event


def test_preview_shows_row_errors_and_writes_nothing(app, users, login):
    event = setup_event()
    organizer = login(users["organizer"])
    resp = upload(organizer, event, xlsx_bytes(ZH_ROWS), "展商.xlsx")
    assert resp.status_code == 200
    text = resp.text
    assert "2 行可导入" in text or "2 rows ready" in text
    # Row 4: credit code, country, mode, booth, deal and email; row 5: no name; row 6: same as 2.
    errors = row_errors(resp)
    assert ("4", "统一社会信用代码") in errors and ("4", "国家/地区") in errors
    assert ("4", "参展方式") in errors and ("4", "意向成交额(万元)") in errors
    assert ("4", "邮箱") in errors and ("5", "中文名称") in errors and ("6", "") in errors
    assert count(Organization) == 0 and count(Exhibitor) == 0
    assert count(PendingUpload) == 1


def test_commit_imports_valid_rows_once_and_reimport_changes_nothing(app, users, login):
    event = setup_event()
    organizer = login(users["organizer"])
    data = xlsx_bytes(ZH_ROWS)
    resp = organizer.post(f"/expo/events/{event.id}/import/commit",
                          data={"token": token_of(upload(organizer, event, data, "展商.xlsx"))})
    assert resp.status_code == 302
    assert count(Organization) == 2 and count(Exhibitor) == 2 and count(Contact) == 2
    haigong = db.session.scalar(select(Exhibitor).join(Organization)
                                .where(Organization.credit_code == CODE))
    assert (haigong.status, haigong.mode, haigong.booth.code, haigong.intended_deal_wan,
            haigong.source) == ("approved", "hybrid", "A01", Decimal("1200.50"), "import")
    assert haigong.contact.email == "wang@haigong.cn"
    assert haigong.organization.email_domain == "haigong.cn"
    nichirei = db.session.scalar(select(Organization).where(Organization.country == "JP"))
    assert nichirei.cluster_code == "cold_chain"
    history = db.session.scalar(select(AuditLog).where(AuditLog.entity == "exhibitors"))
    assert history.actor_kind == "import" and "展商.xlsx" in history.actor_label
    # Records created in bulk get the history the ORM's flush would have written.
    created = history_of("exhibitors", haigong.id)[0]
    assert created.action == "create" and created.created_fields == {
        "event_id": str(event.id), "organization_id": str(haigong.organization_id),
        "status": "approved", "mode": "hybrid", "booth_id": str(haigong.booth_id),
        "intended_deal_wan": "1200.50", "contact_id": str(haigong.contact_id),
        "source": "import"}
    org_created = history_of("organizations", haigong.organization_id)[0].created_fields
    assert org_created == {"name_zh": "青岛海工装备有限公司", "name_en": "Qingdao Haigong Co., Ltd.",
                           "credit_code": CODE, "country": "CN", "cluster_code": "shipbuilding",
                           "email_domain": "haigong.cn"}
    contact_log = history_of("contacts", haigong.contact_id)[0]
    assert contact_log.actor_kind == "import" and contact_log.created_fields["language"] == "zh_CN"
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "create", AuditLog.actor_kind == "import")) == 6
    assert count(PendingUpload) == 0
    audit_rows = count(AuditLog)

    # The same file again: previewed as updates, committed without creating anything.
    again = upload(organizer, event, data, "展商.xlsx")
    assert "登记已更新" in again.text or "updated" in again.text
    organizer.post(f"/expo/events/{event.id}/import/commit", data={"token": token_of(again)})
    assert count(Organization) == 2 and count(Exhibitor) == 2 and count(Contact) == 2
    assert count(AuditLog) == audit_rows  # nothing changed, nothing logged


def test_english_headers_csv_gb18030_and_existing_organisations(app, users, login):
    event = setup_event()
    known = make_org("东方海洋科技有限公司", "Oriental Ocean Tech")
    rows = ("Chinese name,English name,Country,Booth,Intended deal (万元),Status,Reason\n"
            "东方海洋科技股份有限公司,,CN,a02,88,approved,\n"
            "北方渔业,,CN,,,rejected,\n"
            "南洋渔业,Nanyang Fisheries Pte. Ltd.,Singapore,A03,,withdrawn,资金问题\n")
    organizer = login(users["organizer"])
    resp = upload(organizer, event, rows.encode("gb18030"), "list.csv")
    assert resp.status_code == 200
    # A rejected registration needs a reason; a withdrawn one gets no booth.
    assert row_errors(resp) == [("3", "原因"), ("4", "展位号")]
    organizer.post(f"/expo/events/{event.id}/import/commit", data={"token": token_of(resp)})
    ex = db.session.scalar(select(Exhibitor))
    assert count(Exhibitor) == 1 and ex.organization_id == known.id and ex.status == "approved"
    assert (ex.booth.code, ex.intended_deal_wan) == ("A02", Decimal("88.00"))


def test_known_contacts_are_reused_and_new_ones_added(app, users, login):
    event = setup_event()
    known = make_org("东方海洋科技有限公司", "Oriental Ocean Tech", country="JP")
    add_contact(known, name="Sato Ken", phone="+81 3 0000 0000")
    rows = ("English name,Country,Contact,Email,Title\n"
            "Oriental Ocean Tech,JP,sato ken,sato@oriental.jp,CEO\n"
            "Western Ocean,GB,Ann Lee,ann@western.co.uk,\n")
    organizer = login(users["organizer"])
    resp = upload(organizer, event, rows.encode(), "contacts.csv")
    organizer.post(f"/expo/events/{event.id}/import/commit", data={"token": token_of(resp)})
    sato = db.session.scalar(select(Contact).where(Contact.organization_id == known.id))
    assert count(Contact) == 2  # Sato was known (name compared case-blind): filled, not added
    assert (sato.email, sato.title, sato.phone) == ("sato@oriental.jp", "CEO", "+81 3 0000 0000")
    ann = db.session.scalar(select(Contact).where(Contact.name == "Ann Lee"))
    assert ann.language == "en" and ann.organization.name_en == "Western Ocean"
    by_org = {e.organization_id: e.contact_id for e in db.session.scalars(select(Exhibitor))}
    assert by_org == {known.id: sato.id, ann.organization_id: ann.id}


def test_commit_runs_a_fixed_number_of_look_ups_whatever_the_rows(app, users, login):
    organizer = login(users["organizer"])

    def commit(rows: int, edition: str) -> list[str]:
        event = make_event(name_zh=edition)
        data = "中文名称,国家/地区,联系人,邮箱\n" + "".join(
            f"{edition}企业{i},CN,联系人{i},c{i}@{edition}{i}.cn\n" for i in range(rows))
        token = token_of(upload(organizer, event, data.encode(), "x.csv"))
        statements = []

        def seen(_conn, _cursor, statement, *_args):
            statements.append(statement.split(None, 1)[0].upper())

        sa_event.listen(db.engine, "before_cursor_execute", seen)
        try:
            resp = organizer.post(f"/expo/events/{event.id}/import/commit", data={"token": token})
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", seen)
        assert resp.status_code == 302 and count(Exhibitor) >= rows
        return statements

    few, many = commit(5, "甲"), commit(40, "乙")
    assert few.count("SELECT") == many.count("SELECT")
    if db.engine.dialect.name == "postgresql":
        # The inserts go in batches too (SQLite inserts a row per statement to learn its id).
        assert len(few) == len(many)


def test_booth_taken_by_another_exhibitor_is_a_row_error(app, users, login):
    event = setup_event()
    holder = services.register_exhibitor(event, organization_id=make_org("占位公司").id)
    booth = services.free_booths(event.id)[0]
    services.assign_booth(holder, booth.id)
    data = f"中文名称,国家/地区,展位号\n新公司,CN,{booth.code}\n占位公司,CN,{booth.code}\n"
    resp = upload(login(users["organizer"]), event, data.encode(), "x.csv")
    errors = row_errors(resp)
    assert errors == [("2", "展位号")]  # the holder itself keeps its booth


def test_hostile_and_oversized_files_are_refused_with_a_message(app, users, login):
    event = setup_event()
    organizer = login(users["organizer"])
    resp = upload(organizer, event, b"PK\x03\x04garbage", "x.xlsx")
    assert resp.status_code == 422 and "XLSX" in resp.text
    app.config["TABULAR_MAX_BYTES"] = 100
    try:
        resp = upload(organizer, event, b"a," * 200, "x.csv")
        assert resp.status_code == 422 and "MB" in resp.text
    finally:
        del app.config["TABULAR_MAX_BYTES"]
    # Beyond the request limit the server refuses before reading (413).
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    assert upload(organizer, event, big, "x.csv").status_code == 413
    assert organizer.post(f"/expo/events/{event.id}/import", data={}).status_code == 422
    assert count(PendingUpload) == 0


def test_a_pending_upload_belongs_to_its_uploader_and_edition(app, users, login, make_user):
    event, other_event = setup_event(), make_event(name_zh="另一届")
    organizer = login(users["organizer"])
    token = token_of(upload(organizer, event, xlsx_bytes(ZH_ROWS), "x.xlsx"))
    someone = login(make_user("organizer"))
    resp = someone.post(f"/expo/events/{event.id}/import/commit", data={"token": token})
    assert resp.status_code == 302 and count(Exhibitor) == 0
    resp = organizer.post(f"/expo/events/{other_event.id}/import/commit", data={"token": token})
    assert count(Exhibitor) == 0
    resp = organizer.post(f"/expo/events/{event.id}/import/commit", data={"token": "nope"})
    assert resp.status_code == 302 and count(Exhibitor) == 0


def test_templates_download_in_both_languages(app, users, login):
    event = setup_event()
    client = login(users["staff"])
    zh = client.get(f"/expo/events/{event.id}/import/template?lang=zh_CN")
    en = client.get(f"/expo/events/{event.id}/import/template?lang=en")
    assert zh.status_code == en.status_code == 200
    zh_headers = [c.value for c in load_workbook(io.BytesIO(zh.data)).worksheets[0][1]]
    en_headers = [c.value for c in load_workbook(io.BytesIO(en.data)).worksheets[0][1]]
    assert zh_headers[:2] == ["中文名称", "英文名称"] and en_headers[:2] == ["Chinese name", "English name"]
    assert "国家/地区*" in zh_headers


def test_export_escapes_formulas_and_reimports(app, users, login):
    event = setup_event()
    org = make_org("=HYPERLINK(\"http://evil\")", "+Evil Corp", country="JP")
    ex = services.register_exhibitor(event, organization_id=org.id, exhibits="@SUM(A1)",
                                     intended_deal_wan="12.5")
    services.change_status(ex, "approved")
    client = login(users["manager"])
    resp = client.get(f"/expo/events/{event.id}/exhibitors/export?format=xlsx")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(resp.data)).active
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]]))
    assert row["中文名称"] == "'=HYPERLINK(\"http://evil\")" and row["英文名称"] == "'+Evil Corp"
    assert row["展品"] == "'@SUM(A1)" and row["意向成交额(万元)"] == 12.5
    assert row["国家/地区"] == "日本" and row["状态"] == "已批准"
    csv_resp = client.get(f"/expo/events/{event.id}/exhibitors/export?format=csv&status=approved")
    text = csv_resp.data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and csv_resp.mimetype == "text/csv"
    assert "'=HYPERLINK" not in client.get(
        f"/expo/events/{event.id}/exhibitors/export?format=csv&status=applied").data.decode(
        "utf-8-sig")
    # The export is a valid import: the same registration is recognised and updated.
    organizer = login(users["organizer"])
    preview = upload(organizer, event, resp.data, "export.xlsx")
    assert "1 行可导入" in preview.text and "0 行有错误" in preview.text
    organizer.post(f"/expo/events/{event.id}/import/commit", data={"token": token_of(preview)})
    assert count(Organization) == 1 and count(Exhibitor) == 1
    assert db.session.get(Organization, org.id).name_zh == "=HYPERLINK(\"http://evil\")"
