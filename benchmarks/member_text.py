"""How long reading one member text can hold the event loop: the slowest input per reader.

Run by hand from the project root:
    PYTHONPATH=. .venv/bin/python benchmarks/member_text.py
Prints, for every function that reads member text, its slowest input among the texts built to be
slow (tests/unit/slow_texts.py) at the largest size the network delivers, and then the link
pattern used before the linear ones beside today's `has_link`, at growing sizes, with the ratio.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from bot.adapters.discord import events as ev
from bot.adapters.matrix import translate as tr
from tests.unit.discord_payloads import BOT_ID, Gateway, message_payload
from tests.unit.slow_texts import texts

# the link pattern before it was made linear: from every letter it rescanned the rest
BEFORE = re.compile(
    r"(?:\b[a-z][a-z0-9+.\-]*://\S)|(?:\bwww\.[a-z0-9\-]+\.[a-z]{2,})|(?:\bmailto:\S)",
    re.IGNORECASE,
)


def best_of_three(call: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def slowest(read: Callable[[str], object], size: int) -> tuple[str, float]:
    inputs = texts(size)
    times = {name: best_of_three(lambda text=text: read(text)) for name, text in inputs.items()}
    name = max(times, key=lambda n: times[n])
    return name, times[name]


def html(text: str) -> dict[str, object]:
    return {"body": text, "format": "org.matrix.custom.html", "formatted_body": text}


def readers() -> dict[str, tuple[Callable[[str], object], int]]:
    gateway = Gateway()
    return {
        "matrix plain_text": (lambda t: tr.plain_text(html(t)), tr.MAX_TEXT),
        "matrix mentioned_users": (lambda t: tr.mentioned_users(html(t)), tr.MAX_TEXT),
        "matrix has_link": (lambda t: tr.has_link(html(t)), tr.MAX_TEXT),
        "matrix parse_command": (lambda t: tr.parse_command(t, "!"), tr.MAX_TEXT),
        "matrix parse_user_id": (tr.parse_user_id, tr.MAX_TEXT),
        "matrix parse_room_ref": (tr.parse_room_ref, tr.MAX_TEXT),
        "discord message_posted": (
            lambda t: ev.message_posted(gateway.message(message_payload(t)), BOT_ID),
            ev.MAX_CONTENT,
        ),
        "discord has_link": (ev.has_link, ev.MAX_CONTENT),
        "discord parse_member_id": (ev.parse_member_id, ev.MAX_CONTENT),
    }


def main() -> None:
    print(f"{'reader':26} {'size':>6}  {'slowest input':28} {'ms':>8}")
    for label, (read, size) in readers().items():
        name, took = slowest(read, size)
        print(f"{label:26} {size:>6}  {name:28} {took * 1000:8.2f}")
    print()
    print("link search on 'a.a.a…' (no link): the pattern before vs has_link today")
    print(f"{'size':>6} {'before ms':>10} {'today ms':>10} {'ratio':>8}")
    for size in (1024, 2048, 4096, 8192, 16384):
        text = texts(size)["a."]
        before = best_of_three(lambda text=text: BEFORE.search(text))
        today = best_of_three(lambda text=text: tr.has_link({"body": text}))
        print(f"{size:>6} {before * 1000:10.2f} {today * 1000:10.3f} {before / today:7.0f}x")


if __name__ == "__main__":
    main()
