"""Attachments over HTTP on both databases: added to an open task, read only within scope."""

from __future__ import annotations

import pytest

from .live import Client
from .test_api_handoff import new_request, only

pytestmark = pytest.mark.slow
PDF = b"%PDF-1.4\n% report\n" + b"0" * 1000


def test_attach_list_download_and_scope(live):
    dept, rg = Client(live.base, "dept.mz"), Client(live.base, "street.rg")
    body = new_request(dept, ["TB-RG-01"])
    review = only(rg.inbox(), "street_review", body["id"])
    files = {"file": ("入户调查方案.pdf", PDF, "application/pdf")}
    added = rg.http.post(f"{rg.base}/tasks/{review['id']}/attachments", files=files, timeout=30)
    assert added.status_code == 201, added.text
    meta = added.json()
    assert (meta["filename"], meta["size"], meta["uploaded_by"]) == (
        "入户调查方案.pdf",
        len(PDF),
        "street.rg",
    )
    listed = dept.get(f"/instances/{review['instance_id']}/attachments").json()
    assert [a["id"] for a in listed["items"]] == [meta["id"]]
    download = dept.get(f"/attachments/{meta['id']}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    outsider = Client(live.base, "street.hm")
    assert outsider.get(f"/attachments/{meta['id']}").status_code == 404
    assert outsider.get(f"/instances/{review['instance_id']}/attachments").status_code == 404
    denied = outsider.http.post(
        f"{outsider.base}/tasks/{review['id']}/attachments", files=files, timeout=30
    )
    assert denied.status_code == 403


@pytest.mark.parametrize(
    ("name", "content", "ctype"),
    [
        ("x.pdf", b"not a pdf", "application/pdf"),
        ("x.exe", b"MZ\x90\x00", "application/x-msdownload"),
        ("empty.txt", b"", "text/plain"),
    ],
)
def test_bad_attachments_are_refused(live, name, content, ctype):
    dept, rg = Client(live.base, "dept.mz"), Client(live.base, "street.rg")
    body = new_request(dept, ["TB-RG-02"])
    review = only(rg.inbox(), "street_review", body["id"])
    r = rg.http.post(
        f"{rg.base}/tasks/{review['id']}/attachments",
        files={"file": (name, content, ctype)},
        timeout=30,
    )
    assert r.status_code == 422 and "file" in r.json()["error"]["fields"]
    assert dept.get(f"/instances/{review['instance_id']}/attachments").json()["total"] == 0
