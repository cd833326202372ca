"""The parser: a milestone report in the template's Markdown → the values the section forms would hold.

It walks the report's outline (bot.reports.outline), the one the exporter walks: each `##` part and `###`
subsection is found by its heading, and each block of the subsection (table, facts, prose, list) is read by
the outline's own description of it — a table's columns by their headings and the model fields behind them,
a fact by its label. What the report computes (variances, totals, efficiency, percentages, the schedule
variance) is not read but recomputed, and a file that says otherwise gets a warning. Plain Python.
"""

from __future__ import annotations

from decimal import Decimal

from bot.imports import layout
from bot.imports import rows as read_rows
from bot.imports.checks import check_claims
from bot.imports.parsed import Parsed, specs_of
from bot.imports.text import Problem, ReportFormatError, decode, is_placeholder, parse_number, unescape
from bot.imports.values import BadValue, block_text
from bot.imports.values import decode as decode_value
from bot.reports import coverage
from bot.reports import outline as ol
from bot.sections.service import get_section


def parse_file(data: bytes) -> Parsed:
    """The file's bytes → Parsed, or ReportFormatError naming every problem and its line."""
    text, notes = decode(data)
    parsed = parse(text)
    parsed.notes[:0] = notes
    return parsed


def parse(text: str) -> Parsed:
    doc = layout.split(text)
    o = coverage.outline()
    p = Parsed()
    _title(doc, p)
    _facts(o.header, o.header_section, doc.header, p, where="the heading")
    for part in o.parts:
        src = doc.part(part.heading)
        if src is None:
            p.missing.append(part.heading)
            continue
        if part.blocks:
            _blocks(part.blocks, part.section, (), layout.content(src.lines), part.heading, p)
            _extras(o, part.section, layout.content(src.lines), p)
        _subsections(o, part, src, p)
    _facts(o.footer, o.footer_section, doc.footer, p, where="the footer")
    _extras(o, o.footer_section, doc.footer, p)
    _known_parts(doc, o, p)
    if p.missing:
        p.note(0, "not in the file, left empty: " + ", ".join(p.missing))
    check_claims(p)
    if p.problems:
        raise ReportFormatError(p.problems)
    return p


def _title(doc: layout.Doc, p: Parsed) -> None:
    name = doc.title.split(":", 1)[1].strip() if ":" in doc.title else ""
    if is_placeholder(name):
        p.problems.append(Problem(doc.title_line, "the title has no milestone name (`# Milestone Report: <name>`)"))
        return
    p.name = unescape(name)


def _known_parts(doc: layout.Doc, o: ol.Outline, p: Parsed) -> None:
    known = {layout.key(part.heading) for part in o.parts}
    for src in doc.parts:
        if layout.key(src.heading) not in known:
            p.note(src.line, f"“{src.heading}” is not a section of the template: not imported")


def _subsections(o: ol.Outline, part: ol.Part, src: layout.PartSrc, p: Parsed) -> None:
    last_of = {s.section: i for i, s in enumerate(part.subsections) if s.section}
    for i, sub in enumerate(part.subsections):
        if sub.repeat:
            read_rows.appendices(src, sub, p)
            continue
        found = _find_sub(src, sub)
        if found is None:
            if not sub.heading_attr:
                p.missing.append(sub.heading)
            continue
        lines = layout.content(found.lines)
        if sub.heading_attr:
            _heading_value(sub, found, p)
        _blocks(sub.blocks, sub.section, sub.where, lines, sub.heading, p)
        if sub.section and last_of.get(sub.section) == i:
            _extras(o, sub.section, lines, p)


def _find_sub(src: layout.PartSrc, sub: ol.Subsection) -> layout.Sub | None:
    if "{}" in sub.heading:
        prefix = layout.key(sub.heading.replace("{}", ""))
        return next((s for s in src.subs if layout.key(s.heading).startswith(prefix)), None)
    want = layout.key(sub.heading)
    return next((s for s in src.subs if layout.key(s.heading) == want), None)


def _heading_value(sub: ol.Subsection, found: layout.Sub, p: Parsed) -> None:
    """`### Milestone: Customer Portal GA` → the next milestone's name."""
    rest = found.heading.split(":", 1)[1].strip() if ":" in found.heading else ""
    if sub.section and not is_placeholder(rest):
        p.set(sub.section, "name", unescape(rest), found.line)


def _blocks(blocks: tuple[ol.Block, ...], section: str | None, where: tuple[tuple[str, str], ...],
            lines: list[layout.Line], heading: str, p: Parsed) -> None:
    tables = layout.tables(lines, heading) if any(isinstance(b, ol.Table) for b in blocks) else []
    for block in blocks:
        if isinstance(block, ol.Table):
            if tables:
                read_rows.table(block, section, where, tables.pop(0), heading, p)
        elif isinstance(block, ol.Facts):
            if section:
                _facts(block, section, lines, p, where=heading)
        elif isinstance(block, ol.Prose):
            _prose(block, section, lines, p)
        else:
            read_rows.items(block, section, where, lines, heading, p)


def _prose(block: ol.Prose, section: str | None, lines: list[layout.Line], p: Parsed) -> None:
    if not block.fields or not section:
        return  # computed prose (the feedback counts note)
    found = layout.paragraphs(lines)
    if found is not None:
        line, raw = found
        p.set(section, block.fields[0], block_text(raw), line)


def _facts(block: ol.Facts, section: str, lines: list[layout.Line], p: Parsed, *, where: str) -> None:
    found = {layout.key(f.label): f for f in layout.facts(lines)}
    wanted = {layout.key(f.label) for f in block.facts}
    if wanted & found.keys() and get_section(section).kind == "one":
        p.fields.setdefault(section, {})  # the record exists, even with every figure blank
    for fact in block.facts:
        src = found.get(layout.key(fact.label))
        if src is not None:
            _fact(fact, section, src, p, where)


def _fact(fact: ol.Fact, section: str, src: layout.FactSrc, p: Parsed, where: str) -> None:
    special = read_rows.SPECIAL_FACTS.get(fact.attr)
    if special is not None:
        special(src, p)
        return
    if not fact.fields:
        read_rows.computed_fact(fact, src, p)
        return
    specs = specs_of(section)
    if len(fact.fields) == 2:  # Business Goals Met: "4/5"
        read_rows.pair(section, fact.fields, src, p)
        return
    spec = specs[fact.fields[0]]
    raw = src.value
    if fact.attr == "status_label" and "|" in raw:
        raw = ""  # the template's list of every status, left in
    if fact.attr in read_rows.CLAIMED:
        p.claims[read_rows.CLAIMED[fact.attr]] = (src.line, raw)
    try:
        p.set(section, spec.name, decode_value(spec, raw, src.line), src.line)
    except BadValue as error:
        p.problems.append(Problem(src.line, f"{fact.label} ({where}): {error}"))


def _extras(o: ol.Outline, section: str | None, lines: list[layout.Line], p: Parsed) -> None:
    facts = o.extras.get(section or "", ())
    if facts and section:
        _facts(ol.Facts(facts), section, lines, p, where=section)


def number_or_none(raw: str) -> Decimal | None:
    return None if is_placeholder(raw) else parse_number(raw)
