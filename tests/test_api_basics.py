"""The real service over HTTP (gunicorn), on SQLite and PostgreSQL: accounts, errors, admin,
OpenAPI, health."""

from __future__ import annotations

import uuid

import pytest
import requests

from .live import Client

pytestmark = pytest.mark.slow


def test_health_and_readiness(live):
    assert requests.get(live.base + "/healthz", timeout=5).json() == {"status": "ok"}
    ready = requests.get(live.base + "/readyz", timeout=5).json()
    assert ready["status"] == "ready" and ready["schema"]


def test_token_me_and_revocation(live):
    client = Client(live.base, "street.rg")
    me = client.get("/me").json()
    assert me["username"] == "street.rg"
    assert me["memberships"] == [
        {"role": "street_office", "org_unit": "TB-RG", "org_unit_name": "瑞光街道"}
    ]
    assert client.post("/auth/revoke").status_code == 204
    r = client.get("/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


def test_wrong_password_and_missing_token_are_401(live):
    r = requests.post(
        live.base + "/api/v1/auth/token",
        json={"username": "dept.mz", "password": "nope"},
        timeout=10,
    )
    assert r.status_code == 401
    assert requests.get(live.base + "/api/v1/tasks", timeout=5).status_code == 401
    r = requests.get(
        live.base + "/api/v1/me", headers={"Authorization": "Bearer forged"}, timeout=5
    )
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "dept.mz"}, "password"),
        ({"username": "dept.mz", "password": "x", "extra": 1}, "extra"),
        ({"username": 12, "password": "x"}, "username"),
    ],
)
def test_bad_input_gets_422_with_fields(live, body, field):
    r = requests.post(live.base + "/api/v1/auth/token", json=body, timeout=10)
    assert r.status_code == 422
    assert field in r.json()["error"]["fields"]


def test_malformed_json_is_400_not_500(live):
    r = requests.post(
        live.base + "/api/v1/auth/token",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert r.status_code in (400, 422)
    assert "error" in r.json()


def test_lists_are_paginated(live):
    client = Client(live.base, "dept.mz")
    page = client.get("/org-units", params={"kind": "community", "per_page": 10, "page": 2}).json()
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (39, 2, 10, 10)
    items = client.get("/catalog/items", params={"category": "negative"}).json()
    assert items["total"] > 0 and {i["category"] for i in items["items"]} == {"negative"}
    bad = client.get("/org-units", params={"per_page": 100000})
    assert bad.status_code == 422 and "per_page" in bad.json()["error"]["fields"]


def test_admin_endpoints_refuse_non_admins(live):
    client = Client(live.base, "dept.mz")
    r = client.post(
        "/org-units", {"code": "X-1", "name": "x", "kind": "community", "parent": "TB-RG"}
    )
    assert r.status_code == 403
    assert client.get("/users").status_code == 403


def test_admin_creates_unit_item_and_user_who_can_sign_in(live):
    admin = Client(live.base, "admin")
    suffix = uuid.uuid4().hex[:6].upper()
    unit = admin.post(
        "/org-units",
        {"code": f"TB-RG-T{suffix}", "name": "测试社区", "kind": "community", "parent": "TB-RG"},
    )
    assert unit.status_code == 201, unit.text
    assert (
        admin.post(
            "/org-units", {"code": f"TB-RG-T{suffix}", "name": "dup", "kind": "community"}
        ).status_code
        == 409
    )
    item = admin.post(
        "/catalog/items", {"code": f"T{suffix}", "name": "测试事项", "category": "assisted"}
    )
    assert item.status_code == 201
    assert admin.patch(f"/catalog/items/T{suffix}", {"active": False}).json()["active"] is False
    user = admin.post(
        "/users",
        {
            "username": f"committee.t{suffix.lower()}",
            "display_name": "测试委员",
            "password": "a-long-password-1",
            "memberships": [{"role": "committee", "org_unit": f"TB-RG-T{suffix}"}],
        },
    )
    assert user.status_code == 201, user.text
    new = Client(live.base, f"committee.t{suffix.lower()}", "a-long-password-1")
    assert new.get("/me").json()["memberships"][0]["org_unit"] == f"TB-RG-T{suffix}"
    bad = admin.post(
        "/users",
        {
            "username": "x" + suffix,
            "display_name": "x",
            "password": "short",
            "memberships": [{"role": "wizard", "org_unit": "TB"}],
        },
    )
    assert bad.status_code == 422
    assert "password" in bad.json()["error"]["fields"]
    # roles are data: an unknown role is refused by the service, named by its field
    unknown = admin.post(
        "/users",
        {
            "username": "x" + suffix,
            "display_name": "x",
            "password": "a-long-password-2",
            "memberships": [{"role": "wizard", "org_unit": "TB"}],
        },
    )
    assert unknown.status_code == 422
    assert "memberships.0.role" in unknown.json()["error"]["fields"]


def test_openapi_and_docs(live):
    spec = requests.get(live.base + "/api/v1/openapi.json", timeout=10).json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}/complete",
        "/api/v1/requests",
        "/api/v1/instances/{instance_id}/diagram.svg",
        "/api/v1/process-definitions",
    ):
        assert path in spec["paths"], path
    docs = requests.get(live.base + "/api/v1/docs", timeout=10)
    assert docs.status_code == 200 and "/api/v1/tasks" in docs.text


def test_unknown_route_is_json_404(live):
    r = requests.get(live.base + "/api/v1/nope", timeout=5)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
