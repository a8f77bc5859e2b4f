"""`pii`: find personal data with Presidio and flag, mask, redact, hash, pseudonymize or drop it.

Column strategy: each text column is judged from a sample of its distinct values. Free-text
columns go through spaCy NER in batches (`nlp.pipe`) plus the pattern recognizers; structured
columns get pattern recognizers only, and a column whose sample is one entity type (names,
emails, phones) is confirmed per value with a vectorized shape check instead of per-value
NER. Every distinct value is analysed at most once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.quality.pii_regex import is_text
from datasetgen_assets.steps.registry import (
    Columns,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    check_known,
    register,
)
from datasetgen_resources.pii import ENTITIES, NER_ENTITIES

ActionType = Literal["flag", "mask", "redact", "hash", "pseudonymize", "drop_column"]
SHAPES: dict[str, re.Pattern[str]] = {
    "EMAIL_ADDRESS": re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"),
    "PHONE_NUMBER": re.compile(r"(?=(?:\D*\d){7,20}\D*$)\+?[\d\s().\-x]+"),
    "PERSON": re.compile(r"[A-Za-z][A-Za-z'.\-]*(?: [A-Za-z][A-Za-z'.\-]*){0,4}"),
    "LOCATION": re.compile(r"[A-Za-z][A-Za-z'.\-]*(?: [A-Za-z][A-Za-z'.\-]*){0,4}"),
    "ORGANIZATION": re.compile(r"[A-Za-z0-9&'.,\- ]{2,80}"),
    "US_SSN": re.compile(r"\d{3}-\d{2}-\d{4}"),
    "IP_ADDRESS": re.compile(r"(?:\d{1,3}\.){3}\d{1,3}"),
    "URL": re.compile(r"(?:https?://)?[\w-]+(?:\.[\w-]+)+(?:/\S*)?"),
    "DATE_TIME": re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"),
}
TYPED_SHARE = 0.5  # sample share of one entity that makes a column "typed"
CLEAN_SIGNATURE_SAMPLES = 5  # sampled clean values of one shape that clear that shape


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: ActionType
    keep_last: int = Field(4, ge=0, le=64, description="mask: characters kept at the end.")
    char: str = Field("*", min_length=1, max_length=1, description="mask: the mask character.")


def _action(value: Any) -> Any:
    return {"type": value} if isinstance(value, str) else value


class PiiConfig(StepConfig):
    columns: list[str] | None = Field(None, description="Columns to scan (default: text ones).")
    entities: list[str] = Field(default_factory=lambda: list(ENTITIES),
                                description="Presidio entity types to look for.")
    min_score: float = Field(0.4, ge=0, le=1, description="Lowest Presidio score kept.")
    sample_size: int = Field(200, ge=10, le=10_000, description="Distinct values judged first.")
    batch_size: int = Field(64, ge=1, le=4096, description="Texts per spaCy batch.")
    default_action: Action = Field(default_factory=lambda: Action(type="flag"))
    actions: dict[str, Action] = Field(default_factory=dict,
                                       description="Per ENTITY_TYPE or column name.")
    hash_key_env: str = Field("DATASETGEN_PII_HASH_KEY", description="Env var with the HMAC key.")

    @field_validator("default_action", mode="before")
    @classmethod
    def _default(cls, v: Any) -> Any:
        return _action(v)

    @field_validator("actions", mode="before")
    @classmethod
    def _actions(cls, v: Any) -> Any:
        return {k: _action(a) for k, a in v.items()} if isinstance(v, dict) else v

    @field_validator("entities")
    @classmethod
    def _entities(cls, v: list[str]) -> list[str]:
        bad = [e for e in v if e not in ENTITIES]
        if bad:
            raise ValueError(f"unknown entity types {bad}; known: {', '.join(ENTITIES)}")
        return v

    @field_validator("actions")
    @classmethod
    def _entity_keys(cls, v: dict[str, Action]) -> dict[str, Action]:
        for key, act in v.items():
            if (key.isupper() and "_" in key) or key in ENTITIES:
                if key not in ENTITIES:
                    raise ValueError(f"actions: unknown entity type '{key}'")
                if act.type == "drop_column":
                    raise ValueError(f"actions.{key}: drop_column applies to columns only")
        return v


@dataclass(frozen=True)
class Hit:
    entity: str
    start: int
    end: int
    score: float


def _dedupe(hits: list[Hit]) -> list[Hit]:
    """Drop hits inside a stronger (or longer) hit, e.g. the URL inside an email."""
    kept: list[Hit] = []
    for h in sorted(hits, key=lambda h: (-h.score, -(h.end - h.start), h.start)):
        if not any(k.start <= h.start and h.end <= k.end for k in kept):
            kept.append(h)
    return sorted(kept, key=lambda h: h.start)


def _hits(results: list[Any]) -> list[Hit]:
    return _dedupe([Hit(r.entity_type, r.start, r.end, round(float(r.score), 3))
                    for r in results])


def _from_patterns(result: Any) -> bool:
    """A result of a pattern recognizer (not spaCy NER, which also emits DATE_TIME)."""
    meta = getattr(result, "recognition_metadata", None) or {}
    return meta.get("recognizer_name") != "SpacyRecognizer"


def _signature(values: pd.Series) -> pd.Series:
    return values.str.replace(r"\d+", "9", regex=True).str.replace(r"[^\W\d_]+", "a",
                                                                    regex=True)


def scan_values(values: pd.Series, entities: list[str], min_score: float, sample_size: int,
                batch_size: int) -> tuple[dict[str, list[Hit]], dict[str, Any]]:
    """Findings per distinct value of one column, and how the column was handled."""
    from datasetgen_resources import pii

    distinct = pd.Series(pd.unique(values.astype(str)), dtype=str)
    distinct = distinct[distinct.str.strip() != ""].reset_index(drop=True)
    plan: dict[str, Any] = {"distinct": len(distinct)}
    if distinct.empty:
        return {}, {**plan, "strategy": "empty"}
    sample = distinct.sample(min(sample_size, len(distinct)), random_state=0)
    words = sample.str.split().str.len()
    pattern_entities = [e for e in entities if e not in NER_ENTITIES]
    found: dict[str, list[Hit]] = {}
    if float(words.median()) >= 4 or float(sample.str.len().mean()) >= 40:
        texts = distinct.tolist()
        for text, res in zip(texts, pii.analyze_batch(texts, entities, min_score, batch_size),
                             strict=True):
            if res:
                found[text] = _hits(res)
        return found, {**plan, "strategy": "free_text: NER + patterns on every distinct value"}
    judged = dict(zip(sample.tolist(), pii.analyze_batch(sample.tolist(), entities, min_score,
                                                         batch_size), strict=True))
    whole: dict[str, list[float]] = {}
    for text, res in judged.items():
        size = len(text.strip())
        for r in res:
            if r.end - r.start >= 0.8 * size:
                whole.setdefault(r.entity_type, []).append(float(r.score))
    top = max(whole, key=lambda e: len(whole[e]), default=None)
    rest = distinct
    if top and len(whole[top]) >= TYPED_SHARE * len(sample) and top in SHAPES:
        shaped = distinct.str.strip().str.fullmatch(SHAPES[top].pattern).fillna(False)
        score = round(float(np.median(whole[top])), 3)
        for text in distinct[shaped]:
            found[text] = [Hit(top, len(text) - len(text.lstrip()), len(text.rstrip()), score)]
        rest = distinct[~shaped]
        plan["strategy"] = f"typed column ({top}): shape check, patterns on the rest"
        plan["typed_entity"] = top
    else:
        sig = _signature(distinct)
        sample_sig = sig[sample.index]
        dirty = {s for s, t in zip(sample_sig, sample, strict=True)
                 if any(r.entity_type in pattern_entities and _from_patterns(r)
                        for r in judged[t])}
        counts = sample_sig.value_counts()
        clean = {s for s, n in counts.items() if n >= CLEAN_SIGNATURE_SAMPLES and s not in dirty}
        rest = distinct[~sig.isin(clean)]
        plan["strategy"] = "structured: patterns only"
        plan["skipped_clean_shapes"] = int((sig.isin(clean)).sum())
    for text in rest:
        if text in judged:
            res = [r for r in judged[text] if (r.entity_type in pattern_entities
                                               and _from_patterns(r))
                   or plan.get("typed_entity") == r.entity_type]
        else:
            res = pii.analyze_patterns(text, pattern_entities, min_score)
        if res:
            found[text] = _hits(res)
    plan["scanned_individually"] = len(rest)
    return found, plan


def scan_frame(frame: pd.DataFrame, config: PiiConfig) -> tuple[dict[str, dict[str, list[Hit]]],
                                                               dict[str, Any]]:
    """{column: {distinct value: hits}} and the per-column plans."""
    cols = config.columns or [c for c in frame.columns if is_text(frame[c])]
    hits, plans = {}, {}
    for col in cols:
        if col not in frame.columns:
            raise StepInputError(f"column '{col}' is not in the input",
                                 fix=f"columns are: {', '.join(map(str, frame.columns))}")
        started = time.perf_counter()
        values = frame[col].dropna()
        hits[col], plans[col] = scan_values(values, config.entities, config.min_score,
                                            config.sample_size, config.batch_size)
        plans[col]["seconds"] = round(time.perf_counter() - started, 3)
    return hits, plans


def findings(frame: pd.DataFrame, hits: dict[str, dict[str, list[Hit]]]) -> list[dict[str, Any]]:
    """Every finding: row position, column, entity type, offsets in the cell, score."""
    out = []
    for col, per_value in hits.items():
        if not per_value:
            continue
        text = frame[col].astype(str).where(frame[col].notna())
        for pos in np.flatnonzero(text.isin(list(per_value)).to_numpy()):
            for h in per_value[text.iat[pos]]:
                out.append({"row": int(pos), "column": str(col), "entity_type": h.entity,
                            "start": h.start, "end": h.end, "score": h.score})
    return out


def column_counts(frame: pd.DataFrame, hits: dict[str, dict[str, list[Hit]]]
                  ) -> dict[str, dict[str, int]]:
    """{column: {entity type: cells}} counted over every row (vectorized)."""
    out: dict[str, dict[str, int]] = {}
    for col, per_value in hits.items():
        counts = frame[col].dropna().astype(str).value_counts()
        per: dict[str, int] = {}
        for value, hs in per_value.items():
            n = int(counts.get(value, 0))
            for entity in {h.entity for h in hs}:
                per[entity] = per.get(entity, 0) + n
        if per:
            out[str(col)] = dict(sorted(per.items()))
    return out


class Protector:
    """Applies actions to cell values with Presidio's anonymizer (one call per value)."""

    def __init__(self, config: PiiConfig) -> None:
        self.config = config
        self._key: bytes | None = None
        self._fakes: dict[tuple[str, str], str] = {}

    def key(self) -> bytes:
        if self._key is None:
            raw = os.environ.get(self.config.hash_key_env)
            if not raw:
                raise StepInputError(
                    f"hash and pseudonymize need a key in ${self.config.hash_key_env}",
                    fix=f"export {self.config.hash_key_env}=<a long random secret>")
            self._key = raw.encode()
        return self._key

    def digest(self, text: str) -> str:
        return hmac.new(self.key(), text.encode(), hashlib.sha256).hexdigest()[:16]

    def fake(self, entity: str, text: str) -> str:
        got = self._fakes.get((entity, text))
        if got is None:
            from faker import Faker

            faker = Faker("en_US")
            faker.seed_instance(int(self.digest(entity + "\x00" + text), 16))
            got = {"PERSON": faker.name, "EMAIL_ADDRESS": faker.email,
                   "PHONE_NUMBER": faker.phone_number, "LOCATION": faker.city,
                   "ORGANIZATION": faker.company, "US_SSN": faker.ssn,
                   "CREDIT_CARD": faker.credit_card_number, "IBAN_CODE": faker.iban,
                   "IP_ADDRESS": faker.ipv4, "URL": faker.url,
                   "DATE_TIME": lambda: faker.date_of_birth().isoformat()}.get(
                       entity, lambda: f"<{entity}>")()
            self._fakes[(entity, text)] = got
        return got

    def action(self, column: str, entity: str) -> Action:
        acts = self.config.actions
        return acts.get(column) or acts.get(entity) or self.config.default_action

    def operator(self, act: Action, entity: str) -> Any:
        from presidio_anonymizer.entities import OperatorConfig

        if act.type == "mask":
            keep, char = act.keep_last, act.char
            return OperatorConfig("custom", {"lambda": lambda s: char * max(0, len(s) - keep)
                                             + (s[-keep:] if keep and len(s) > keep else "")})
        if act.type == "redact":
            return OperatorConfig("replace", {"new_value": f"<{entity}>"})
        if act.type == "hash":
            return OperatorConfig("custom", {"lambda": self.digest})
        return OperatorConfig("custom", {"lambda": lambda s: self.fake(entity, s)})

    def protect(self, column: str, text: str, hits: list[Hit]) -> str:
        from presidio_anonymizer.entities import RecognizerResult

        from datasetgen_resources.pii import anonymizer

        todo = [h for h in hits if self.action(column, h.entity).type != "flag"]
        if not todo:
            return text
        results, ops = [], {}
        for i, h in enumerate(todo):  # one operator per span: actions may differ per entity
            label = f"{h.entity}__{i}"
            results.append(RecognizerResult(label, h.start, h.end, h.score))
            ops[label] = self.operator(self.action(column, h.entity), h.entity)
        return anonymizer().anonymize(text, results, ops).text


