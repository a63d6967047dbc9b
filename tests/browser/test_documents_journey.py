"""In a real browser: ask for a brief, watch the page update itself while a real worker renders
it, and download the PDF."""
from __future__ import annotations

import threading

import pytest

from tests.browser.conftest import sign_in
from tests.conftest import TEST_PASSWORD
from tests.test_documents import make_project, pdf_text


@pytest.fixture(autouse=True)
def _empty_queues_after(redis_conn):
    yield


def test_the_status_page_follows_the_job_and_offers_the_download(page, users, run_worker):
    staff = users["staff"]
    project = make_project(staff)
    sign_in(page, staff.email, TEST_PASSWORD)
    page.wait_for_url("**/")
    page.click("[data-testid=menu-briefcase]")
    page.click("nav >> text=文档")
    page.click("[data-testid=new-brief]")
    page.click(f"[data-testid=brief-{project.id}]")
    page.wait_for_url("**/documents/*")
    assert page.locator("[data-testid=document-status]").get_attribute("data-status") == "queued"
    assert "本页会自动刷新" in page.content()

    worker = threading.Thread(target=run_worker)
    worker.start()
    try:
        download_button = page.locator("[data-testid=download]")
        download_button.wait_for(state="visible", timeout=60_000)  # no reload from the test
    finally:
        worker.join()
    assert page.locator("[data-testid=document-status]").get_attribute("data-status") == "ready"
    with page.expect_download() as info:
        download_button.click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as fh:
        assert "深远海养殖工船项目" in pdf_text(fh.read())
