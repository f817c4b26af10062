"""The process pages beside the handoff, through Flask's test client on both databases:
发起流程 (who may start what), a start form, a process's page (diagram, versions; admins suspend,
activate and choose the version in force), 我的流程, a non-handoff instance and task, the admin
roles page and the admin deployment page. Every page here is checked for stray words of the
other language."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server import create_app
from server.web import i18n
from workflows import definitions, roles
from workflows.models import AuditEvent, OrgUnit, ProcessDefinition, ProcessInstance, Task, User

from .test_web_pages import signed_in, text

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BPMN = (FIXTURES / "web_process.bpmn").read_bytes()
KEY = "web_process"
NAME = "社区走访登记"
# the same process with a second version's task name, for version tests
BPMN_V2 = BPMN.replace('name="入户走访"'.encode(), 'name="入户走访复核"'.encode())
SEVERAL_PROBLEMS = (FIXTURES / "validation" / "several_problems.bpmn").read_bytes()
# technical names the catalogue keeps as they are in Chinese too (Ctrl: the key, as on it)
ACRONYMS = {"PDF", "MB", "Office", "BPMN", "Ctrl"}
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


def deploy(db, xml: bytes = BPMN) -> int:
    """Deploy (or find, when unchanged) a version; returns its definition id."""
    with db.write() as s:
        definition, _ = definitions.deploy(s, xml, None, roles=roles.role_keys(s))
        return definition.id


def instances_of(db, key: str = KEY) -> list[ProcessInstance]:
    with db.read() as s:
        return list(
            s.scalars(
                select(ProcessInstance)
                .join(ProcessDefinition)
                .where(ProcessDefinition.key == key)
                .order_by(ProcessInstance.id)
            )
        )


def start_form(**overrides) -> dict[str, str]:
    return {"kind": "elderly", "household": "幸福小区3栋2单元 王奶奶", "community": "TB-HM-01"} | (
        overrides
    )


def start(browser, **overrides):
    return browser.post(
        f"/processes/{KEY}/start", start_form(**overrides), token_from=f"/processes/{KEY}"
    )


# --- one language per page --------------------------------------------------------------------


def _data_words(db) -> list[str]:
    """Text that comes from the data, not the catalogue: names of people, units, processes."""
    with db.read() as s:
        words = [*s.scalars(select(User.display_name)), *s.scalars(select(OrgUnit.name))]
        words += [w for w in s.scalars(select(OrgUnit.legal_name)) if w]  # (documents' names)
        words += list(s.scalars(select(OrgUnit.code)))
        for definition in s.scalars(select(ProcessDefinition)):
            parsed = definitions.loaded(definition)
            words += [definition.name, parsed.documentation]
            words += [t.name for t in parsed.user_tasks.values()]
    return [w for w in words if w]


def _visible(page: str, data: list[str]) -> str:
    """The page's visible text without the diagram, code, data cells marked with their own
    language, the language switch and the data's own words."""
    body = re.sub(r'<a class="lang".*?</a>', " ", page, count=1, flags=re.S)
    for tag in ("script", "style", "svg", "code", "title"):
        body = re.sub(rf"<{tag}\b.*?</{tag}>", " ", body, flags=re.S)
    body = re.sub(r'<(td|dd|span|p)\b[^>]*\blang="[^"]+"[^>]*>.*?</\1>', " ", body, flags=re.S)
    body = html.unescape(re.sub(r"<[^>]+>", " ", body))
    for word in sorted(data, key=len, reverse=True):
        body = body.replace(word, " ")
    return body


def assert_one_language(response, lang: str, data: list[str]) -> None:
    seen = _visible(response.get_data(as_text=True), data)
    if lang == "zh":
        stray = sorted(set(re.findall(r"[A-Za-z]{2,}", seen)) - ACRONYMS)
        assert not stray, (stray, seen[:2000])
    else:
        stray = sorted(set(CJK.findall(seen)))
        assert not stray, (stray, seen[:2000])


NEW_KEYS = [
    k
    for k in i18n.STRINGS
    if k.split(".")[0] in {"processes", "process", "start", "instances"}
    or k.startswith(("admin.role", "admin.problems", "instance.version_n", "nav.process"))
]


def test_new_words_exist_in_both_languages():
    assert len(NEW_KEYS) > 30
    for key in NEW_KEYS:
        zh, en = i18n.STRINGS[key]
        assert CJK.search(zh), key
        assert not CJK.search(en), key


# --- 发起流程 --------------------------------------------------------------------------------


