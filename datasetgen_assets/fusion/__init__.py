"""Multi-modal fusion: per-modality features (text embeddings, image statistics, tabular
columns) aligned on an entity key and fused early, late, hybrid, hierarchically or with
per-modality attention weights. Pure functions over pandas DataFrames (no Dagster)."""
