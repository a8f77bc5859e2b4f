"""The LLM resource: providers, routing and fallback, batching, cache, accounting.

Steps call `client.structured(rows, instruction, output_schema, ...)` and get one validated
answer per row back; see client.py."""

from datasetgen_resources.llm.accounting import PriceTable, Usage
from datasetgen_resources.llm.client import (
    ClientSettings,
    LLMBatchResult,
    LLMBudgetExceeded,
    LLMClient,
)
from datasetgen_resources.llm.providers import PRESETS, ProviderError, ProviderSpec
from datasetgen_resources.llm.resource import LLMResource, ProviderConfig

__all__ = ["PRESETS", "ClientSettings", "LLMBatchResult", "LLMBudgetExceeded", "LLMClient",
           "LLMResource", "PriceTable", "ProviderConfig", "ProviderError", "ProviderSpec",
           "Usage"]