def test_listed_only_for_its_starter_roles(app, db):
    deploy(db)
    data = [*_data_words(db), "幸福小区"]
    dept = signed_in(app, "dept.mz")
    r = dept.get("/processes")
    page = text(r)
    assert r.status_code == 200 and NAME in page
    assert f'href="/processes/{KEY}/start"' in page
    assert 'href="/requests/new"' in page  # the handoff keeps its own form
    assert 'href="/processes/handoff/start"' not in page
    assert 'href="/processes"' in page  # the nav link
    assert_one_language(r, "zh", data)
    assert_one_language(dept.get("/processes?lang=en"), "en", data)

    committee = signed_in(app, "committee.hm01")
    page = text(committee.get("/processes"))
    assert NAME not in page and 'href="/processes"' in page
    r = committee.get(f"/processes/{KEY}/start")
    assert r.status_code == 403 and "您的角色不能发起该流程" in text(r)
    assert committee.post(f"/processes/{KEY}/start", start_form()).status_code == 403
    assert instances_of(db) == []
    # the handoff's start through the generic form goes to its own page
    assert dept.get("/processes/handoff/start").headers["Location"].endswith("/requests/new")


def test_start_form_errors_are_shown_next_to_the_field_and_nothing_starts(app, db):
    deploy(db)
    dept = signed_in(app, "dept.mz")
    r = dept.get(f"/processes/{KEY}/start")
    page = text(r)
    assert r.status_code == 200
    assert "走访类型" in page and "独居老人" in page and 'name="household"' in page
    assert '<option value="TB-HM-01"' in page  # a routing field offers the units of its kind
    assert_one_language(r, "zh", [*_data_words(db)])

    r = start(dept, household="  ")
    page = text(r)
    assert r.status_code == 422
    assert re.search(r'id="err-household">必填<', page)
    assert 'aria-describedby="err-household"' in page
    assert re.search(r'value="elderly"\s+checked', page)  # the choice is kept
    assert instances_of(db) == []

    r = start(dept, kind="nonsense")
    assert r.status_code == 422 and 'id="err-kind"' in text(r)
    r = start(dept, community="NO-SUCH-UNIT")
    assert r.status_code == 422 and "未知单位代码" in text(r)
    assert instances_of(db) == []

    dept.get("/processes?lang=en")
    r = start(dept, household="")
    page = text(r)
    assert r.status_code == 422 and re.search(r'id="err-household">required<', page)
    assert "Kind of visit" in page
    assert_one_language(r, "en", [*_data_words(db), "独居老人", "残疾人家庭"])


