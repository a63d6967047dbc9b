"""PDF briefs and packs end to end: the web request, a real `worker.py` rendering with WeasyPrint,
the PDF read back with pypdf; the cache, the job timeout, failures and retries, access, safety."""
from __future__ import annotations

import io
import logging
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import event, func, select

from crm.documents import render
from crm.documents.models import Document
from crm.extensions import db
from crm.leads.models import Activity, NextStep, Problem, Project, StageChange
from crm.organizations.models import Contact, Organization
from crm.queue import get_queue
from crm.reference.models import InvestmentUnit

PASSWD_MARKER = "root:x:0:0"


@pytest.fixture(autouse=True)
def _empty_queues_after(redis_conn):
    """Requests enqueue jobs; the redis_conn fixture removes them after each test."""
    yield


# --- data and helpers (shared with test_documents_bulletin.py) -------------------------------

def make_project(owner, *, name="深远海养殖工船项目", org_zh="青岛蓝海船舶重工有限公司",
                 org_en="Qingdao Blue Sea Heavy Industry", amount="125000.00", stage="signed",
                 country="KR", credit_code="91370211MA3C0ABCD1", unit_id=None, activities=7,
                 summary="第{i}次拜访，讨论项目落地选址与用海审批。", **fields) -> Project:
    org = Organization(name_zh=org_zh, name_en=org_en, country=country, credit_code=credit_code,
                       cluster_code="shipbuilding")
    org.contacts.append(Contact(name="金敏俊", title="总经理", phone="+82 10 1234 5678",
                                email="kim@bluesea.example"))
    fields.setdefault("signed_on", date(2024, 3, 5) if stage == "signed" else None)
    project = Project(organization=org, name=name, cluster_code="fisheries",
                      planned_investment_wan=Decimal(amount), source="forum",
                      source_platform="东亚海洋合作平台青岛论坛",
                      unit_id=unit_id if unit_id is not None else owner.unit_id,
                      owner_id=owner.id, stage=stage, **fields)
    db.session.add(project)
    db.session.flush()
    for from_stage, to_stage in [(None, "identified"), ("identified", "negotiating"),
                                 ("negotiating", stage)]:
        db.session.add(StageChange(project_id=project.id, from_stage=from_stage, to_stage=to_stage,
                                   from_entered_at=project.created_at if from_stage else None,
                                   actor_id=owner.id, actor_label=owner.display_name))
    for i in range(activities):
        db.session.add(Activity(project_id=project.id, kind="visit",
                                occurred_on=date(2024, 1, 1) + timedelta(days=7 * i),
                                summary=summary.format(i=i), outcome="对方有明确意向",
                                author_id=owner.id))
    db.session.add(NextStep(project_id=project.id, action="安排签约仪式", assignee_id=owner.id,
                            due_on=date(2024, 2, 1)))
    db.session.add(Problem(project_id=project.id, description="用海指标紧张，需区里协调",
                           owner_id=owner.id))
    db.session.commit()
    return project


def last_unit() -> int:
    """An investment unit other than the one the fixtures' staff belong to (the first)."""
    return db.session.scalars(select(InvestmentUnit.id).order_by(InvestmentUnit.id.desc())).first()


def pdf_reader(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pdf_reader(data).pages)


