"""What the outline covers: the form fields it shows, those it misses, and the outline the templates walk
(bot.reports.outline with any unplaced scalar field appended to its section)."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from bot.reports.outline import (
    NOT_IN_REPORT,
    OUTLINE,
    UNITS,
    Block,
    Fact,
    Facts,
    Outline,
    Part,
    Subsection,
    Table,
)
from bot.sections.service import SECTIONS, Section


def block_fields(block: Block) -> set[str]:
    if isinstance(block, Table):
        return {f for column in block.columns for f in column.fields}
    if isinstance(block, Facts):
        return {f for fact in block.facts for f in fact.fields}
    return set(block.fields)


def placed_fields(o: Outline = OUTLINE) -> dict[str, set[str]]:
    """Section key → the fields the outline shows, wherever it shows them."""
    placed: dict[str, set[str]] = {}

    def add(section: str | None, fields: set[str]) -> None:
        if section:
            placed.setdefault(section, set()).update(fields)

    add(o.header_section, {"name"} | block_fields(o.header))  # the name is the title
    for section, name in UNITS:
        add(section, {name})  # shown as the unit of every amount
    add(o.footer_section, block_fields(o.footer))
    for part in o.parts:
        for block in part.blocks:
            add(part.section, block_fields(block))
        for sub in part.subsections:
            add(sub.section, {name for name, _ in sub.where} | ({"name"} if sub.heading_attr else set()))
            for block in sub.blocks:
                add(sub.section, block_fields(block))
            if sub.repeat:
                add(sub.section, {"kind", "url", "note"})  # the appendix heading and its links
    return placed


def missing_fields(o: Outline = OUTLINE, sections: tuple[Section, ...] = SECTIONS) -> dict[str, list[str]]:
    """Section key → fields its form edits that the outline neither shows nor lists in NOT_IN_REPORT."""
    placed = placed_fields(o)
    missing: dict[str, list[str]] = {}
    for section in sections:
        names = [s.name for s in section.specs()
                 if s.name not in placed.get(section.key, set()) and (section.key, s.name) not in NOT_IN_REPORT]
        if names:
            missing[section.key] = names
    return missing


def with_extras(o: Outline, sections: tuple[Section, ...] = SECTIONS) -> Outline:
    """The outline with every unplaced scalar field appended as a fact of its section (labelled by its
    declaration, its value from Report.fields). Unplaced table fields stay missing: tests name them."""
    extras: dict[str, tuple[Fact, ...]] = {}
    by_key = {s.key: s for s in sections}
    for key, names in missing_fields(o, sections).items():
        section = by_key[key]
        if section.is_table:
            continue
        specs = {s.name: s for s in section.specs()}
        extras[key] = tuple(Fact(specs[n].label, "", (n,)) for n in names)
    return replace(o, extras=extras) if extras else o


@cache
def outline() -> Outline:
    """The report's outline, with any scalar field not placed by hand appended to its section."""
    return with_extras(OUTLINE)


def subsections(o: Outline = OUTLINE) -> list[tuple[Part, Subsection]]:
    """Every subsection with its part, in the template's order."""
    return [(part, sub) for part in o.parts for sub in part.subsections]