def test_a_started_instance_routes_its_task_and_completes_through_the_pages(app, db):
    deploy(db)
    data = [*_data_words(db), "幸福小区3栋2单元 王奶奶", "ZF-2026-001"]
    data += ["独居老人", "残疾人家庭", "已见到本人", "不在家", "完成"]
    dept = signed_in(app, "dept.mz")
    r = dept.post(
        f"/processes/{KEY}/start",
        {**start_form(), "_business_key": "ZF-2026-001"},
        token_from=f"/processes/{KEY}",
    )
    assert r.status_code == 302
    (instance,) = instances_of(db)
    assert r.headers["Location"].endswith(f"/instances/{instance.id}")
    assert instance.business_key == "ZF-2026-001" and instance.status == "running"

    r = dept.get(f"/instances/{instance.id}")
    page = text(r)
    assert r.status_code == 200
    assert NAME in page and "第 " in page and " 版" in page and "ZF-2026-001" in page
    assert "区民政局经办人" in page  # the starter
    assert "走访类型" in page and "独居老人" in page  # what the start form said
    assert "海明社区 (TB-HM-01)" in page  # a routing field shows the unit by name
    assert "委托协议" not in page and "经费账目" not in page  # no handoff sections
    assert "handoff" not in page and " v1" not in page
    assert_one_language(r, "zh", data)
    assert_one_language(dept.get(f"/instances/{instance.id}?lang=en"), "en", data)
    dept.get("/instances?lang=zh")

    with db.read() as s:
        (task,) = s.scalars(select(Task).where(Task.instance_id == instance.id))
    assert task.role == "committee" and task.status == "open"
    hm01, hm02 = signed_in(app, "committee.hm01"), signed_in(app, "committee.hm02")
    assert f'href="/tasks/{task.id}"' in text(hm01.get("/inbox"))
    assert f'href="/tasks/{task.id}"' not in text(hm02.get("/inbox"))
    assert hm02.get(f"/tasks/{task.id}").status_code == 403

    r = hm01.get(f"/tasks/{task.id}")
    page = text(r)
    assert r.status_code == 200
    assert "入户走访" in page and "走访结果" in page and "流程概况" in page
    assert "幸福小区3栋2单元 王奶奶" in page and "查看委托协议" not in page
    assert_one_language(r, "zh", data)
    assert_one_language(hm01.get(f"/tasks/{task.id}?lang=en"), "en", data)
    hm01.get("/inbox?lang=zh")

    r = hm01.post(f"/tasks/{task.id}", {"note": "x"}, token_from=f"/tasks/{task.id}")
    assert r.status_code == 422 and re.search(r'id="err-result">必填<', text(r))
    r = hm01.post(
        f"/tasks/{task.id}", {"result": "met", "note": "身体健康"}, token_from=f"/tasks/{task.id}"
    )
    assert r.status_code == 302
    with db.read() as s:
        done = s.get(ProcessInstance, instance.id)
        assert done.status == "completed" and done.outcome == "completed"

    page = text(dept.get(f"/instances/{instance.id}"))
    assert "已完成" in page and "走访结果" in page and "已见到本人" in page
    page = text(hm01.get(f"/tasks/{task.id}"))  # the closed task shows what was submitted
    assert "已办结" in page and "已见到本人" in page and "身体健康" in page

    # 我的流程: listed, filtered, paged
    r = dept.get("/instances")
    assert r.status_code == 200 and f'href="/instances/{instance.id}"' in text(r)
    assert 'href="/instances"' in text(r)  # the nav link
    assert_one_language(r, "zh", data)
    assert_one_language(dept.get("/instances?lang=en"), "en", data)
    dept.get("/instances?lang=zh")
    assert f'/instances/{instance.id}"' in text(dept.get(f"/instances?process={KEY}&mine=1"))
    assert f'/instances/{instance.id}"' in text(dept.get("/instances?state=completed"))
    assert f'/instances/{instance.id}"' not in text(dept.get("/instances?state=running"))
    assert f'/instances/{instance.id}"' not in text(dept.get("/instances?process=handoff"))
    assert f'/instances/{instance.id}"' in text(hm01.get("/instances"))  # a party to it
    assert f'/instances/{instance.id}"' not in text(hm01.get("/instances?mine=1"))
    other = signed_in(app, "committee.mr01")
    assert f'/instances/{instance.id}"' not in text(other.get("/instances"))
    assert other.get(f"/instances/{instance.id}").status_code == 404


def test_admin_suspends_activates_and_chooses_the_version(app, db):
    v1 = deploy(db)
    admin, dept = signed_in(app, "admin"), signed_in(app, "dept.mz")
    r = admin.get(f"/processes/{KEY}")
    page = text(r)
    assert r.status_code == 200 and NAME in page and "<svg" in r.get_data(as_text=True)
    assert f"/processes/{KEY}/versions/{v1}/suspend" in page
    assert_one_language(r, "zh", [*_data_words(db), "入户走访", "入户走访复核"])
    assert_one_language(
        admin.get(f"/processes/{KEY}?lang=en"), "en", [*_data_words(db), "入户走访", "入户走访复核"]
    )
    admin.get(f"/processes/{KEY}?lang=zh")

    # nobody but an admin changes versions
    r = dept.post(f"/processes/{KEY}/versions/{v1}/suspend", token_from=f"/processes/{KEY}")
    assert r.status_code == 403

    r = admin.post(f"/processes/{KEY}/versions/{v1}/suspend", token_from=f"/processes/{KEY}")
    assert r.status_code == 302
    with db.read() as s:
        assert s.get(ProcessDefinition, v1).suspended is True
    r = dept.get(f"/processes/{KEY}/start")
    assert r.status_code == 409 and "已暂停" in text(r)
    assert start(dept).status_code == 409
    assert NAME not in text(dept.get("/processes"))
    assert instances_of(db) == []

    r = admin.post(f"/processes/{KEY}/versions/{v1}/activate", token_from=f"/processes/{KEY}")
    assert r.status_code == 302
    assert start(dept).status_code == 302

    v2 = deploy(db, BPMN_V2)
    assert v2 != v1
    assert start(dept).status_code == 302
    assert instances_of(db)[-1].definition_id == v2  # the newest version is in force

    r = admin.post(f"/processes/{KEY}/versions/{v1}/release", token_from=f"/processes/{KEY}")
    assert r.status_code == 302
    assert start(dept).status_code == 302
    assert instances_of(db)[-1].definition_id == v1
    page = admin.get(f"/processes/{KEY}").get_data(as_text=True)
    with db.read() as s:
        version = s.get(ProcessDefinition, v1).version
    assert re.search(rf'<tr class="chosen" data-version="{version}">', page)

    with db.read() as s:
        actions = set(s.scalars(select(AuditEvent.action)))
    assert {"definition.suspended", "definition.activated", "definition.released"} <= actions


