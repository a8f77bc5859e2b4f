"""Tables on a PDF page: detection with PyMuPDF, cell text re-read by bounding box, and a
calibrated confidence.

Detectors (`detector:`):
- `lines` (default): PyMuPDF's line-based finder without the layout model
  (`find_tables(use_layout=False)`): ruled grids, ~0.1 s/page, no ONNX/AGPL layout component.
- `layout`: PyMuPDF 2.0's default, gated by its ONNX layout model (pymupdf-layout, AGPL):
  also finds some unruled tables, ~5-10x slower per page.
- `text_fallback: true` adds PyMuPDF's text-alignment strategy on pages where the detector
  found nothing; such guessed grids get low confidence.

Rows and columns without any text are dropped (grid artefacts).

Cell text: PyMuPDF 2.0's `Table.extract()` scrambles numbers with decimals ("3.30" becomes
"330\\n.") and drops spaces. Each cell is re-read instead: the page's words
(`page.get_text("words")`, read once per page) are assigned to the cell containing their
centre, in reading order.

Confidence (0..1), a weighted mean of four measurements of the grid, times a shape factor:

    confidence = (0.35 * ruling + 0.25 * containment + 0.20 * consistency + 0.20 * fill) * shape

- ruling: share of the length of all cell edges that lies on a drawn line or rectangle edge
  (1 for a fully ruled grid, 0 for a layout guessed from text alignment);
- containment: share of the words inside the table whose box lies horizontally within
  their cell (a grid whose column edges cut through words is wrong there);
- consistency: share of non-empty rows whose number of non-empty cells equals the most
  common number (ragged rows lower it);
- fill: share of non-empty cells;
- shape: 1, or 0.3 when fewer than 2 rows or 2 columns hold any text (a boxed title or
  note, not really a table).

Without ruling the confidence is at most 0.65, so "high" (>= 0.7) needs drawn lines around
the cells; a text-alignment guess is never high. The benchmark (`python -m bench.pdf_tables`)
and tests/test_pdf_tables.py check that tables with higher confidence have higher cell
accuracy on the fixtures and the ICDAR 2013 / camelot PDFs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

Detector = Literal["lines", "layout"]
Rect = tuple[float, float, float, float]

WEIGHTS = {"ruling": 0.35, "containment": 0.25, "consistency": 0.20, "fill": 0.20}
SMALL_SHAPE_FACTOR = 0.3
EDGE_TOLERANCE = 2.0  # points between a cell edge and a drawn line that still rule it


@dataclass
class PageTable:
    """One table found on a page; `rows` holds cell strings, header row first."""

    page: int  # 1-based
    index: int  # 0-based on its page
    bbox: Rect
    rows: list[list[str]]
    confidence: float
    method: str  # lines | layout | text
    features: dict[str, float] = field(default_factory=dict)

    @property
    def n_cols(self) -> int:
        return max((len(r) for r in self.rows), default=0)


def _words(page: Any) -> list[tuple[float, float, float, float, str, int, int, int]]:
    return [tuple(w[:8]) for w in page.get_text("words", sort=False)]  # type: ignore[misc]


def _finder(page: Any, method: str) -> list[Any]:
    if method == "layout":
        return list(page.find_tables().tables)
    if method == "text":
        return list(page.find_tables(use_layout=False, strategy="text").tables)
    return list(page.find_tables(use_layout=False).tables)


def read_cells(table: Any, words: list[tuple[Any, ...]]) -> tuple[list[list[str]], float]:
    """Cell strings of a PyMuPDF table re-read from the page's words, and the containment
    share (words inside the table that fit in one cell)."""
    grid: list[list[Rect | None]] = [
        [tuple(c) if c is not None else None for c in row.cells] for row in table.rows
    ]
    texts: list[list[list[tuple[Any, ...]]]] = [[[] for _ in row] for row in grid]
    tx0, ty0, tx1, ty1 = table.bbox
    inside = fitting = 0
    for w in words:
        cx, cy = (w[0] + w[2]) / 2, (w[1] + w[3]) / 2
        if not (tx0 <= cx <= tx1 and ty0 <= cy <= ty1):
            continue
        inside += 1
        best: tuple[float, int, int] | None = None  # the smallest cell holding the centre
        for r, row in enumerate(grid):
            for c, cell in enumerate(row):
                if cell is None:
                    continue
                x0, y0, x1, y1 = cell
                if x0 <= cx <= x1 and y0 <= cy <= y1:
                    area = (x1 - x0) * (y1 - y0)
                    if best is None or area < best[0]:
                        best = (area, r, c)
        if best is None:
            continue
        _, r, c = best
        texts[r][c].append(w)
        x0, y0, x1, y1 = grid[r][c]  # type: ignore[misc]
        if w[0] >= x0 - 1.0 and w[2] <= x1 + 1.0:  # horizontal: text-strategy rows are cut
            fitting += 1                            # at glyph edges, not line boxes
    rows = drop_empty([[_join(ws) for ws in row] for row in texts])
    return rows, (fitting / inside if inside else 0.0)


def drop_empty(rows: list[list[str]]) -> list[list[str]]:
    """Without rows and columns that have no text at all (grid artefacts)."""
    rows = [r for r in rows if any(r)]
    width = max((len(r) for r in rows), default=0)
    keep = [c for c in range(width) if any(c < len(r) and r[c] for r in rows)]
    return [[r[c] if c < len(r) else "" for c in keep] for r in rows]


def _join(words: list[tuple[Any, ...]]) -> str:
    """Words of one cell in reading order (block, line, word number), one space apart."""
    ordered = sorted(words, key=lambda w: (w[5], w[6], w[7]))
    return " ".join(str(w[4]) for w in ordered).strip()


def page_segments(page: Any) -> tuple[list[tuple[float, float, float]],
                                      list[tuple[float, float, float]]]:
    """Drawn horizontal (y, x0, x1) and vertical (x, y0, y1) segments: lines and rect edges."""
    horiz: list[tuple[float, float, float]] = []
    vert: list[tuple[float, float, float]] = []
    for path in page.get_drawings():
        for item in path.get("items", ()):
            kind = item[0]
            if kind == "l":
                p, q = item[1], item[2]
                if abs(p.y - q.y) <= EDGE_TOLERANCE:
                    horiz.append(((p.y + q.y) / 2, min(p.x, q.x), max(p.x, q.x)))
                elif abs(p.x - q.x) <= EDGE_TOLERANCE:
                    vert.append(((p.x + q.x) / 2, min(p.y, q.y), max(p.y, q.y)))
            elif kind == "re":
                r = item[1]
                horiz += [(r.y0, r.x0, r.x1), (r.y1, r.x0, r.x1)]
                vert += [(r.x0, r.y0, r.y1), (r.x1, r.y0, r.y1)]
            elif kind == "qu":
                q = item[1].rect
                horiz += [(q.y0, q.x0, q.x1), (q.y1, q.x0, q.x1)]
                vert += [(q.x0, q.y0, q.y1), (q.x1, q.y0, q.y1)]
    return horiz, vert


Segments = dict[int, list[tuple[float, float, float]]]


def _index(segs: list[tuple[float, float, float]]) -> Segments:
    """Segments bucketed by their rounded position, for lookups within EDGE_TOLERANCE."""
    out: Segments = {}
    for seg in segs:
        out.setdefault(round(seg[0]), []).append(seg)
    return out


def _covered(pos: float, a: float, b: float, segs: Segments) -> float:
    """Length of [a, b] at `pos` covered by segments (overlaps counted once)."""
    near = [seg for k in range(round(pos - EDGE_TOLERANCE), round(pos + EDGE_TOLERANCE) + 1)
            for seg in segs.get(k, ())]
    spans = sorted((max(a, s0), min(b, s1)) for p, s0, s1 in near
                   if abs(p - pos) <= EDGE_TOLERANCE and s1 > a and s0 < b)
    total, end = 0.0, a
    for s0, s1 in spans:
        if s1 <= end:
            continue
        total += s1 - max(s0, end)
        end = s1
    return total


def ruling(table: Any, segments: tuple[list[Any], list[Any]]) -> float:
    """Share of the table's cell-edge length that lies on drawn lines."""
    horiz, vert = _index(segments[0]), _index(segments[1])
    edges_h: set[tuple[float, float, float]] = set()
    edges_v: set[tuple[float, float, float]] = set()
    for row in table.rows:
        for cell in row.cells:
            if cell is None:
                continue
            x0, y0, x1, y1 = (round(v, 1) for v in cell)
            edges_h |= {(y0, x0, x1), (y1, x0, x1)}
            edges_v |= {(x0, y0, y1), (x1, y0, y1)}
    total = sum(b - a for _, a, b in edges_h) + sum(b - a for _, a, b in edges_v)
    if total <= 0:
        return 0.0
    hit = sum(_covered(p, a, b, horiz) for p, a, b in edges_h)
    hit += sum(_covered(p, a, b, vert) for p, a, b in edges_v)
    return min(1.0, hit / total)


