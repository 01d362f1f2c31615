"""The host clock for the outer layers (pages show "due in …" against the same clock as the engine)."""
from datetime import datetime

from app.engine.clock import CLOCK


def now() -> datetime:
    return CLOCK.now()