def protect_frame(frame: pd.DataFrame, hits: dict[str, dict[str, list[Hit]]],
                  config: PiiConfig) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The frame with actions applied; how many cells each column changed."""
    out = frame.copy()
    prot = Protector(config)
    changed: dict[str, Any] = {}
    for col, per_value in hits.items():
        col_act = config.actions.get(col)
        if col_act is not None and col_act.type == "drop_column":
            out = out.drop(columns=[col])
            changed[str(col)] = "dropped"
            continue
        mapping = {v: prot.protect(col, v, hs) for v, hs in per_value.items()}
        mapping = {v: p for v, p in mapping.items() if p != v}
        if not mapping:
            continue
        text = out[col].astype(str).where(out[col].notna())
        hit = text.isin(list(mapping))
        out[col] = out[col].astype(object).where(~hit, text.map(mapping))
        changed[str(col)] = int(hit.sum())
    for col, act in config.actions.items():
        if act.type == "drop_column" and col in out.columns:
            out = out.drop(columns=[col])
            changed[col] = "dropped"
    return out, changed


def run(inputs: list[pd.DataFrame], config: PiiConfig, ctx: StepContext) -> StepResult:
    frame = inputs[0]
    hits, plans = scan_frame(frame, config)
    counts = column_counts(frame, hits)
    out, changed = protect_frame(frame, hits, config)
    flagged = sorted(c for c in counts if c in out.columns)
    ctx.log.info("pii: %d columns with personal data: %s", len(counts),
                 ", ".join(f"{c} {sum(v.values())}" for c, v in counts.items()))
    return StepResult(out, {"pii_columns": flagged, "entities": counts, "changed": changed,
                            "columns": plans, "rows": len(frame)})


def _infer(config: PiiConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    known = inputs[0]
    check_known(config.columns or [], known, "columns")
    named = [k for k in config.actions if k not in ENTITIES]
    check_known(named, known, "actions")
    if known is None:
        return None
    dropped = {k for k, a in config.actions.items() if a.type == "drop_column"}
    return [c for c in known if c not in dropped]


register(StepType(
    name="pii", kind="transform", config_model=PiiConfig, run=run,
    description="Find personal data (Presidio + spaCy) and flag, mask, hash or drop it.",
    kinds=("pandas", "pii"), infer_columns=_infer,
    estimate_rows=lambda c, ins, ctx: ins[0],
))
