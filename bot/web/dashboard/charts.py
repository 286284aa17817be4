"""Small SVG charts drawn on the server: no script, no request elsewhere, readable on a phone.

Each chart is inline SVG named by its `<title>` and described by its `<desc>`: the summary in
words, which the page also shows as the caption. (Naming it by both would make a screen reader
say the summary twice, as name and as description.) The numbers are rows of a table the page
hides visually: a screen reader gets the summary and the table, everyone the same facts. Colours
come from classes in dashboard.css (3:1 or more against the page, in light and dark mode): the
page's Content-Security-Policy allows no inline style, and presentation attributes are not
needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from markupsafe import Markup, escape

WIDTH: Final = 320
HEIGHT: Final = 170
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 12, 28  # room for the axis labels
FONT: Final = 11


@dataclass(frozen=True, slots=True)
class Chart:
    key: str  # the id prefix of its title and description
    title: str
    summary: str
    svg: Markup
    headers: tuple[str, str]
    rows: list[tuple[str, str]]


def short_day(day: date) -> str:
    return f"{day.day} {day:%b}"


def nice_ceiling(value: int) -> int:
    """The axis top: 1, 2 or 5 times a power of ten, at least `value` (and at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def _svg(key: str, title: str, summary: str, height: int, body: list[str]) -> Markup:
    head = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" focusable="false"'
        f' aria-labelledby="{key}-title" aria-describedby="{key}-desc"'
        ' xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{key}-title">{escape(title)}</title>'
        f'<desc id="{key}-desc">{escape(summary)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _text(x: float, y: float, words: str, anchor: str = "middle") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{FONT}" text-anchor="{anchor}"'
        f' class="label">{escape(words)}</text>'
    )


def _frame(top_value: int) -> list[str]:
    """The value axis: a baseline, a top line, and their numbers."""
    x0, x1, y0, y1 = LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM
    return [
        f'<line class="grid" x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}"/>',
        f'<line class="axis" x1="{x0}" y1="{y1}" x2="{x1}" y2="{y1}"/>',
        _text(x0 - 4, y0 + 4, str(top_value), "end"),
        _text(x0 - 4, y1 + 4, "0", "end"),
    ]


def _day_labels(days: list[date], slot: float) -> list[str]:
    """The first, middle and last day under the chart."""
    y = HEIGHT - 8
    picks = [(0, "start"), (len(days) // 2, "middle"), (len(days) - 1, "end")]
    found = []
    for index, anchor in picks:
        centre = LEFT + slot * (index + 0.5)
        x = {"start": LEFT, "middle": centre, "end": WIDTH - RIGHT}[anchor]
        found.append(_text(x, y, short_day(days[index]), anchor))
    return found


def _rows(points: list[tuple[date, int]]) -> list[tuple[str, str]]:
    return [(short_day(day), str(value)) for day, value in points]


def day_bars(
    key: str, title: str, summary: str, points: list[tuple[date, int]], *, value_header: str
) -> Chart:
    """One bar per day."""
    top = nice_ceiling(max(value for _, value in points))
    slot = (WIDTH - LEFT - RIGHT) / len(points)
    base = HEIGHT - BOTTOM
    scale = (base - TOP) / top
    body = _frame(top)
    for index, (day, value) in enumerate(points):
        if value == 0:
            continue
        height = value * scale
        body.append(
            f'<rect class="bar" x="{LEFT + slot * index + slot * 0.15:.1f}"'
            f' y="{base - height:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}">'
            f"<title>{escape(short_day(day))}: {value}</title></rect>"
        )
    body += _day_labels([day for day, _ in points], slot)
    svg = _svg(key, title, summary, HEIGHT, body)
    return Chart(key, title, summary, svg, ("Day", value_header), _rows(points))


def day_line(
    key: str, title: str, summary: str, points: list[tuple[date, int]], *, value_header: str
) -> Chart:
    """A line through each day's value, the last one marked."""
    top = nice_ceiling(max(value for _, value in points))
    slot = (WIDTH - LEFT - RIGHT) / len(points)
    base = HEIGHT - BOTTOM
    scale = (base - TOP) / top
    xy = [(LEFT + slot * (i + 0.5), base - value * scale) for i, (_, value) in enumerate(points)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    last_x, last_y = xy[-1]
    body = [
        *_frame(top),
        f'<polyline class="line" fill="none" stroke-width="2.5" points="{path}"/>',
        f'<circle class="dot" cx="{last_x:.1f}" cy="{last_y:.1f}" r="3.5"/>',
        *_day_labels([day for day, _ in points], slot),
    ]
    svg = _svg(key, title, summary, HEIGHT, body)
    return Chart(key, title, summary, svg, ("Day", value_header), _rows(points))


def level_bars(
    key: str, title: str, summary: str, points: list[tuple[str, int]], *, value_header: str
) -> Chart:
    """One horizontal bar per named level, its number at its end."""
    row, label_width, gap = 30, 64, 6
    height = TOP + row * len(points)
    top = nice_ceiling(max(value for _, value in points))
    room = WIDTH - label_width - RIGHT - 40  # leave space for the number after the bar
    body = []
    for index, (name, value) in enumerate(points):
        y = TOP + row * index
        length = room * value / top
        body.append(_text(4, y + row / 2 + 4, name, "start"))
        if value:
            body.append(
                f'<rect class="bar" x="{label_width}" y="{y + gap / 2:.1f}"'
                f' width="{length:.1f}" height="{row - gap - 6:.1f}"/>'
            )
        body.append(_text(label_width + length + 6, y + row / 2 + 4, str(value), "start"))
    svg = _svg(key, title, summary, height, body)
    rows = [(name, str(value)) for name, value in points]
    return Chart(key, title, summary, svg, ("Filter level", value_header), rows)
