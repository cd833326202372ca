"""The outline bound to one report: a small document tree (parts, subsections, blocks of inline runs) that
the Markdown and HTML templates render without knowing any section.

Text stays text here: escaping belongs to each output format (bot.reports.rendering). A `Run` says what a
piece of text is (plain, strong, a link, "Not provided", a tone for a variance) and each format shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bot.reports import outline as ol
from bot.reports.coverage import outline
from bot.reports.formatting import NOT_PROVIDED, SIGNED_OUTSIDE
from bot.reports.report import Report
from bot.reports.summary import figures

Style = Literal["", "strong", "np", "meta", "quote"]


@dataclass(frozen=True)
class Run:
    text: str
    style: Style = ""
    url: str | None = None  # a link (each format decides which URLs may be links)
    tone: str = ""  # "bad" / "good": coloured in HTML; the text itself says late, over budget, …
    anchor: str = ""  # a link to the part or subsection with this outline key


Inline = tuple[Run, ...]
NP: Inline = (Run(NOT_PROVIDED, "np"),)


@dataclass(frozen=True)
class DFact:
    label: str
    value: Inline
    strong: bool = True


@dataclass(frozen=True)
class DCell:
    value: Inline
    numeric: bool = False


@dataclass(frozen=True)
class DItem:
    runs: Inline
    check: bool | None = None  # a checkbox item (actions): done or not


@dataclass(frozen=True)
class DBlock:
    kind: Literal["facts", "table", "prose", "list", "empty"]
    style: str = ""  # facts: list / lines / para
    facts: tuple[DFact, ...] = ()
    headers: tuple[DCell, ...] = ()
    rows: tuple[tuple[DCell, ...], ...] = ()
    total: tuple[DCell, ...] | None = None
    text: str = ""  # prose
    items: tuple[DItem, ...] = ()
    ordered: bool = False
    intro: str = ""


EMPTY = DBlock("empty")


@dataclass(frozen=True)
class DSection:
    key: str
    heading: Inline
    blocks: tuple[DBlock, ...]
    number: str = ""

    @property
    def empty(self) -> bool:
        return all(b.kind == "empty" for b in self.blocks)


@dataclass(frozen=True)
class DPart:
    key: str
    heading: str
    number: str
    blocks: tuple[DBlock, ...]
    subsections: tuple[DSection, ...] = ()

    @property
    def empty(self) -> bool:
        return all(b.kind == "empty" for b in self.blocks) and all(s.empty for s in self.subsections)


@dataclass(frozen=True)
class Document:
    title: Inline
    header: DBlock
    summary: DBlock  # the summary band: facts whose values link to their part of the report
    parts: tuple[DPart, ...]
    footer: DBlock
    headings: dict[str, str] = field(default_factory=dict)  # outline key → heading text (Markdown anchors)


# ---- values ---------------------------------------------------------------------------------------------


def resolve(base: Any, path: str) -> Any:
    """`feedback.participants`, `lessons.went_well`: attributes and dict keys; None when a step is missing."""
    value = base
    for name in path.split("."):
        if value is None:
            return None
        value = value.get(name) if isinstance(value, dict) else getattr(value, name, None)
    return value


def text(value: Any, *, tone: str = "") -> Inline:
    """A fact's value: "Not provided" when empty."""
    if value is None or value == NOT_PROVIDED or (isinstance(value, str) and not value.strip()):
        return NP
    return (Run(str(value), tone=tone),)


def cell(value: Any, *, tone: str = "") -> Inline:
    """A table cell's value: a dash when empty."""
    return (Run("—" if value is None or value == "" else str(value), tone=tone),)


# ---- items ----------------------------------------------------------------------------------------------


def _opt(prefix: str, value: Any, suffix: str = "") -> list[Run]:
    return [Run(prefix), Run(str(value)), *([Run(suffix)] if suffix else [])] if value else []


def _objective(o: Any) -> DItem:
    return DItem((Run(o.label, "strong"), Run(": "), Run(o.title), *_opt(" — ", o.description)))


