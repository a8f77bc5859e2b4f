"""Cell accuracy of extracted tables against ground truth, and ground-truth loaders
(ICDAR 2013 `-str.xml`, camelot-style `gt.json`).

Cell accuracy of one ground-truth table: the share of its non-empty cells whose normalized
text (lower case, no whitespace) is found at the same row and column of an extracted table on
the same page, after the best alignment (the row/column offset that matches most cells; so a
table found with an extra title row or a missing first column is not scored as all wrong).
The best extracted table on the page counts; a table not found scores 0.
"""

from __future__ import annotations

import json
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

Rows = list[list[str]]
Truth = list[dict[str, Any]]  # [{"page": 1, "rows": [[...], ...]}]


def normalize(text: str | None) -> str:
    """Compare cells ignoring case, whitespace and Unicode look-alikes (NFKC; dashes)."""
    s = unicodedata.normalize("NFKC", text or "").lower()
    for dash in ("\u2212", "\u2013", "\u2014", "\u2010", "\u2011"):
        s = s.replace(dash, "-")
    return "".join(s.split())


def matched_cells(truth: Rows, predicted: Rows) -> tuple[int, int]:
    """(ground-truth non-empty cells found at the aligned position, non-empty cells)."""
    want = {(r, c): normalize(v) for r, row in enumerate(truth) for c, v in enumerate(row)}
    want = {k: v for k, v in want.items() if v}
    where: dict[str, list[tuple[int, int]]] = {}
    for r, row in enumerate(predicted):
        for c, v in enumerate(row):
            n = normalize(v)
            if n:
                where.setdefault(n, []).append((r, c))
    votes: Counter[tuple[int, int]] = Counter()
    for (r, c), text in want.items():
        for pr, pc in where.get(text, ()):
            votes[(pr - r, pc - c)] += 1
    best = votes.most_common(1)[0][1] if votes else 0
    return best, len(want)


def table_accuracy(truth: Rows, candidates: list[Rows]) -> float:
    """Cell accuracy of one truth table against the best of `candidates` (0 when none)."""
    _, total = matched_cells(truth, [])
    if total == 0:
        return 1.0
    return max((matched_cells(truth, p)[0] for p in candidates), default=0) / total


def document_accuracy(truth: Truth, found: dict[int, list[Rows]]) -> tuple[int, int]:
    """(matched, total) non-empty truth cells over a document; `found` maps page -> tables."""
    hit = total = 0
    for t in truth:
        cands = found.get(int(t["page"]), [])
        m = max((matched_cells(t["rows"], p)[0] for p in cands), default=0)
        n = matched_cells(t["rows"], [])[1]
        hit, total = hit + m, total + n
    return hit, total


def load_gt_json(path: str | Path) -> Truth:
    """camelot-style ground truth: {"tables": [{"page": 1, "rows": [[...]]}]}."""
    doc = json.loads(Path(path).read_text())
    return [{"page": int(t["page"]), "rows": t["rows"]} for t in doc["tables"]]


def load_icdar(path: str | Path) -> Truth:
    """ICDAR 2013 structure ground truth (`*-str.xml`): one truth table per region and page.

    A cell spanning rows or columns is placed at its start position (the rest stays empty).
    """
    root = ET.parse(str(path)).getroot()  # trusted test data shipped with the project
    out: Truth = []
    for region in root.iter("region"):
        page = int(region.get("page", "1"))
        cells = [(int(c.get("start-row", 0)), int(c.get("start-col", 0)),
                  " ".join((c.findtext("content") or "").split()))
                 for c in region.iter("cell")]
        if not cells:
            continue
        r0 = min(r for r, _, _ in cells)
        c0 = min(c for _, c, _ in cells)
        n_rows = max(r for r, _, _ in cells) - r0 + 1
        n_cols = max(c for _, c, _ in cells) - c0 + 1
        rows: Rows = [[""] * n_cols for _ in range(n_rows)]
        for r, c, text in cells:
            rows[r - r0][c - c0] = text
        out.append({"page": page, "rows": rows})
    return out


def extracted_accuracy(predicted: Rows, truths: list[Rows]) -> float:
    """Share of an extracted table's non-empty cells that sit at the right place in the best
    matching truth table of its page (0 for a table that is not in the truth at all). Used to
    check that confidence means something."""
    _, total = matched_cells(predicted, [])
    if total == 0:
        return 0.0
    return max((matched_cells(predicted, t)[0] for t in truths), default=0) / total
