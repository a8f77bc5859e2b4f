"""Text of a PDF by sections: headings from the outline when there is one, else from font size
and weight relative to the body text."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

HEADING_SIZE_RATIO = 1.15  # a line this much larger than the body font is a heading
MAX_HEADING_CHARS = 120
BOLD_FLAG = 16


@dataclass(frozen=True)
class Line:
    """One text line: page (1-based), vertical position, text, font size, all-bold flag."""

    page: int
    y: float
    text: str
    size: float
    bold: bool


@dataclass
class Section:
    """A heading (None for text before the first one) and the text under it."""

    heading: str | None
    level: int  # 1 = top level; 0 = text before any heading
    page: int
    page_end: int
    source: str  # outline | font | none
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def page_lines(page: Any) -> list[Line]:
    """The text lines of one page in reading order (text blocks only)."""
    out: list[Line] = []
    for block in page.get_text("dict", sort=True)["blocks"]:
        for line in block.get("lines", ()):
            spans = [s for s in line["spans"] if s["text"].strip()]
            if not spans:
                continue
            text = " ".join("".join(s["text"] for s in line["spans"]).split())
            size = max(s["size"] for s in spans)
            bold = all(s["flags"] & BOLD_FLAG or "bold" in s["font"].lower() for s in spans)
            out.append(Line(page.number + 1, round(line["bbox"][1], 1), text, round(size, 1),
                            bold))
    return out


def body_size(lines: Iterable[Line]) -> float:
    """The font size that carries the most characters."""
    weight: Counter[float] = Counter()
    for ln in lines:
        weight[ln.size] += len(ln.text)
    return weight.most_common(1)[0][0] if weight else 10.0


def _key(text: str) -> str:
    return re.sub(r"\W+", "", text).lower()


def font_levels(lines: list[Line], body: float) -> dict[tuple[float, bool], int]:
    """Heading level per (size, bold) style: larger sizes first; bold at body size last."""
    styles = {(ln.size, ln.bold) for ln in lines if _is_heading_style(ln, body)}
    ordered = sorted(styles, key=lambda s: (-s[0], not s[1]))
    return {style: i + 1 for i, style in enumerate(ordered)}


def _is_heading_style(ln: Line, body: float) -> bool:
    if len(ln.text) > MAX_HEADING_CHARS or not any(ch.isalpha() for ch in ln.text):
        return False
    return ln.size >= body * HEADING_SIZE_RATIO or (ln.bold and ln.size >= body - 0.1)


def sections(lines: list[Line], toc: list[list[Any]] | None = None) -> list[Section]:
    """Split `lines` into sections. With an outline (`doc.get_toc()`: [level, title, page]),
    its entries are the headings (matched to the line with the same text on that page, else
    the top of that page); without one, headings come from font size and weight."""
    if toc:
        return _by_outline(lines, toc)
    body = body_size(lines)
    levels = font_levels(lines, body)
    out: list[Section] = []
    current = Section(None, 0, lines[0].page if lines else 1, 1, "none", [])
    for ln in lines:
        level = levels.get((ln.size, ln.bold))
        if level is not None and _is_heading_style(ln, body):
            if current.lines or current.heading is not None:
                out.append(current)
            current = Section(ln.text, level, ln.page, ln.page, "font", [])
        else:
            current.lines.append(ln.text)
            current.page_end = ln.page
    if current.lines or current.heading is not None:
        out.append(current)
    return out


def _by_outline(lines: list[Line], toc: list[list[Any]]) -> list[Section]:
    starts: dict[int, tuple[int, str, bool]] = {}  # line index -> (level, title, matched)
    at_page_top: list[tuple[int, int, str]] = []  # (page, level, title) not found in the text
    cursor = 0
    for entry in toc:
        level, title, page = int(entry[0]), str(entry[1]), int(entry[2])
        want = _key(title)
        hit = next((i for i in range(cursor, len(lines))
                    if lines[i].page == page and _key(lines[i].text) == want), None)
        if hit is None:
            hit = next((i for i in range(len(lines)) if lines[i].page == page
                        and _key(lines[i].text) == want and i not in starts), None)
        if hit is None:
            at_page_top.append((page, level, title))
            continue
        starts[hit] = (level, title, True)
        cursor = hit + 1
    for page, level, title in at_page_top:
        first = next((i for i, ln in enumerate(lines) if ln.page >= page), len(lines))
        starts.setdefault(first, (level, title, False))
    out: list[Section] = []
    current = Section(None, 0, lines[0].page if lines else 1, 1, "none", [])
    for i, ln in enumerate(lines):
        if i in starts:
            level, title, matched = starts[i]
            if current.lines or current.heading is not None:
                out.append(current)
            current = Section(title, level, ln.page, ln.page, "outline", [])
            if matched:
                continue
        current.lines.append(ln.text)
        current.page_end = ln.page
    if current.lines or current.heading is not None:
        out.append(current)
    return out