def _lesson(x: Any) -> DItem:
    return DItem((Run(x.title, "strong"), *_opt(": ", x.description)))


def _change(x: Any) -> DItem:
    return DItem((Run(x.change), *_opt(": ", x.rationale)))


def _task(x: Any) -> DItem:
    return DItem((Run(x.task), *_opt(": ", x.description), *_opt(" (", x.timeline, ")")))


def _action(a: Any) -> DItem:
    tone = "bad" if a.overdue and not a.done else ""
    meta = f" — owner: {a.owner} · due {a.due or '—'} · "
    history = [Run(" · " + a.history_label, "meta")] if a.history_label else []
    return DItem((Run(a.description), Run(meta, "meta"), Run(a.state_label, "meta", tone=tone), *history),
                 check=a.done)


def _condition(x: Any) -> DItem:
    marked = f" ({SIGNED_OUTSIDE})" if x.outside else " (on an outdated sign-off)" if x.outdated else ""
    return DItem((Run(x.who, "strong"), Run(f" — {x.kind}{marked}: "), Run(x.text)))


def link_run(url: str) -> Run:
    """A URL shown as itself (without the scheme), linked: the reader sees where it goes."""
    shown = url.split("://", 1)[-1].rstrip("/") if "://" in url else url
    return Run(shown, url=url)


def _link(link: Any) -> DItem:
    url, note = link
    if not url:
        return DItem((Run(note or ""),))
    return DItem((link_run(url), *_opt(" — ", note)))


def _theme(t: Any) -> DItem:
    runs = [Run(f"{t.label} ({t.count})")]
    for i, comment in enumerate(t.comments):
        runs += [Run(" — " if i == 0 else "; "), Run(comment, "quote")]
    return DItem(tuple(runs))


ITEM_BUILDERS: dict[str, Callable[[Any], DItem]] = {
    "objective": _objective, "lesson": _lesson, "change": _change, "task": _task, "action": _action,
    "condition": _condition, "link": _link, "theme": _theme,
}


# ---- blocks ---------------------------------------------------------------------------------------------


def _fact(base: Any, fact: ol.Fact, fields: dict[str, str | None]) -> DFact:
    value = resolve(base, fact.attr) if fact.attr else fields.get(fact.fields[0])
    tone = str(resolve(base, fact.tone) or "") if fact.tone else ""
    if fact.link and value:
        return DFact(fact.label, (link_run(str(value)),), fact.strong)
    if value == "":
        return DFact(fact.label, (), fact.strong)  # the list that follows is the value
    return DFact(fact.label, text(value, tone=tone), fact.strong)


def _table(base: Any, table: ol.Table) -> DBlock:
    rows = resolve(base, table.rows) or []
    if not rows:
        return EMPTY

    def line(row: Any, total: bool = False) -> tuple[DCell, ...]:
        cells = []
        for column in table.columns:
            attr = column.total_attr if total and column.total_attr else column.attr
            tone = str(getattr(row, f"{attr}_tone", "") or "") if column.tone else ""
            cells.append(DCell(cell(getattr(row, attr), tone=tone), column.numeric))
        return tuple(cells)

    total = resolve(base, table.total) if table.total else None
    return DBlock("table", headers=tuple(DCell((Run(c.heading),), c.numeric) for c in table.columns),
                  rows=tuple(line(r) for r in rows), total=line(total, True) if total is not None else None)


