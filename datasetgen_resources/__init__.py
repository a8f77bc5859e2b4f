"""Resources of a DatasetGen deployment, keyed the same in every environment."""

from __future__ import annotations

from typing import Any

from datasetgen_resources.storage import ParquetIOManager, default_data_url


def datasetgen_resources(data_url: str | None = None) -> dict[str, Any]:
    """The resources every pipeline's assets use. Local folders by default; S3 when
    $DATASETGEN_DATA_URL is an s3:// URL."""
    return {"io_manager": ParquetIOManager(base_url=data_url or default_data_url())}
