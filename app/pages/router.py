"""All HTML page routes, mounted at ``/`` by ``app.main.create_app``."""

from fastapi import APIRouter

from app.pages import (
    officer_account, officer_auth, officer_jobs, officer_models, officer_queue, officer_review, officer_settings, subject,
)

router = APIRouter(include_in_schema=False)
router.include_router(subject.router)
router.include_router(officer_auth.router)
router.include_router(officer_account.router)
router.include_router(officer_queue.router)
router.include_router(officer_review.router)
router.include_router(officer_jobs.router)
router.include_router(officer_models.router)
router.include_router(officer_settings.router)
