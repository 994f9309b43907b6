"""``/api/v1/models``: the target models registry (scopes models:read, models:write)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from app.api.errors import actor
from app.api.schemas import ModelCreate, ModelDetail, ModelRead, ModelRestored, ReopenedRequest, RestoreBody
from app.api.views import model_detail, model_read
from app.apikeys.models import ApiKey
from app.core.deps import AuthFirstRoute, SessionDep, SettingsDep, require_scope
from app.core.errors import NotFound
from app.core.fields import path_id
from app.core.responses import ITEM_ERRORS, WRITE_ERRORS, error_responses
from app.idempotency.service import IdempotencyKey, idempotent
from app.targets import service as target_service
from app.targets.models import TargetModel

router = APIRouter(prefix="/models", tags=["models"], route_class=AuthFirstRoute)

Reader = Annotated[ApiKey, Depends(require_scope("models:read"))]
Writer = Annotated[ApiKey, Depends(require_scope("models:write"))]
ModelId = path_id("The model's id, or its name.")


def _model(session: SessionDep, model_id: str) -> TargetModel:
    """By id, or by name (tools usually know the name)."""
    try:
        return target_service.get_model(session=session, model_id=model_id)
    except NotFound:
        return target_service.get_by_name(session=session, name=model_id)


@router.get("", operation_id="listModels", response_model=list[ModelRead],
            summary="List the registered target models")
def list_models(session: SessionDep, key: Reader) -> list[ModelRead]:
    return [model_read(m) for m in target_service.list_models(session=session)]


@router.post("", operation_id="registerModel", status_code=status.HTTP_201_CREATED, response_model=ModelDetail,
             responses=error_responses(400, 409, 422),
             summary="Register a Hugging Face model directory (it becomes version 1; weights hashed, not loaded)")
def register_model(body: ModelCreate, session: SessionDep, settings: SettingsDep, key: Writer,
                   idempotency_key: IdempotencyKey = None) -> ModelDetail:
    def register() -> ModelDetail:
        model = target_service.add_model(session=session, name=body.name, path=body.path, actor=actor(key),
                                         description=body.description, corpus=body.corpus)
        return model_detail(model, session)

    return idempotent(session=session, settings=settings, caller=actor(key), operation="registerModel",
                      key=idempotency_key, body=body, status_code=status.HTTP_201_CREATED, produce=register)


@router.get("/{model_id}", operation_id="getModel", response_model=ModelDetail, responses=ITEM_ERRORS,
            summary="One model (by id or name) with its versions")
def get_model(model_id: ModelId, session: SessionDep, key: Reader) -> ModelDetail:
    return model_detail(_model(session, model_id), session)


@router.post("/{model_id}/restore", operation_id="restoreModel", response_model=ModelRestored,
             responses=WRITE_ERRORS,
             summary="Make the current version's parent current again (audited on each request it served; the "
                     "completed requests whose erasure it undoes are reopened)")
def restore_model(model_id: ModelId, body: RestoreBody, session: SessionDep, key: Writer) -> ModelRestored:
    model = _model(session, model_id)
    restored = target_service.restore_previous(session=session, model_id=model.id, actor=actor(key),
                                               reason=body.reason)
    reopened = [ReopenedRequest(id=r.id, reference=r.reference) for r in restored.reopened]
    return ModelRestored(**model_detail(model, session).model_dump(), reopened_requests=reopened)
