"""The DatasetGen REST API (FastAPI): datasets, pipelines, monitoring; JWT auth, RBAC, audit."""
