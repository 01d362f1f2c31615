"""The host's single evaluator, the per-version bundle cache and runtime construction.

Why here: the engine package knows nothing of the database; this module feeds it the
deployed model files (once per version), the MASH calendar with administrator closure days,
and the host operations that service tasks call.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Mapping

from app.engine.calendar import MashCalendar
from app.engine.clock import CLOCK, install_in_spiff
from app.engine.evaluator import RestrictedEvaluator
from app.engine.functions import build_functions
from app.engine.loader import Bundle, build_bundle, bundle_hash, fresh_specs
from app.engine.runtime import FeelDecisionEngine, Runtime
from app.extensions import db
from app.models import Deployment
from app.services.roles import ROLES

_lock = threading.Lock()
_bundles: dict[int, Bundle] = {}
_by_hash: dict[str, Bundle] = {}
_evaluator: RestrictedEvaluator | None = None


_evaluator_built_at = 0.0
_fresh_bundles = False
CALENDAR_REFRESH_SECONDS = 60  # other workers pick up a new closure day within a minute


def _closure_days() -> list:
    from sqlalchemy import select

    from app.models import ClosureDay
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


def compile_bundle(files: Mapping[str, bytes]) -> Bundle:
    """Validate a model set exactly as a deployment would (raises ModelError)."""
    digest = bundle_hash(files)
    bundle = _by_hash.get(digest)
    if bundle is None:
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
                deployment = db.session.get(Deployment, deployment_id)
                files = {f.path: f.model_file.content for f in deployment.files}
                bundle = _bundles[deployment_id] = compile_bundle(files)
    return bundle


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
