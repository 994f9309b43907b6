"""Import every model module so ``Base.metadata`` is complete (for Alembic and mapper configuration)."""

from app.apikeys import models as apikeys_models
from app.audit import models as audit_models
from app.jobs import models as jobs_models
from app.core.db import Base
from app.idempotency import models as idempotency_models
from app.notifications import models as notifications_models
from app.officers import models as officers_models
from app.requests import models as requests_models
from app.settings import models as settings_models
from app.targets import models as targets_models

__all__ = ["Base", "apikeys_models", "audit_models", "idempotency_models", "jobs_models", "notifications_models", "officers_models",
           "requests_models", "settings_models", "targets_models"]
