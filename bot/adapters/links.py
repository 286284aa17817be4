"""What member text counts as a link, shared by the networks' translations.

`\\b[a-z][a-z0-9+.-]*://\\S` tried every letter of a run like `a.a.a.a...` as a scheme start and
scanned the rest of the run from each: quadratic, so one message could hold the event loop for
seconds. `SCHEME_LINK` tries each run of scheme characters once, from its start (the
lookbehind): a letter starting a word there, or the first one after a `+.-` in the run (atomic: a
later one ends the run at the same place), then the rest of the run, possessively, and `://` with
a non-space. It finds the same links, in linear time.
"""

from __future__ import annotations

SCHEME_LINK = (
    r"(?<![a-z0-9+.\-])(?:(?<!\w)[a-z]|(?>[a-z0-9+.\-]*?[+.\-][a-z]))[a-z0-9+.\-]*+://(?=\S)"
)
WWW_LINK = r"\bwww\.[a-z0-9\-]+\.[a-z]{2,}"