# --- administration ----------------------------------------------------------------------------


def test_admin_roles_page_adds_a_role_used_by_the_users_page(app, db):
    admin = signed_in(app, "admin")
    r = admin.get("/admin/roles")
    assert r.status_code == 200 and "社区居委会" in text(r) and "street_office" in text(r)
    assert_one_language(r, "zh", _data_words(db))
    assert_one_language(admin.get("/admin/roles?lang=en"), "en", _data_words(db))
    admin.get("/admin/roles?lang=zh")

    form = {"key": "grid_worker", "name_zh": "网格员", "name_en": "Grid worker"}
    r = admin.post("/admin/roles", {**form, "key": "Bad Key", "unit_kind": "community"})
    assert r.status_code == 422 and 'id="err-key"' in text(r)
    r = admin.post("/admin/roles", {**form, "unit_kind": "planet"})
    assert r.status_code == 422 and 'id="err-unit_kind"' in text(r)
    assert r.status_code == 422 and "请选择单位类型" in text(r)
    r = admin.post("/admin/roles", {**form, "unit_kind": "community"})
    assert r.status_code == 302
    page = text(admin.get("/admin/roles"))
    assert "网格员" in page and "grid_worker" in page
    r = admin.post("/admin/roles", {**form, "unit_kind": "community"})
    assert r.status_code == 409 and "角色代码已存在" in text(r)

    users = text(admin.get("/admin/users"))
    assert '<option value="grid_worker" >网格员</option>' in users
    assert ">Grid worker</option>" in text(admin.get("/admin/users?lang=en"))
    admin.get("/admin/users?lang=zh")
    r = admin.post(
        "/admin/users/committee.hm01/memberships", {"role": "grid_worker", "org_unit": "TB-HM-01"}
    )
    assert r.status_code == 302
    assert "网格员 · " in text(admin.get("/admin/users/committee.hm01"))


def test_admin_processes_page_deploys_counts_and_lists_every_problem(app, db):
    admin = signed_in(app, "admin")
    r = admin.client.post(
        "/admin/processes",
        data={
            "csrf_token": admin.token("/admin/processes"),
            "file": (io.BytesIO(BPMN), "web_process.bpmn"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, text(r)[:2000]
    page = text(admin.get("/admin/processes"))
    assert KEY in page and ("已部署" in page or "文件未改变" in page)

    with db.read() as s:
        newest = definitions.newest(s, KEY)
    dept = signed_in(app, "dept.mz")
    assert start(dept).status_code == 302
    assert instances_of(db)[-1].definition_id == newest.id
    page = admin.get("/admin/processes").get_data(as_text=True)
    row = re.search(rf'data-definition-id="{newest.id}".*?</tr>', page, flags=re.S).group(0)
    assert 'data-instances="1"' in row and "进行中 1" in html.unescape(row)
    assert_one_language(admin.get("/admin/processes"), "zh", _data_words(db))

    with db.read() as s:
        before = s.scalar(select(func.count()).select_from(ProcessDefinition))
    with pytest.raises(definitions.DefinitionError) as refused:
        with db.write() as s:
            definitions.deploy(s, SEVERAL_PROBLEMS, None, roles=roles.role_keys(s))
    problems = refused.value.problems
    assert len(problems) > 1

    def post_bad():
        return admin.client.post(
            "/admin/processes",
            data={
                "csrf_token": admin.token("/admin/processes"),
                "file": (io.BytesIO(SEVERAL_PROBLEMS), "several.bpmn"),
            },
            content_type="multipart/form-data",
        )

    r = post_bad()
    page = text(r)
    assert r.status_code == 422 and "部署失败" in page
    assert f"文件有 {len(problems)} 个问题" in page
    for p in problems:
        assert p.message in page
        if p.element:
            assert f'data-element="{p.element}"' in page
    admin.get("/admin/processes?lang=en")
    page = text(post_bad())
    for p in problems:
        assert p.message_en in page
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ProcessDefinition)) == before
