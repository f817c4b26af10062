"""Issue 14.6: a plugin's rules and hooks apply to every deployed version of its process, so
they state the form fields they read, deployment refuses a version whose task lacks one, and a
version deployed before that check fails with a clear error instead of a KeyError (500)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from handoff import rules
from workflows import definitions, plugins, service
from workflows.errors import EngineFailure
from workflows.forms import FieldNeed, Form, FormField

from .processes import chain, deploy_unchecked, first_open, start

ROOT = Path(__file__).resolve().parents[3]
HANDOFF = (ROOT / "bpmn" / "handoff.bpmn").read_text(encoding="utf-8")
COMPLETED_ON = re.search(
    r'\s*<camunda:formField id="completed_on".*?</camunda:formField>', HANDOFF, re.S
)[0]


def deploy_handoff(db, xml: str):
    from workflows import roles

    with db.write() as session:
        return definitions.deploy(session, xml + "<!-- variant -->", roles=roles.role_keys(session))


def only_problem(err, element: str, field: str):
    problems = [p for p in err.value.problems if field in p.message_en]
    assert [p.element for p in problems] == [element], err.value.problems
    assert re.search(r"[\u4e00-\u9fff]", problems[0].message), problems[0]  # Chinese too
    assert field in problems[0].message
    return problems[0]


def test_a_handoff_version_whose_work_lacks_completed_on_is_refused(db):
    with pytest.raises(definitions.DefinitionError) as err:
        deploy_handoff(db, HANDOFF.replace(COMPLETED_ON, ""))
    problem = only_problem(err, "work", "completed_on")
    assert "completed_in_time" in problem.message_en and "date" in problem.message_en


def test_the_field_must_be_required_and_of_the_right_type(db):
    optional = COMPLETED_ON.replace('<camunda:constraint name="required" />', "")
    with pytest.raises(definitions.DefinitionError) as err:
        deploy_handoff(db, HANDOFF.replace(COMPLETED_ON, optional))
    assert "must be required" in only_problem(err, "work", "completed_on").message_en
    text = COMPLETED_ON.replace('type="date"', 'type="string"')
    with pytest.raises(definitions.DefinitionError) as err:
        deploy_handoff(db, HANDOFF.replace(COMPLETED_ON, text))
    assert "type date" in only_problem(err, "work", "completed_on").message_en


def test_fields_the_hooks_read_are_checked_too(db):
    voucher = re.search(
        r'\s*<camunda:formField id="voucher_no".*?</camunda:formField>', HANDOFF, re.S
    )[0]
    with pytest.raises(definitions.DefinitionError) as err:
        deploy_handoff(db, HANDOFF.replace(voucher, "", 1))  # the first instalment's task only
    assert "handoff hooks" in only_problem(err, "funding", "voucher_no").message_en


def test_the_shipped_handoff_meets_its_rules():
    from handoff.plugin import handoff_plugin

    parsed = definitions.parse_bpmn(HANDOFF)
    plugin = handoff_plugin()
    for key, info in parsed.user_tasks.items():
        assert plugin.unmet_fields(key, info.form) == {}, key
    needs = plugin.field_needs()
    assert needs["work"]["completed_on"] == FieldNeed("date", True, "completed_in_time")
    assert needs["funding"]["voucher_no"].reader == "handoff hooks"
    assert needs["revise"]["amount"].required is False


# --- a version deployed before the check ------------------------------------------------------


def _day_is_a_weekday(data, _instance):
    from datetime import date

    return {"day": "周末"} if date.fromisoformat(data["day"]).weekday() > 4 else {}


@pytest.fixture
def dated_plugin():
    plugins.register(
        plugins.ProcessPlugin(
            name="test-dated",
            process_keys=frozenset({"dated"}),
            form_rules={"review": (plugins.rule(_day_is_a_weekday, day="date"),)},
        )
    )
    yield
    plugins.register(plugins.ProcessPlugin(name="test-dated", process_keys=frozenset()))


def test_an_older_version_without_the_field_is_a_clear_409_not_a_key_error(db, actor, dated_plugin):
    review = (
        '<bpmn:userTask id="review" camunda:candidateGroups="street_office">'
        "<bpmn:extensionElements>"
        '<camunda:formData><camunda:formField id="note" type="string"/></camunda:formData>'
        "</bpmn:extensionElements></bpmn:userTask>"
    )
    xml = chain(review, key="dated")
    with pytest.raises(definitions.DefinitionError):  # today it would not deploy
        deploy_handoff(db, xml)
    instance_id = start(db, deploy_unchecked(db, xml))
    task = first_open(db, instance_id)
    with pytest.raises(EngineFailure) as err:
        service.complete_task(db, task.id, actor("street.rg"), {"note": "x"})
    assert err.value.element == "review" and "day" in err.value.fields
    assert "_day_is_a_weekday" not in err.value.message and "day" in err.value.message
    assert first_open(db, instance_id).id == task.id  # still open, nothing changed


def test_a_rule_states_known_types_only():
    with pytest.raises(ValueError, match="unknown type"):
        plugins.rule(_day_is_a_weekday, day="datetime")
    checked = plugins.rule(_day_is_a_weekday, day="date")
    assert checked({"day": "2026-12-05"}, {}) == {"day": "周末"}  # still a plain rule to call
    assert checked.name == "day_is_a_weekday"


def test_unmet_fields_reads_the_parsed_form():
    plugin = plugins.ProcessPlugin(
        name="x",
        process_keys=frozenset({"x"}),
        form_rules={"t": (plugins.rule(_day_is_a_weekday, day="date"),)},
        hook_fields={"t": {"amount": FieldNeed("decimal", required=False)}},
    )
    good = Form((FormField("day", "date", "日期", required=True),))
    assert plugin.unmet_fields("t", good) == {}
    assert set(plugin.unmet_fields("t", Form())) == {"day"}  # amount is optional
    wrong = Form((*good.fields, FormField("amount", "string", "金额")))
    assert set(plugin.unmet_fields("t", wrong)) == {"amount"}
    assert plugin.unmet_fields("other", Form()) == {}


def test_the_handoff_rules_state_what_they_read():
    (work,) = rules.FORM_RULES["work"]
    assert isinstance(work, plugins.FormRule) and set(work.fields) == {"completed_on"}
    (funding,) = rules.FORM_RULES["funding"]
    assert set(funding.fields) == {"amount", "transferred_on"}
