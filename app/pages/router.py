"""All HTML page routes, mounted at ``/`` by ``app.main.create_app``."""

from fastapi import APIRouter

router = APIRouter()
