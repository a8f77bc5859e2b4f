"""API routers: each module exposes `router` (an APIRouter) and is included by `create_app`.
Every route declares a permission with `Depends(require("resource.action"))`, except the few
listed in `PUBLIC_PATHS` of datasetgen_api.app (health probes, metrics, the OpenAPI spec)."""