def block(base: Any, spec: ol.Block, fields: dict[str, str | None]) -> DBlock | None:
    """One block of the outline, bound; None for an optional block with nothing in it."""
    if isinstance(spec, ol.Table):
        return _table(base, spec)
    if isinstance(spec, ol.Facts):
        if spec.when and not resolve(base, spec.when):
            return EMPTY
        facts = tuple(d for f in spec.facts if not ((d := _fact(base, f, fields)).value == NP and f.optional))
        if spec.style == "list" and all(f.value == NP for f in facts):
            return EMPTY  # nothing but "Not provided": one muted line, not one per fact
        return DBlock("facts", spec.style, facts=facts)
    if isinstance(spec, ol.Prose):
        value = resolve(base, spec.attr)
        if not value:
            return None if spec.optional else EMPTY
        return DBlock("prose", text=str(value))
    items = resolve(base, spec.attr) or []
    if not items:
        return None if spec.optional else EMPTY
    build = ITEM_BUILDERS[spec.item]
    return DBlock("list", items=tuple(build(x) for x in items), ordered=spec.ordered, intro=spec.intro)


def blocks(base: Any, specs: Iterable[ol.Block], fields: dict[str, str | None]) -> tuple[DBlock, ...]:
    bound = [b for b in (block(base, s, fields) for s in specs) if b is not None]
    if all(b is EMPTY for b in bound):
        return (EMPTY,)  # an empty subsection: its heading and one muted line
    return tuple(bound)


def _extras(o: ol.Outline, section: str | None, report: Report) -> tuple[DBlock, ...]:
    facts = o.extras.get(section or "", ())
    if not facts:
        return ()
    fields = report.fields.get(section or "", {})
    return (DBlock("facts", "list", facts=tuple(_fact(report, f, fields) for f in facts)),)


def _subsections(o: ol.Outline, part: ol.Part, report: Report, number: str) -> list[DSection]:
    out: list[DSection] = []
    last_of = {s.section: i for i, s in enumerate(part.subsections) if s.section}
    for i, sub in enumerate(part.subsections):
        fields = report.fields.get(sub.section or "", {})
        extra = _extras(o, sub.section, report) if sub.section and last_of.get(sub.section) == i else ()
        if sub.repeat:
            for item in resolve(report, sub.repeat) or []:
                out.append(DSection(f"{sub.key}-{item.letter.lower()}", (Run(sub.heading.format(**vars(item))),),
                                    blocks(item, sub.blocks, fields)))
            continue
        heading: Inline = (Run(sub.heading),)
        if sub.heading_attr:
            heading = (Run(sub.heading.replace("{}", "")), *text(resolve(report, sub.heading_attr)))
        bound = blocks(report, sub.blocks, fields)
        out.append(DSection(sub.key, heading, bound + extra))
    return [DSection(s.key, s.heading, s.blocks, f"{number}.{i}") for i, s in enumerate(out, 1)]


def _with_extras(facts: DBlock, extras: tuple[DBlock, ...]) -> DBlock:
    more = tuple(f for b in extras for f in b.facts)
    return replace(facts, facts=facts.facts + more) if more else facts


def build(report: Report, o: ol.Outline | None = None) -> Document:
    """The report as a document: the outline's parts, numbered, each with its blocks bound to the report."""
    o = o or outline()
    parts = []
    for n, part in enumerate(o.parts, 1):
        fields = report.fields.get(part.section or "", {})
        own = blocks(report, part.blocks, fields) + _extras(o, part.section, report) if part.blocks else ()
        parts.append(DPart(part.key, part.heading, str(n), own, tuple(_subsections(o, part, report, str(n)))))
    header = _with_extras(block(report, o.header, {}) or EMPTY, _extras(o, o.header_section, report))
    footer = _with_extras(block(report, o.footer, {}) or EMPTY, _extras(o, o.footer_section, report))
    title = (Run(o.title.replace("{}", "")), Run(report.name))
    headings = {p.key: p.heading for p in parts}
    headings |= {s.key: "".join(r.text for r in s.heading) for p in parts for s in p.subsections}
    return Document(title, header, _summary(report), tuple(parts), footer, headings)


def _summary(report: Report) -> DBlock:
    facts = []
    for f in figures(report):
        value = text(f.value, tone=f.tone)
        if value is not NP:
            value = (replace(value[0], anchor=f.target),)
        facts.append(DFact(f.label, value))
    return DBlock("facts", "band", facts=tuple(facts))
