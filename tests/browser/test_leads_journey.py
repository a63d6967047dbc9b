"""A staff member's day in a real browser: my day, log an activity with its next step, and
drag a card on the board to a milestone stage, which asks for the date."""
from crm.extensions import db
from crm.leads import services
from crm.leads.models import NextStep, Project
from tests.browser.conftest import sign_in
from tests.conftest import TEST_PASSWORD
from tests.leads_support import days_ago, make_org, make_project


def test_staff_member_day(page, users):
    staff = users["staff"]
    project = make_project(staff, make_org("青岛深蓝渔业有限公司", "Deep Blue Fisheries"),
                           name="深远海养殖平台", stage="intention")
    services.add_next_step(project, staff, action="回访确认考察行程", due_on=days_ago(1))
    sign_in(page, staff.email, TEST_PASSWORD)
    page.wait_for_url("**/")

    page.goto("/my-day")
    assert "回访确认考察行程" in page.locator("[data-testid=overdue-steps]").inner_text()
    page.click("text=深远海养殖平台")
    page.click("[data-testid=log-activity-toggle]")
    page.select_option("select[name=kind]", "visit")
    page.fill("textarea[name=summary]", "实地考察黄海冷水团养殖海域")
    page.fill("input[name=next_action]", "发送用海政策清单")
    page.fill("input[name=next_due_on]", days_ago(-2).isoformat())
    page.click("[data-testid=log-activity]")
    page.wait_for_selector("text=跟进记录已保存。")
    assert "发送用海政策清单" in page.locator("[data-testid=steps]").inner_text()

    page.set_viewport_size({"width": 2200, "height": 900})  # every column on screen
    page.goto("/board")
    page.locator(f"[data-testid=card-{project.id}]").drag_to(page.locator("[data-testid=column-signed]"))
    page.wait_for_selector("input[name=on]")  # the milestone date, today suggested
    assert page.input_value("input[name=on]") == days_ago(0).isoformat()
    page.fill("input[name=on]", days_ago(1).isoformat())
    page.click("[data-testid=confirm-move]")
    page.wait_for_url("**/board")
    db.session.expire_all()
    fresh = db.session.get(Project, project.id)
    assert (fresh.stage, fresh.signed_on) == ("signed", days_ago(1))
    assert db.session.query(NextStep).filter_by(project_id=project.id).count() == 2
    assert "深远海养殖平台" in page.locator("[data-testid=column-signed]").inner_text()
