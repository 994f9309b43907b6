"""Register target models, record the versions unlearning makes, and restore a previous version (audited; it
reopens the completed requests whose erasure it undoes).

Model directories and corpora are checked with the checks the engine uses (``modelfiles``: plain file checks,
no torch), so the web process can register a model without loading it and records the weights digest the
engine's evidence will name.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.logging import get_logger
from app.core.security import sha256_hex
from app.jobs.models import Job, JobRequest
from app.jobs.queries import active_unlearning, requests_served_by
from app.requests import service as request_service
from app.requests.statuses import REOPEN_TRANSITIONS
from app.targets.models import ModelVersion, TargetModel
from modelfiles import UnusablePath
from modelfiles.corpus import check_corpus_path
from modelfiles.model_dir import check_model_dir, weights_sha256

if TYPE_CHECKING:
    from app.requests.models import ErasureRequest

log = get_logger(__name__)

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")


def _check_dir(path: str | Path) -> tuple[Path, str]:
    # No "~" expansion: a web caller's "~" is not the server's home, "~user" raised RuntimeError (a 500) for an
    # unknown user, and a message naming the expanded path told the caller where the server's home folder is.
    try:
        model_dir = check_model_dir(Path(path))
        return model_dir.resolve(), weights_sha256(model_dir)
    except UnusablePath as exc:
        raise InvalidInput(str(exc), details={"field": "path"}) from None
    except OSError as exc:
        raise _unusable(exc, "path") from None


def _unusable(exc: OSError, field: str) -> InvalidInput:
    # The file system's reason ("File name too long", "Permission denied"), never the path: it is the caller's input.
    reason = exc.strerror or type(exc).__name__
    return InvalidInput(f"The {field} cannot be used on this file system: {reason}.", details={"field": field})


def _check_corpus(path: str | Path | None) -> str | None:
    if path is None or not str(path).strip():
        return None
    try:
        return str(check_corpus_path(Path(str(path).strip())).resolve())
    except UnusablePath as exc:
        raise InvalidInput(str(exc), details={"field": "corpus"}) from None
    except OSError as exc:
        raise _unusable(exc, "corpus") from None


def add_model(*, session: Session, name: str, path: str | Path, actor: str,
              description: str | None = None, corpus: str | Path | None = None) -> TargetModel:
    """Register a Hugging Face model directory under ``name``; it becomes version 1. ``corpus``: its training data,
    when known (discovery then searches it)."""
    name = (name or "").strip().lower()
    if not _NAME.match(name):
        raise InvalidInput("A model name is 1-80 lower-case letters, digits, '.', '_' or '-', starting with a "
                           "letter or digit.", details={"field": "name"})
    if session.scalar(select(TargetModel.id).where(TargetModel.name == name)):
        raise Conflict(f"A model named {name!r} is already registered.", details={"field": "name"})
    model_dir, sha = _check_dir(path)
    corpus_path = _check_corpus(corpus)
    model = TargetModel(id=str(uuid.uuid4()), name=name, description=(description or "").strip() or None,
                        current_number=1, created_by=actor, corpus_path=corpus_path)
    session.add(model)
    version = ModelVersion(id=str(uuid.uuid4()), target_model=model, number=1, parent_id=None,
                           path=str(model_dir), weights_sha256=sha, origin="registered", created_by=actor)
    session.add(version)
    session.flush()
    audit_service.append(session=session, event="model.registered", actor=actor,
                         details={"model_id": model.id, "name": name, "version": 1, "weights_sha256": sha,
                                  "training_corpus": corpus_path is not None})
    log.info("model.registered", model_id=model.id, actor=actor)
    return model


def list_models(*, session: Session) -> list[TargetModel]:
    return list(session.scalars(select(TargetModel).order_by(TargetModel.name)))


def get_model(*, session: Session, model_id: str) -> TargetModel:
    model = session.get(TargetModel, model_id)
    if model is None:
        raise NotFound("No such model.", details={"model_id": model_id})
    return model


def get_by_name(*, session: Session, name: str) -> TargetModel:
    model = session.scalar(select(TargetModel).where(TargetModel.name == (name or "").strip().lower()))
    if model is None:
        raise NotFound(f"No model named {name!r} is registered.", details={"name": name})
    return model


def find_by_name(*, session: Session, name: str | None) -> TargetModel | None:
    if not name:
        return None
    return session.scalar(select(TargetModel).where(TargetModel.name == name.strip().lower()))


def get_version(*, session: Session, version_id: str) -> ModelVersion:
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound("No such model version.", details={"version_id": version_id})
    return version


def record_version(*, session: Session, model: TargetModel, parent: ModelVersion, path: str | Path,
                   weights_sha256: str, actor: str, job_id: str) -> ModelVersion:
    """A job's verified output becomes the model's new current version (its parent is what it started from)."""
    number = (session.scalar(select(func.max(ModelVersion.number)).where(ModelVersion.target_model_id == model.id))
              or 0) + 1
    version = ModelVersion(id=str(uuid.uuid4()), target_model=model, number=number, parent_id=parent.id,
                           path=str(path), weights_sha256=weights_sha256, origin="unlearned", created_by=actor)
    session.add(version)
    model.current_number = number
    session.flush()
    audit_service.append(session=session, event="model.version_created", actor=actor,
                         details={"model_id": model.id, "version": number, "parent_version": parent.number,
                                  "weights_sha256": weights_sha256, "job_id": job_id})
    return version


def lineage(model: TargetModel, version: ModelVersion) -> set[str]:
    """The ids of ``version`` and of every version it was made from."""
    by_id = {v.id: v for v in model.versions}
    ids: set[str] = set()
    step: ModelVersion | None = version
    while step is not None and step.id not in ids:
        ids.add(step.id)
        step = by_id.get(step.parent_id) if step.parent_id else None
    return ids


def erasures_undone(*, session: Session, model: TargetModel, retired: ModelVersion,
                    restored: ModelVersion) -> list[str]:
    """Ids of the requests whose erasure ``retired`` carries and ``restored`` does not: no version that
    ``restored`` descends from (or is) served them, so once it is in use the model can produce their data again."""
    served = requests_served_by(session=session, version_id=retired.id)
    if not served:
        return []
    kept = lineage(model, restored)
    rows = session.execute(select(JobRequest.request_id, Job.result_version_id).join(Job)
                           .where(JobRequest.request_id.in_(served), Job.result_version_id.is_not(None),
                                  JobRequest.served.is_not(False)))
    still_erased = {request_id for request_id, version_id in rows if version_id in kept}
    return [request_id for request_id in served if request_id not in still_erased]


def undone_by_restore(*, session: Session, model: TargetModel) -> list[str]:
    """What restoring ``model``'s previous version now would undo (for the warning before the officer confirms)."""
    current = model.current
    if current.parent_id is None:
        return []
    parent = get_version(session=session, version_id=current.parent_id)
    return erasures_undone(session=session, model=model, retired=current, restored=parent)


