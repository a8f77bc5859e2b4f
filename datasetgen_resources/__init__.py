"""Resources of a DatasetGen deployment, keyed the same in every environment."""

from __future__ import annotations

from typing import Any

from datasetgen_resources.landing import landing_zone_from_env
from datasetgen_resources.llm.resource import LLMResource
from datasetgen_resources.storage import ParquetIOManager, default_data_url


def datasetgen_resources(data_url: str | None = None) -> dict[str, Any]:
    """The resources every pipeline's assets use. Local folders by default; S3 when
    $DATASETGEN_DATA_URL / $DATASETGEN_LANDING_URL are s3:// URLs."""
    return {"io_manager": ParquetIOManager(base_url=data_url or default_data_url()),
            "landing": landing_zone_from_env(),
            "llm": LLMResource()}
