"""The report's section on the system of schemes (several schemes only): a diagram of operators,
sources and flows, drawn as SVG from the run's data (which sources feed which schemes, on what
terms and with how many records; which lists each scheme imports from which), and the combined
harms: sanctioned and listed by any scheme and by several at once, denied because of another
scheme's list, for acts not done, and the amplification of a false record and an incident where
`simulate --amplification` measured it."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

from ..undefined import shown
from .amplification import found

if TYPE_CHECKING:
    from .run import Run

# Each operator's colour (the same in every report); an unnamed operator is grey.
OPERATOR_COLOURS = {"state": "#1f77b4", "court": "#9467bd", "city": "#2ca02c", "private": "#ff7f0e"}
IMPORT_COLOUR = "#d62728"
BOX_WIDTH, BOX_HEIGHT, ROW, SLOT = 210, 40, 62, 16
SOURCE_X, SCHEME_X, WIDTH = 10, 430, 900


@dataclass(frozen=True)
class Flow:
    """Records of one source reaching one scheme: how many (false among them) and on what terms."""

    source: str
    scheme: str
    records: int | None
    false_records: int | None
    delay_days: int
    coverage: float

    @property
    def on_terms(self) -> bool:
        return self.delay_days > 0 or self.coverage < 1

    def label(self) -> str:
        parts = []
        if self.records is not None:
            parts.append(f"{self.records:,} records" + (f", {self.false_records:,} false" if self.false_records
                                                        else ""))
        if self.delay_days:
            parts.append(f"{self.delay_days} days late")
        if self.coverage < 1:
            parts.append(f"{self.coverage:.0%} of them")
        return "; ".join(parts)


def flows(run: Run) -> list[Flow]:
    """Each (source, scheme) whose records reach the scheme: a source it receives that records a kind
    it declares, with the run's counts of them (summary.json's record_flows)."""
    counted = run.summary.get("combined", {}).get("record_flows", {})
    found_flows = []
    for source, spec in run.scenario.surveillance.items():
        for entry in run.schemes:
            if entry.share_of(source) == 0 or not set(spec.observes) & set(entry.scheme.events):
                continue
            flow = counted.get(source, {}).get(entry.name, {})
            delay, coverage = next(((d, c) for s, d, c in entry.terms if s == source), (0, 1.0))
            found_flows.append(Flow(source, entry.name, flow.get("records"), flow.get("false_records"), delay,
                                    coverage))
    return found_flows


def _box(x: float, y: float, title: str, subtitle: str, colour: str, height: float = BOX_HEIGHT) -> str:
    return (f'<rect x="{x}" y="{y:.1f}" width="{BOX_WIDTH}" height="{height:.1f}" rx="6" fill="{colour}" '
            f'fill-opacity="0.15" stroke="{colour}" stroke-width="1.5"/>'
            f'<text x="{x + 8}" y="{y + 16:.1f}" font-size="13" font-weight="bold">{escape(title)}</text>'
            f'<text x="{x + 8}" y="{y + 32:.1f}" font-size="10" fill="#444">{escape(subtitle)}</text>')


def diagram(run: Run) -> str:
    """The system as SVG: sources on the left, schemes (coloured by operator) on the right, a line
    from each source to each scheme its records reach (dashed where bought or shared on terms of
    the scheme's own), labelled where it arrives, and a red arrow from a scheme to each scheme
    importing one of its lists."""
    sources = list(run.scenario.surveillance)
    entries = list(run.schemes)
    every = flows(run)
    incoming = {entry.name: [flow for flow in every if flow.scheme == entry.name] for entry in entries}
    # a scheme's box is tall enough for a slot per incoming line, each labelled at its slot
    heights = {name: max(BOX_HEIGHT, SLOT * len(arriving) + 12) for name, arriving in incoming.items()}
    row = max(ROW, max(heights.values(), default=BOX_HEIGHT) + 24)
    rows_height = max(len(sources) * ROW, len(entries) * row, ROW)
    height = rows_height + 30

    def centre(index: int, count: int) -> float:  # spread each column over the same height
        return 20 + (index + 0.5) * rows_height / count

    source_y = {name: centre(i, len(sources)) for i, name in enumerate(sources)}
    scheme_y = {entry.name: centre(i, len(entries)) for i, entry in enumerate(entries)}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
             f'viewBox="0 0 {WIDTH} {height:.0f}" font-family="sans-serif" role="img" '
             f'aria-label="Operators, sources and the flows of records and lists between them">',
             f'<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{IMPORT_COLOUR}"/></marker></defs>']
    labels = []
    for name, arriving in incoming.items():
        top = scheme_y[name] - (len(arriving) - 1) * SLOT / 2
        for slot, flow in enumerate(sorted(arriving, key=lambda f: source_y[f.source])):
            x1, y1 = SOURCE_X + BOX_WIDTH, source_y[flow.source]
            x2, y2 = SCHEME_X, top + slot * SLOT
            dash = ' stroke-dasharray="6,4"' if flow.on_terms else ""
            parts.append(f'<line x1="{x1}" y1="{y1:.1f}" x2="{x2}" y2="{y2:.1f}" stroke="#555" stroke-width="1.3"'
                         f'{dash}><title>{escape(flow.source)} to {escape(name)}: {escape(flow.label())}</title>'
                         f'</line>')
            label = flow.label()
            if label:  # where the line arrives, over it, on a white halo
                labels.append(f'<text x="{x2 - 6}" y="{y2 - 3:.1f}" font-size="9" text-anchor="end" fill="#222" '
                              f'stroke="white" stroke-width="3" paint-order="stroke">{escape(label)}</text>')
    parts += labels
    for name in sources:
        spec = run.scenario.surveillance[name]
        kinds = ", ".join(spec.observes)
        parts.append(_box(SOURCE_X, source_y[name] - BOX_HEIGHT / 2, f"source: {name}",
                          kinds if len(kinds) <= 34 else kinds[:33] + "…", "#7f7f7f"))
    for entry in entries:
        colour = OPERATOR_COLOURS.get(entry.operator or "", "#7f7f7f")
        box = heights[entry.name]
        parts.append(_box(SCHEME_X, scheme_y[entry.name] - box / 2, entry.name,
                          f"{entry.operator or 'operator not named'}: scheme {entry.scheme.id}", colour, box))
    # Imports: from the listing scheme's right edge, out to the right and back to the importer's.
    right = SCHEME_X + BOX_WIDTH
    for number, entry in enumerate(e for e in entries if e.lists_from):
        for own, source, list_name in entry.lists_from:
            y1, y2 = scheme_y[source], scheme_y[entry.name]
            reach = 60 + 50 * number
            parts.append(f'<path d="M{right},{y1:.1f} C{right + reach},{y1:.1f} {right + reach},{y2:.1f} '
                         f'{right},{y2:.1f}" fill="none" stroke="{IMPORT_COLOUR}" stroke-width="1.6" '
                         f'marker-end="url(#arrow)"><title>{escape(entry.name)} reads {escape(source)}.'
                         f'{escape(list_name)} as {escape(own)}</title></path>')
            parts.append(f'<text x="{right + reach * 0.75 + 4:.1f}" y="{(y1 + y2) / 2 + 3:.1f}" font-size="10" '
                         f'fill="{IMPORT_COLOUR}" stroke="white" stroke-width="3" paint-order="stroke">'
                         f'{escape(entry.name)} reads {escape(source)}.{escape(list_name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _interval(figure: dict[str, Any]) -> str:
    if figure["value"] is None:
        return "n/a"
    interval = f" [{figure['low']:.3g}, {figure['high']:.3g}]" if figure["low"] is not None else ""
    return f"{figure['value']:.3g}{interval}"


def combined_rows(summary: dict[str, Any], groups: list[str]) -> list[tuple[str, str, str]]:
    """(figure, value, what it means): the harms of the schemes together."""
    combined, harms = summary["combined"], summary["harms"]
    rows: list[tuple[str, str, str]] = []

    def by_group(values: dict[str, Any]) -> str:
        return ", ".join(f"{g} {shown(values[g], '.2%')}" for g in groups)

    for key, what in (("sanctioned_by_any", "sanctioned"), ("listed_by_any", "listed")):
        figure = combined[key]
        several = sum(share for count, share in figure["most_at_once_ever"].items() if int(count) >= 2)
        rows.append((f"{what} by any scheme, ever during the run", f"{figure['ever']['share']:.2%}",
                     f"by group: {by_group(figure['ever']['by_group'])}; {figure['person_days']:,} person-days"))
        rows.append((f"{what} by several schemes at once, ever", f"{several:.2%}",
                     f"at the end: {figure['several_at_end']['share']:.2%} (by group: "
                     f"{by_group(figure['several_at_end']['by_group'])})"))
    for name, figure in combined.get("joint_punishment", {}).items():
        imports = ", ".join(f"{own} from {source}" for own, source in figure["imports"].items())
        rows.append((f"{name}: denied because of another scheme's list", f"{figure['share']:.2%}",
                     f"{figure['people']:,} people, {figure['person_days']:,} person-days (imports {imports}); by "
                     f"group: " + ", ".join(f"{g} {shown(figure['by_group'][g]['share'], '.2%')}" for g in groups)))
    for key, what in (("wrongly_sanctioned_any", "sanctioned"), ("wrongly_listed_any", "listed")):
        if key in harms:
            figure = harms[key]
            rows.append((f"{what} by any scheme for acts not done", f"{figure['rate']:.2%}",
                         f"{figure['count']:,} people; by group: {by_group(figure['by_group'])}"))
    amplified = found(summary)
    if amplified:
        seeds = len(amplified["seeds"])
        how = f"over {seeds} seeds, 95% interval" if seeds > 1 else "one pair of runs, no interval"
        taken = ", ".join(f"{n:,}" for n in amplified["false_records_taken_out"])
        for name, figure in amplified["entitlement_days_per_false_record"].items():
            spill = amplified["spillover_per_false_record"][name]
            label = "all schemes" if name == "all_schemes" else name
            rows.append((f"amplification, {label}: entitlement-days denied per false record", _interval(figure),
                         f"to the people the false records were about ({taken} records taken out in the twin; {how}); "
                         f"among the others: {_interval(spill)}"))
        for number, incident in amplified.get("incidents", {}).items():
            total = incident["entitlement_days_per_incident"]["all_schemes"]
            per = incident["entitlement_days_per_false_record"]["all_schemes"]
            rows.append((f"amplification, incident {number} ({incident['source']}, day {incident['day']}, "
                         f"{incident['days']} days): entitlement-days denied", _interval(total),
                         f"across all schemes, against a twin without it; per false record it made: {_interval(per)}"))
    return rows


def system_section(run: Run) -> str:
    """The section's HTML (empty with one scheme: there is no system to draw)."""
    if not run.sim.several:
        return ""
    groups = list(run.population.group_names)
    table = "".join(f'<tr><td>{escape(name)}</td><td class="num">{escape(value)}</td>'
                    f'<td class="muted">{escape(meaning)}</td></tr>'
                    for name, value, meaning in combined_rows(run.summary, groups))
    return ("<h2>The system: operators, sources and flows</h2>"
            "<p>Each source's records reach the schemes it feeds (a dashed line: shared or sold on terms of "
            "the scheme's own; counts from day 0, of the kinds the scheme declares); a red arrow runs from a "
            "scheme to each scheme that reads one of its lists (joint punishment).</p>"
            f"<figure>{diagram(run)}</figure>"
            "<h3>Harms of the schemes together</h3>"
            f"<table>{table}</table>")
