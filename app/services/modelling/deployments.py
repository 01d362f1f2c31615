"""Deploy a model set as a new immutable version (validated first; identical content is a no-op)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

from sqlalchemy import func, select

from app.engine.errors import ModelError
from app.extensions import db
from app.models import Deployment, DeploymentFile, ModelFile, User
from app.services.core import engine_host, history
from app.services.core.errors import Invalid
from app.services.core.events import EventType
from app.services.core.transaction import unit_of_work
from app.services.modelling import model_checks

MODEL_DIRS = ("processes", "dmn", "forms")
MODEL_SUFFIXES = (".bpmn", ".dmn", ".json")


def read_model_dir(root: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for folder in MODEL_DIRS:
        for path in sorted((root / folder).glob("*")):
            if path.is_file() and path.suffix in MODEL_SUFFIXES:
                files[f"{folder}/{path.name}"] = path.read_bytes()
    return files


def stored_file(content: bytes) -> ModelFile:
    """The stored copy of this content (model files are kept once by hash, whatever uses them)."""
    digest = hashlib.sha256(content).hexdigest()
    stored = db.session.execute(select(ModelFile).where(ModelFile.content_hash == digest)).scalar_one_or_none()
    if stored is None:
        stored = ModelFile(content_hash=digest, content=content)
        db.session.add(stored)
        db.session.flush()
    return stored


def latest() -> Deployment | None:
    return engine_host.latest_deployment()


def deploy(
    files: Mapping[str, bytes],
    *,
    actor: User | None = None,
    actor_name: str | None = None,
    note: str | None = None,
    on_deployed: Callable[[Deployment], None] | None = None,
) -> tuple[Deployment, bool]:
    """Returns (deployment, created). Refuses, changing nothing, if any file is invalid (every check
    in app.services.modelling.model_checks). `on_deployed(deployment)` runs inside the same transaction.

    The checks run first, with no transaction open (they evaluate the DMN table tests, which may take
    a while: no lock is held meanwhile, docs/safety.md); the write is one short unit of work after."""
    model_checks.refuse_if_invalid(files)
    try:
        bundle = engine_host.compile_bundle(files)
    except ModelError as err:
        raise Invalid(
            {err.filename: [f"line {err.line}: {err.message}" if err.line else err.message]}, message=str(err)
        ) from None
    current = latest()
    if current is not None and current.bundle_hash == bundle.bundle_hash:
        return current, False
    with unit_of_work():
        version = (db.session.execute(select(func.max(Deployment.version))).scalar() or 0) + 1
        deployment = Deployment(
            version=version,
            bundle_hash=bundle.bundle_hash,
            created_by=actor.username if actor else (actor_name or "system"),
            note=note,
        )
        db.session.add(deployment)
        db.session.flush()
        for path, content in sorted(files.items()):
            db.session.add(
                DeploymentFile(deployment_id=deployment.id, path=path, model_file_id=stored_file(content).id)
            )
        history.record(
            EventType.DEPLOYED,
            actor=actor,
            detail={"version": version, "bundle_hash": bundle.bundle_hash, "files": sorted(files), "note": note},
        )
        if on_deployed is not None:
            on_deployed(deployment)
    engine_host.remember(deployment.id, bundle)
    return deployment, True
