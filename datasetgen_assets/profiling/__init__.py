"""Schema and format inference, PII flags, keys and relationships: the profile other steps
read instead of re-inferring types.

    profile = profile_frame(df, name="orders")            # DatasetProfile
    doc = profile.to_json_schema()                         # JSON Schema + the full profile
    same = DatasetProfile.from_json_schema(doc)            # round trip
    typed = coerce_to_profile(df, profile)                 # columns in their profiled types
    profiles = profile_datasets({"orders": o, "customers": c})   # with foreign keys
    saved = load_profile(profile_url("shop", "orders_profile"))  # what a profile step wrote
"""

from datasetgen_assets.profiling.coerce import coerce_series, coerce_to_profile
from datasetgen_assets.profiling.core import profile_datasets, profile_frame
from datasetgen_assets.profiling.options import DEFAULT_NULL_TOKENS, ProfileOptions
from datasetgen_assets.profiling.report import column_schema, markdown
from datasetgen_assets.profiling.schema import (
    SEMANTIC_TYPES,
    ColumnProfile,
    DatasetProfile,
    ForeignKey,
    Issue,
    NumericStats,
    TopValue,
)
from datasetgen_assets.profiling.store import load_profile, profile_url, save_profile

__all__ = [
    "DEFAULT_NULL_TOKENS",
    "SEMANTIC_TYPES",
    "ColumnProfile",
    "DatasetProfile",
    "ForeignKey",
    "Issue",
    "NumericStats",
    "ProfileOptions",
    "TopValue",
    "coerce_series",
    "coerce_to_profile",
    "column_schema",
    "load_profile",
    "markdown",
    "profile_datasets",
    "profile_frame",
    "profile_url",
    "save_profile",
]