def score(rows: list[list[str]], ruled: float,
          containment: float) -> tuple[float, dict[str, float]]:
    """The calibrated confidence (see the module docstring) and its parts."""
    cells = [c for r in rows for c in r]
    fill = sum(bool(c) for c in cells) / len(cells) if cells else 0.0
    counts = [n for n in (sum(bool(c) for c in r) for r in rows) if n]  # non-empty rows
    consistency = 0.0
    if counts:
        _, most = Counter(counts).most_common(1)[0]
        consistency = most / len(counts)
    parts = {"ruling": ruled, "containment": containment, "consistency": consistency,
             "fill": fill}
    value = sum(WEIGHTS[k] * v for k, v in parts.items())
    used_cols = sum(any(c < len(r) and r[c] for r in rows)
                    for c in range(max((len(r) for r in rows), default=0)))
    if len(counts) < 2 or used_cols < 2:
        value *= SMALL_SHAPE_FACTOR
    return round(value, 3), {k: round(v, 3) for k, v in parts.items()}


def page_tables(page: Any, detector: Detector = "lines", text_fallback: bool = False,
                words: list[tuple[Any, ...]] | None = None) -> list[PageTable]:
    """The tables of one page, cells re-read, each with its confidence."""
    method: str = detector
    found = _finder(page, detector)
    if not found and text_fallback:
        method, found = "text", _finder(page, "text")
    if not found:
        return []
    words = _words(page) if words is None else words
    segments = page_segments(page)
    out: list[PageTable] = []
    for table in found:
        rows, containment = read_cells(table, words)
        if not any(any(r) for r in rows):
            continue
        conf, parts = score(rows, ruling(table, segments), containment)
        bbox = tuple(round(float(v), 2) for v in table.bbox)
        out.append(PageTable(page.number + 1, len(out), bbox, rows, conf,  # type: ignore[arg-type]
                             method, parts))
    return out


def pymupdf_default(page: Any) -> list[list[list[str]]]:
    """The baseline: PyMuPDF's default `find_tables()` + `Table.extract()` (None -> "")."""
    return [[[c if c is not None else "" for c in row] for row in t.extract()]
            for t in page.find_tables().tables]


def header_columns(header: list[str]) -> list[str]:
    """Unique, non-empty column names from a header row (blank -> col_N, repeats -> name_2)."""
    out: list[str] = []
    seen: Counter[str] = Counter()
    for i, raw in enumerate(header):
        name = " ".join(str(raw).split()) or f"col_{i}"
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out
