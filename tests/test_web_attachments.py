"""Attachments through the task page: upload with CSRF, listed and downloadable in scope."""

from __future__ import annotations

import io

from .test_web_pages import app, launch, open_task, signed_in, text  # noqa: F401

PDF = b"%PDF-1.4\n% work report\n" + b"1" * 500


def test_upload_list_and_download_on_the_task_page(app, db, actor):  # noqa: F811
    request_id = launch(db, actor, ["TB-RG-01"])
    review = open_task(db, request_id, "street_review")
    rg = signed_in(app, "street.rg")
    refused = rg.post(
        f"/tasks/{review.id}/attachments",
        {"file": (io.BytesIO(PDF), "方案.pdf", "application/pdf")},
        csrf=False,
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    r = rg.post(
        f"/tasks/{review.id}/attachments",
        {"file": (io.BytesIO(PDF), "方案.pdf", "application/pdf")},
        token_from=f"/tasks/{review.id}",
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    page = text(rg.get(f"/tasks/{review.id}"))
    assert "方案.pdf" in page
    link = page.split('href="/attachments/')[1].split('"')[0]
    download = rg.get(f"/attachments/{link}")
    assert download.status_code == 200 and download.data == PDF
    outsider = signed_in(app, "street.hm")
    assert outsider.get(f"/attachments/{link}").status_code == 404
    bad = rg.post(
        f"/tasks/{review.id}/attachments",
        {"file": (io.BytesIO(b"MZ..."), "x.exe", "application/x-msdownload")},
        token_from=f"/tasks/{review.id}",
        content_type="multipart/form-data",
    )
    assert bad.status_code == 302
    assert "不支持的文件类型" in text(rg.get(f"/tasks/{review.id}"))
