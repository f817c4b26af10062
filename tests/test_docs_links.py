"""Every relative link of the project's Markdown (README.md, docs/, and the Markdown they lead
to) resolves inside a clone: the file (or directory) exists in the repository, and a `#anchor`
into a Markdown file names one of its headings, as GitHub spells heading anchors. Links are
read as CommonMark reads them (markdown-it-py), so code spans and code blocks are no links.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
PARSER = MarkdownIt("commonmark").enable("table")
SKIP_DIRS = {".git", ".venv", "node_modules", "build", "var"}


def markdown_files() -> list[Path]:
    """README.md, docs/ and every other Markdown file of the repository."""
    return sorted(
        p
        for p in ROOT.rglob("*.md")
        if not SKIP_DIRS & set(p.relative_to(ROOT).parts)
        and not any(part.startswith(".") for part in p.relative_to(ROOT).parts)
    )


def _flat(tokens):
    for token in tokens:
        yield token
        if token.children:
            yield from _flat(token.children)


def links(path: Path) -> list[str]:
    tokens = PARSER.parse(path.read_text(encoding="utf-8"))
    found = []
    for token in _flat(tokens):
        if token.type == "link_open":
            found.append(token.attrGet("href"))
        elif token.type == "image":
            found.append(token.attrGet("src"))
    return [str(link) for link in found if link]


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: the heading's text, lower case, without punctuation (letters
    of any script, digits, `_` and `-` stay), spaces as `-`; a repeated one gets `-1`, `-2`…"""
    tokens = PARSER.parse(path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out = set()
    for heading, inline in zip(tokens, tokens[1:], strict=False):
        if heading.type != "heading_open":
            continue
        text = "".join(
            t.content for t in _flat(inline.children or []) if t.type in ("text", "code_inline")
        )
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_the_files_checked_include_the_readme_and_the_docs():
    names = {p.relative_to(ROOT).as_posix() for p in markdown_files()}
    assert {"README.md", "docs/SPEC.md", "docs/DEPLOY.md", "bpmn/README.md"} <= names
    assert len(links(ROOT / "README.md")) > 10  # the parser finds the links


def test_the_anchor_rule_is_githubs():
    assert "终止委托-handoff_terminationbpmn" in anchors(ROOT / "bpmn" / "README.md")


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves_inside_the_repository(path: Path):
    broken = []
    for link in links(path):
        parts = urlsplit(link)
        if parts.scheme or parts.netloc or link.startswith("mailto:"):
            continue  # a web address: not this test's business
        target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
        if not target.is_relative_to(ROOT):
            broken.append(f"{link}: outside the repository")
        elif not target.exists():
            broken.append(f"{link}: no such file")
        elif parts.fragment and target.suffix == ".md":
            if unquote(parts.fragment) not in anchors(target):
                broken.append(f"{link}: no heading #{unquote(parts.fragment)}")
    assert not broken, broken
