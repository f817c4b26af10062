"""One name per stage everywhere: the BPMN's task names are the pages' (Chinese) names and the
exports' column names."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from handoff.reports import STAGES
from server.api.reports import STAGE_NAMES
from server.web.i18n import STRINGS

BPMN = Path(__file__).resolve().parents[3] / "bpmn"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}


def task_names(path: Path) -> dict[str, str]:
    root = etree.parse(str(path)).getroot()
    return {t.get("id"): t.get("name") for t in root.iterfind(".//bpmn:userTask", NS)}


def test_every_handoff_stage_has_one_name():
    drawn = task_names(BPMN / "handoff.bpmn")
    assert set(STAGES) == set(drawn)
    for key in STAGES:
        assert STRINGS[f"taskname.{key}"][0] == drawn[key] == STAGE_NAMES[key], key


def test_the_other_processes_tasks_are_named_alike_where_the_catalogue_names_them():
    for path in sorted(BPMN.glob("*.bpmn")):
        for key, name in task_names(path).items():
            if f"taskname.{key}" in STRINGS:
                assert STRINGS[f"taskname.{key}"][0] == name, (path.name, key)
