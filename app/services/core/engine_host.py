"""The host's single evaluator, the per-version bundle cache and runtime construction.

Why here: the engine package knows nothing of the database; this module feeds it the
deployed model files (once per version), the MASH calendar with administrator closure days,
and the host operations that service tasks call.

Features add to every engine run without the code that runs cases knowing them: a module registers
its service operations (`register_operations`) and what it does when a task is completed
(`on_task_completed`) when it is imported; app.create_app imports every such module.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select

from app.engine.calendar import MashCalendar
from app.engine.clock import CLOCK, install_in_spiff
from app.engine.evaluator import RestrictedEvaluator
from app.engine.functions import build_functions
from app.engine.loader import Bundle, build_bundle, bundle_hash, fresh_specs
from app.engine.runtime import FeelDecisionEngine, Runtime
from app.extensions import db
from app.models import ClosureDay, Deployment
from app.services.core.roles import ROLES

_lock = threading.Lock()
_bundles: dict[int, Bundle] = {}
_by_hash: dict[str, Bundle] = {}
_evaluator: RestrictedEvaluator | None = None


_evaluator_built_at = 0.0
_fresh_bundles = False
CALENDAR_REFRESH_SECONDS = 60  # other workers pick up a new closure day within a minute


def _closure_days() -> list:
    try:
        return list(db.session.execute(select(ClosureDay.day)).scalars())
    except Exception:  # no app context or table yet (engine-only use, before migrations)
        return []


def evaluator() -> RestrictedEvaluator:
    """The one evaluator, with the MASH calendar (bank holidays + administrator closure days)."""
    global _evaluator, _evaluator_built_at
    if _evaluator is None or time.monotonic() - _evaluator_built_at > CALENDAR_REFRESH_SECONDS:
        install_in_spiff()
        _evaluator = RestrictedEvaluator(build_functions(CLOCK.now, MashCalendar(_closure_days())))
        _evaluator_built_at = time.monotonic()
    return _evaluator


def calendar_changed() -> None:
    global _evaluator
    _evaluator = None


# Bundles the model checks built (app.services.modelling.model_checks), by content hash: deploying the
# files just checked takes that bundle instead of parsing them again. Every valid draft save makes one,
# so only the newest few are kept.
_checked: dict[str, Bundle] = {}
_checked_lock = threading.Lock()
CHECKED_BUNDLES_KEPT = 8


def remember_compiled(bundle: Bundle) -> None:
    """A bundle the model checks built and found valid, for a deployment of the same files."""
    with _checked_lock:
        _checked.pop(bundle.bundle_hash, None)
        _checked[bundle.bundle_hash] = bundle
        while len(_checked) > CHECKED_BUNDLES_KEPT:
            del _checked[next(iter(_checked))]


def compile_bundle(files: Mapping[str, bytes]) -> Bundle:
    """Validate a model set exactly as a deployment would (raises ModelError)."""
    digest = bundle_hash(files)
    bundle = _by_hash.get(digest)
    if bundle is None:
        with _checked_lock:
            bundle = _checked.pop(digest, None)
        if bundle is not None:
            _by_hash[digest] = bundle
            return bundle
        ev = evaluator()
        bundle = build_bundle(files, check_expression=ev.check, engine_factory=FeelDecisionEngine, known_roles=ROLES)
        _by_hash[digest] = bundle
    return bundle


def bundle_for(deployment_id: int) -> Bundle:
    bundle = _bundles.get(deployment_id)
    if bundle is None:
        with _lock:
            bundle = _bundles.get(deployment_id)
            if bundle is None:
                deployment = db.session.get_one(Deployment, deployment_id)
                files = {f.path: f.model_file.content for f in deployment.files}
                bundle = _bundles[deployment_id] = compile_bundle(files)
    return bundle


def latest_deployment() -> Deployment | None:
    """The newest deployed version (None before the first deployment)."""
    return db.session.execute(select(Deployment).order_by(Deployment.version.desc()).limit(1)).scalar_one_or_none()


def remember(deployment_id: int, bundle: Bundle) -> None:
    _bundles[deployment_id] = bundle


def forget_all() -> None:
    """Drop every cached bundle and the evaluator: what a restarted worker (or a fresh test database,
    whose deployment ids restart) has. Bundles validated once stay known by their content hash."""
    global _evaluator
    _bundles.clear()
    _evaluator = None


def use_fresh_bundles(enabled: bool) -> None:
    """Test mode (`MASH_FRESH_BUNDLES=1`): every engine run restores its case on spec objects parsed
    afresh from the stored sources, as another worker or a restarted server would. Whatever SpiffWorkflow
    keeps only on live objects then fails a journey at once instead of one case in a hundred in production."""
    global _fresh_bundles
    _fresh_bundles = enabled


def runtime(deployment_id: int, operations: Mapping[str, Callable[..., Any]] | None = None) -> Runtime:
    bundle = bundle_for(deployment_id)
    if _fresh_bundles:
        bundle = fresh_specs(bundle, FeelDecisionEngine, ROLES)
    return Runtime(bundle, evaluator(), operations)


# ---- what features add to every run (registered at import: cases never imports the feature) ------------

_operations: dict[str, Callable[..., Any]] = {}
_task_completed: list[Callable[..., None]] = []


def register_operations(operations: Mapping[str, Callable[..., Any]]) -> None:
    """Service operations (`mash:operation` name → callable) that every run may call, e.g.
    `audit_sampling.draw`. A name is owned by one module: registering another callable under it fails."""
    for name, operation in operations.items():
        if _operations.setdefault(name, operation) is not operation:
            raise ValueError(f"The service operation {name} is already registered")


def registered_operations() -> dict[str, Callable[..., Any]]:
    """Every registered service operation (the per-run ones are added by app.services.cases.runs)."""
    return dict(_operations)


def on_task_completed(listener: Callable[..., None]) -> Callable[..., None]:
    """Call `listener(user, task, engine_data, submitted)` whenever a person completes a task, inside the
    completing transaction, after the task's `task_completed` event (e.g. audit_sampling.record_finding)."""
    if listener not in _task_completed:
        _task_completed.append(listener)
    return listener


def task_completed(user: Any, task: Any, engine_data: dict, submitted: dict) -> None:
    for listener in _task_completed:
        listener(user, task, engine_data, submitted)
