"""The host's single evaluator, the per-version bundle cache and runtime construction.

Why here: the engine package knows nothing of the database; this module feeds it the
deployed model files (once per version), the MASH calendar with administrator closure days,
and the host operations that service tasks call.

Live workflows (app/engine/live_workflows.py, issue 17): `restore` continues a case from the workflow this
worker committed last, when that is provably the state just read, and `keep_after_commit` offers a run's
workflow to the cache once its transaction has committed. The engine module's docstring says why two workers
holding one case stay correct.

Features add to every engine run without the code that runs cases knowing them: a module registers
its service operations (`register_operations`) and what it does when a task is completed
(`on_task_completed`) when it is imported; app.create_app imports every such module.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select

from app.engine import live_workflows
from app.engine.calendar import MashCalendar
from app.engine.clock import CLOCK, install_in_spiff
from app.engine.evaluator import RestrictedEvaluator
from app.engine.functions import build_functions
from app.engine.loader import Bundle, build_bundle, bundle_hash, fresh_specs
from app.engine.runtime import FeelDecisionEngine, Runtime
from app.extensions import db
from app.models import ClosureDay, Deployment, ProcessInstance
from app.services.core import transaction
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
    _live.clear()


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


# ---- live workflows (issue 17) ---------------------------------------------------------------------------

LIVE_WORKFLOWS_DEFAULT = 32
_live = live_workflows.LiveWorkflows(LIVE_WORKFLOWS_DEFAULT)


class LiveWorkflowMismatch(RuntimeError):
    """LIVE_WORKFLOWS_VERIFY: a live workflow taken from the cache is not exactly what a restore would give."""


def _live_settings() -> tuple[int, bool]:
    """(cache size, verify) from the app's configuration, the cache resized to it; (0, False) in fresh-bundle
    mode, where every run must restore (each has its own bundle, so no entry could match anyway)."""
    if _fresh_bundles:
        return 0, False
    if not has_app_context():
        return _live.size, False
    config = current_app.config
    size = int(config.get("LIVE_WORKFLOWS", LIVE_WORKFLOWS_DEFAULT))
    if size != _live.size:
        _live.resize(size)
    return size, bool(config.get("LIVE_WORKFLOWS_VERIFY"))


def restore(runtime: Runtime, instance: ProcessInstance) -> Any:
    """The case's workflow for this run: the live one this worker committed last when it is exactly the state
    just read from the database (and built on this run's bundle object), else restored from that state."""
    size, verify = _live_settings()
    state = instance.state
    workflow = _live.take(instance.id, runtime.bundle, state) if size else None
    if workflow is None:
        return runtime.restore(instance.process_id, state)
    live_workflows.as_restored(workflow)
    workflow.script_engine = runtime.script_engine  # this run's engine (its log, its operations), as restore binds
    if verify:
        _verify(runtime, instance, workflow)
    return workflow


def _verify(runtime: Runtime, instance: ProcessInstance, workflow: Any) -> None:
    if runtime.dump(workflow) != instance.state:
        raise LiveWorkflowMismatch(f"case {instance.id}: the live workflow is not the committed state")
    restored = runtime.restore(instance.process_id, instance.state)
    found = live_workflows.differences(workflow, restored)
    if found:
        raise LiveWorkflowMismatch(f"case {instance.id}: the live workflow differs from a restore in {found[:5]}")


def keep_after_commit(instance: ProcessInstance, runtime: Runtime, workflow: Any) -> None:
    """Offer the run's workflow to this worker's cache once the current transaction has committed, with the
    state text just dumped into `instance.state` (nothing may change the workflow after that dump). A rollback
    drops the offer (app/services/core/transaction.py)."""
    if not _live_settings()[0]:
        return
    instance_id, bundle, state = instance.id, runtime.bundle, instance.state
    transaction.after_commit(lambda: _live.keep(instance_id, bundle, state, workflow))


def live_cache() -> live_workflows.LiveWorkflows:
    """This worker's cache (tests, benchmarks)."""
    return _live


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
