"""Synthetic data: schema models, constraints and generators (statistical and LLM)."""