def pdf_fonts(data: bytes) -> set[str]:
    fonts = set()
    for page in pdf_reader(data).pages:
        for font in page["/Resources"].get("/Font", {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    return fonts


def document_id_from(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    match = re.search(r"/documents/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def fetch(document_id: int) -> Document:
    db.session.expire_all()  # the worker process changed it
    return db.session.get(Document, document_id)


def rendered(client, document_id: int) -> bytes:
    response = client.get(f"/documents/{document_id}/download")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "no-store" in response.headers["Cache-Control"]
    return response.data


def drain(run_worker):
    done = run_worker()
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def queued_jobs() -> int:
    return get_queue("documents").count


# --- briefs ----------------------------------------------------------------------------------

def test_a_brief_goes_queued_then_ready_through_a_real_worker(users, login, run_worker):
    staff = users["staff"]
    project = make_project(staff)
    client = login(staff)

    doc_id = document_id_from(client.post(f"/documents/brief/{project.id}"))
    document = fetch(doc_id)
    assert (document.kind, document.status, document.requester_id) == ("brief", "queued", staff.id)
    assert document.params == {"project_ids": [project.id]} and document.locale == "zh_CN"
    assert queued_jobs() == 1
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert 'data-status="queued"' in page and "documents/%d/status" % doc_id in page
    assert 'http-equiv="refresh"' in page  # without JavaScript the page still updates itself
    assert client.get(f"/documents/{doc_id}/status").get_json()["status"] == "queued"
    assert client.get(f"/documents/{doc_id}/download").status_code == 404

    drain(run_worker)

    state = client.get(f"/documents/{doc_id}/status").get_json()
    assert state["status"] == "ready" and state["download_url"].endswith("/download")
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert 'data-testid="download"' in page and "setTimeout(poll" not in page
    document = fetch(doc_id)
    assert document.page_count in (1, 2) and document.render_ms > 0

    data = rendered(client, doc_id)
    text = pdf_text(data)
    for expected in ("深远海养殖工船项目", "青岛蓝海船舶重工有限公司", "Qingdao Blue Sea Heavy Industry",
                     "12.50", "亿元", "125,000.00", "韩国", "91370211MA3C0ABCD1", "现代渔业",
                     "区海洋发展局招商科", staff.display_name, "已签约", "2024-03-05",
                     "第6次拜访", "安排签约仪式", "用海指标紧张", "金敏俊", "东亚海洋合作平台青岛论坛",
                     "青岛西海岸新区海洋发展局", "项目简报"):
        assert expected in text, expected
    assert "第1次拜访" not in text  # only the latest five activities
    assert re.search(r"第\s*1\s*/\s*\d\s*页|1 / [12]", text)
    # Chinese comes out in the embedded CJK font (subset), not in a fallback with boxes.
    fonts = pdf_fonts(data)
    assert fonts and all("WenQuanYi" in font for font in fonts), fonts


def test_a_brief_is_in_the_requesters_language(make_user, login, run_worker):
    staff = make_user("staff", locale="en", display_name="Li Wei")
    project = make_project(staff)
    client = login(staff)
    doc_id = document_id_from(client.post(f"/documents/brief/{project.id}"))
    assert fetch(doc_id).locale == "en"
    drain(run_worker)
    text = pdf_text(rendered(client, doc_id))
    for expected in ("Planned investment", "South Korea", "Signed", "Latest activities",
                     "Ocean Development Bureau", "Li Wei", "深远海养殖工船项目"):
        assert expected in text, expected


def test_brief_pack_has_a_cover_a_table_of_contents_and_a_section_per_project(
        users, login, run_worker):
    staff = users["staff"]
    small = make_project(staff, name="冷链物流园项目", org_zh="青岛冷链物流有限公司", org_en="QD Cold Chain",
                         amount="15000", credit_code=None, activities=2)
    big = make_project(staff, name="海上风电装备基地", org_zh="东方海工集团", org_en="Orient Offshore",
                       amount="3200000", credit_code=None, activities=2)
    middle = make_project(staff, credit_code=None, activities=2)
    client = login(staff)
    page = client.get("/documents/pack").get_data(as_text=True)
    for project in (small, big, middle):
        assert f'value="{project.id}"' in page

    response = client.post("/documents/pack", data={
        "project_ids": [small.id, big.id, middle.id], "title": "2024年船舶海工对接会",
        "meeting_on": "2024-05-10"})
    doc_id = document_id_from(response)
    drain(run_worker)
    data = rendered(client, doc_id)
    reader = pdf_reader(data)
    pages = [p.extract_text() for p in reader.pages]
    assert "2024年船舶海工对接会" in pages[0] and "2024-05-10" in pages[0]
    assert "共 3 个项目" in pages[0] and "334.00 亿元" in pages[0]  # 320 + 12.5 + 1.5 亿元
    assert "目录" in pages[1]
    # The bookmarks say where each section starts; the table of contents prints the same pages,
    # biggest investment first.
    starts = {item.title: reader.get_destination_page_number(item) + 1 for item in reader.outline
              if not isinstance(item, list)}
    order = ["海上风电装备基地", "深远海养殖工船项目", "冷链物流园项目"]
    assert [starts[name] for name in order] == sorted(starts[name] for name in order)
    toc = pages[1]
    for number, name in enumerate(order, start=1):
        line = next(line for line in toc.splitlines() if f"{number}. {name}" in line)
        assert line.rstrip().endswith(str(starts[name])), line
        assert name in pages[starts[name] - 1]
    assert len(pages) >= 5


def test_a_pack_needs_projects_the_user_may_read(users, make_user, login):
    staff = users["staff"]
    other_unit = last_unit()
    stranger = make_user("staff", unit_id=other_unit)
    foreign = make_project(stranger, name="别人的项目", credit_code=None)
    colleague = make_user("staff")  # same unit as staff: readable
    shared = make_project(colleague, name="同科室项目", credit_code=None)
    client = login(staff)

    listing = client.get("/documents/pack").get_data(as_text=True)
    assert "同科室项目" in listing and "别人的项目" not in listing
    response = client.post("/documents/pack", data={"project_ids": [shared.id, foreign.id]})
    assert response.status_code == 200 and db.session.scalar(select(func.count(Document.id))) == 0
    response = client.post("/documents/pack", data={})
    assert "至少选择一个项目" in response.get_data(as_text=True)
    assert client.post(f"/documents/brief/{foreign.id}").status_code == 403
    assert client.post(f"/documents/brief/{shared.id}").status_code == 302
    assert client.post("/documents/brief/999999").status_code == 404


def test_the_pack_list_runs_the_same_statements_for_5_or_40_projects(users, login):
    staff = users["staff"]
    client = login(staff)

    def statements() -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/documents/pack").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    for i in range(5):
        make_project(staff, name=f"项目{i}", credit_code=None, activities=0)
    few = statements()
    for i in range(5, 40):
        make_project(staff, name=f"项目{i}", credit_code=None, activities=0)
    assert statements() == few


# --- the cache -------------------------------------------------------------------------------

def test_unchanged_inputs_are_served_from_the_earlier_pdf(users, login, run_worker):
    staff = users["staff"]
    project = make_project(staff)
    client = login(staff)
    first = document_id_from(client.post(f"/documents/brief/{project.id}"))
    # Asked twice before it is rendered: the same document, one job.
    assert document_id_from(client.post(f"/documents/brief/{project.id}")) == first
    assert queued_jobs() == 1
    assert "已在生成中" in client.get(f"/documents/{first}").get_data(as_text=True)
    drain(run_worker)
    pdf = fetch(first).pdf

    response = client.post(f"/documents/brief/{project.id}")
    assert document_id_from(response) == first
    assert queued_jobs() == 0
    assert "没有变化" in client.get(f"/documents/{first}").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Document.id))) == 1
    assert fetch(first).pdf == pdf

    # A new activity changes what the brief shows: a new document is rendered.
    db.session.add(Activity(project_id=project.id, kind="call", occurred_on=date(2024, 6, 1),
                            summary="电话确认签约时间", author_id=staff.id))
    db.session.commit()
    second = document_id_from(client.post(f"/documents/brief/{project.id}"))
    assert second != first and fetch(second).status == "queued" and queued_jobs() == 1
    assert fetch(second).fingerprint != fetch(first).fingerprint


# --- safety ----------------------------------------------------------------------------------

HOSTILE_IMG = '<img src="file:///etc/passwd">'
HOSTILE_LINK = "<link rel=attachment href=file:///etc/passwd>"


def _embedded_files(reader: PdfReader) -> list:
    """Every embedded-file trace in the PDF: the names tree, file specs, attachment annotations."""
    found = list(reader.attachments)
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            if annotation.get_object().get("/Subtype") == "/FileAttachment":
                found.append(annotation)
    root = reader.trailer["/Root"]
    if "/EmbeddedFiles" in (root.get("/Names") or {}):
        found.append("/EmbeddedFiles")
    return found


def _all_stream_bytes(reader: PdfReader) -> bytes:
    chunks = []
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    for number in range(1, int(reader.trailer["/Size"])):
        obj = reader.get_object(number)
        if obj is None:
            continue
        if hasattr(obj, "get_data"):
            chunks.append(obj.get_data())
        if hasattr(obj, "get") and (obj.get("/Type") == "/EmbeddedFile" or "/EF" in obj):
            chunks.append(b"/EmbeddedFile")
    return b"\n".join(chunks)


def test_hostile_names_render_as_text_and_nothing_is_embedded(users, login, run_worker):
    staff = users["staff"]
    project = make_project(staff, name=HOSTILE_LINK, org_zh=HOSTILE_IMG,
                           org_en='<a rel="attachment" href="file:///etc/passwd">x</a>',
                           summary=HOSTILE_IMG + " {i}", credit_code=None)
    client = login(staff)
    doc_id = document_id_from(client.post(f"/documents/brief/{project.id}"))
    drain(run_worker)
    data = rendered(client, doc_id)
    text = pdf_text(data)
    assert HOSTILE_IMG in text and HOSTILE_LINK in text
    assert PASSWD_MARKER not in text
    reader = pdf_reader(data)
    assert _embedded_files(reader) == []
    streams = _all_stream_bytes(reader)
    assert b"/EmbeddedFile" not in streams and PASSWD_MARKER.encode() not in streams


def test_the_renderer_loads_only_static_files_even_from_injected_html():
    html = ('<html><head><link rel="attachment" href="file:///etc/passwd">'
            '<link rel="attachment" href="pdf/pdf.css">'
            '<link rel="stylesheet" href="file:///etc/passwd">'
            '</head><body><img src="file:///etc/passwd"><img src="http://127.0.0.1:9/x.png">'
            '<img src="pdf/../../crm/config.py">'
            '<a rel="attachment" href="file:///etc/hostname">x</a>'
            '<iframe src="file:///etc/passwd"></iframe><object data="file:///etc/passwd"></object>'
            "<p>海洋</p></body></html>")
    data, pages = render.render_pdf(html)
    reader = pdf_reader(data)
    assert pages == 1 and _embedded_files(reader) == []
    streams = _all_stream_bytes(reader)
    assert b"/EmbeddedFile" not in streams and PASSWD_MARKER.encode() not in streams
    assert "海洋" in pdf_text(data)


def test_the_fetcher_serves_static_files_only(tmp_path, monkeypatch):
    assert render.static_path(render.BASE_URL + "pdf/pdf.css") == render.STYLESHEET
    for url in ("file:///etc/passwd", render.BASE_URL + "../crm/config.py",
                render.BASE_URL + "pdf/%2e%2e/%2e%2e/crm/config.py", render.BASE_URL + "pdf/",
                "http://127.0.0.1/static/pdf/pdf.css", "data:text/plain,hello",
                "file://evil.example/static/pdf/pdf.css"):
        assert render.static_path(url) is None, url
    # A symlink under static/ that leads outside is refused as well.
    static = tmp_path / "static"
    static.mkdir()
    (static / "escape").symlink_to("/etc/passwd")
    (static / "ok.css").write_text("p {}")
    monkeypatch.setattr(render, "STATIC_ROOT", static.resolve())
    assert render.static_path((static / "escape").as_uri()) is None
    assert render.static_path((static / "ok.css").as_uri()) == (static / "ok.css").resolve()


# --- timeouts, failures, retries -------------------------------------------------------------

def _many_projects(owner, count: int) -> list[int]:
    ids = []
    for i in range(count):
        org = Organization(name_zh=f"青岛海洋装备{i}有限公司", name_en=f"Ocean Equipment {i}",
                           country="CN")
        org.contacts.append(Contact(name=f"王{i}", title="董事长", phone="0532-8888 0000"))
        project = Project(organization=org, name=f"海洋装备项目{i}", cluster_code="equipment",
                          planned_investment_wan=Decimal(10000 + i), owner_id=owner.id,
                          unit_id=owner.unit_id, stage="negotiating")
        db.session.add(project)
        db.session.flush()
        db.session.add_all([Activity(project_id=project.id, kind="call",
                                     occurred_on=date(2024, 1, k + 1),
                                     summary="电话沟通投资意向与选址要求" * 4, author_id=owner.id)
                            for k in range(4)])
        ids.append(project.id)
    db.session.commit()
    return ids


def test_a_render_past_the_job_timeout_fails_and_the_worker_goes_on(
        app, users, login, run_worker, monkeypatch):
    staff = users["staff"]
    ids = _many_projects(staff, 120)  # a 120-page pack: several seconds of layout
    client = login(staff)
    monkeypatch.setitem(app.config, "DOCUMENTS_JOB_TIMEOUT", 2)
    slow = document_id_from(client.post("/documents/pack", data={"project_ids": ids}))
    monkeypatch.setitem(app.config, "DOCUMENTS_JOB_TIMEOUT", 120)
    quick = document_id_from(client.post(f"/documents/brief/{ids[0]}"))

    drain(run_worker)

    assert client.get(f"/documents/{quick}/status").get_json()["status"] == "ready"
    state = client.get(f"/documents/{slow}/status").get_json()
    assert state["status"] == "failed" and "2" in state["error"], state
    page = client.get(f"/documents/{slow}").get_data(as_text=True)
    assert 'data-testid="failure-reason"' in page and "超过 2 秒" in page
    assert 'data-testid="retry"' in page


def test_a_failed_document_shows_why_and_can_be_retried(users, make_user, login, run_worker):
    staff = users["staff"]
    project = make_project(staff)
    client = login(staff)
    doc_id = document_id_from(client.post(f"/documents/brief/{project.id}"))
    # Before the worker gets to it, the project moves to another unit's colleague.
    other_unit = last_unit()
    project.owner_id = make_user("staff", unit_id=other_unit).id
    project.unit_id = other_unit
    db.session.commit()
    drain(run_worker)

    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    document = fetch(doc_id)
    assert document.status == "failed" and "不存在或无权查看" in document.error
    assert document.error in page and 'data-testid="retry"' in page

    assert login(users["manager"]).post(f"/documents/{doc_id}/retry").status_code == 403
    project.owner_id, project.unit_id = staff.id, staff.unit_id
    db.session.commit()
    assert client.post(f"/documents/{doc_id}/retry").status_code == 302
    document = fetch(doc_id)
    assert (document.status, document.attempts, document.error) == ("queued", 2, None)
    drain(run_worker)
    assert fetch(doc_id).status == "ready"
    assert "深远海养殖工船项目" in pdf_text(rendered(client, doc_id))
    # A ready document is not retried.
    client.post(f"/documents/{doc_id}/retry")
    assert fetch(doc_id).attempts == 2 and queued_jobs() == 0


def test_a_document_whose_job_vanished_is_marked_failed(users, login, redis_conn):
    staff = users["staff"]
    project = make_project(staff)
    client = login(staff)
    doc_id = document_id_from(client.post(f"/documents/brief/{project.id}"))
    get_queue("documents").empty()
    redis_conn.delete(f"rq:job:{fetch(doc_id).job_id}")
    state = client.get(f"/documents/{doc_id}/status").get_json()
    assert state["status"] == "failed" and state["error"]


# --- access ----------------------------------------------------------------------------------

def test_only_the_requester_and_admins_read_a_document(users, make_user, login, run_worker):
    staff = users["staff"]
    project = make_project(staff)
    doc_id = document_id_from(login(staff).post(f"/documents/brief/{project.id}"))
    drain(run_worker)
    colleague = make_user("staff")
    for user in (colleague, users["manager"]):
        client = login(user)
        for url in (f"/documents/{doc_id}", f"/documents/{doc_id}/status",
                    f"/documents/{doc_id}/download"):
            assert client.get(url).status_code == 403, (user.role, url)
        assert f"/documents/{doc_id}" not in client.get("/documents/").get_data(as_text=True)
    admin = login(users["admin"])
    assert admin.get(f"/documents/{doc_id}/download").status_code == 200
    listing = login(staff).get("/documents/").get_data(as_text=True)
    assert f"/documents/{doc_id}" in listing and "深远海养殖工船项目" in listing
    assert login(users["organizer"]).get("/documents/").status_code == 403
