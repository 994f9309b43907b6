"""All ``/api/v1`` routers, collected in one place."""

from fastapi import APIRouter

from app.api.jobs import router as jobs_router
from app.api.models import router as models_router
from app.audit.router import router as audit_router
from app.core.responses import AUTH_ERRORS
from app.requests.router import router as requests_router

API_PREFIX = "/api/v1"

# Every operation takes an API key: 401 and 403 are documented once, here; each route adds the others it gives.
router = APIRouter(prefix=API_PREFIX, responses=AUTH_ERRORS)
router.include_router(requests_router)
router.include_router(audit_router)
router.include_router(models_router)
router.include_router(jobs_router)