def _no_unlearning_running(session: Session, model: TargetModel) -> None:
    # A running unlearning records its result as a child of the version it started from and makes it current: it
    # would silently put the retired version's erasures (and its fault) back in service after the restore.
    running = active_unlearning(session=session, model_id=model.id)
    if running is not None:
        raise Conflict(f"An unlearning job on {model.name} is queued or running: cancel it or let it finish before "
                       "restoring a previous version.", details={"job_id": running.id})


@dataclass(frozen=True)
class Restored:
    version: ModelVersion  # current again
    retired: ModelVersion
    # Completed requests whose erasure the restore undid, now approved again for the officer to re-run.
    reopened: list[ErasureRequest]


def restore_previous(*, session: Session, model_id: str, actor: str, reason: str) -> Restored:
    """Make the current version's parent current again. Requests whose erasure only the retired version carries
    get their data back into the served model: the restore is audited against each of them, needs a reason, and
    reopens each completed one so that the officer carries the erasure out again before its (unchanged) due date."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("A reason is required to restore a previous version.", details={"field": "reason"})
    model = get_model(session=session, model_id=model_id)
    current = model.current
    if current.parent_id is None:
        raise Conflict(f"{current.label} has no previous version to restore.")
    _no_unlearning_running(session, model)
    parent = get_version(session=session, version_id=current.parent_id)
    undone = [request_service.get_request(session=session, request_id=request_id)
              for request_id in erasures_undone(session=session, model=model, retired=current, restored=parent)]
    to_reopen = [request for request in undone if request.status in REOPEN_TRANSITIONS]
    model.current_number = parent.number
    session.flush()
    details = {"model_id": model.id, "from_version": current.number, "to_version": parent.number,
               "restored_weights_sha256": parent.weights_sha256, "retired_weights_sha256": current.weights_sha256,
               "reason_sha256": sha256_hex(reason)}
    audit_service.append(session=session, event="model.version_restored", actor=actor,
                         details={**details, "reopened_request_ids": [request.id for request in to_reopen]})
    for request in undone:
        audit_service.append(session=session, event="model.erasure_reverted", actor=actor, request_id=request.id,
                             details=details)
        if request in to_reopen:
            request_service.reopen(session=session, request=request, actor=actor, reason="model version restored",
                                   model_id=model.id, retired_version=current.number,
                                   retired_version_id=current.id, restored_version=parent.number,
                                   restored_version_id=parent.id)
    log.info("model.version_restored", model_id=model.id, actor=actor, to_version=parent.number,
             reopened=len(to_reopen))
    return Restored(version=parent, retired=current, reopened=to_reopen)
