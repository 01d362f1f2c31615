"""SQLAlchemy models. Import every model here so Alembic and create_all see the whole schema."""

from app.models.audit import HistoryHead
from app.models.case_index import IndexChild, IndexContact
from app.models.contact_drafts import ContactDraft
from app.models.deployments import Deployment, DeploymentFile, ModelFile
from app.models.drafts import Draft, DraftEvent, DraftFile
from app.models.history import HistoryEvent
from app.models.instances import ClosureDay, Contact, OverdueRecord, ProcessInstance, TaskRecord, TimerRecord
from app.models.throttle import ThrottleHit
from app.models.users import ApiToken, User, UserRole, WebSession

__all__ = [
    "ApiToken",
    "ClosureDay",
    "Contact",
    "ContactDraft",
    "Deployment",
    "DeploymentFile",
    "Draft",
    "DraftEvent",
    "DraftFile",
    "HistoryEvent",
    "HistoryHead",
    "IndexChild",
    "IndexContact",
    "ModelFile",
    "OverdueRecord",
    "ProcessInstance",
    "TaskRecord",
    "ThrottleHit",
    "TimerRecord",
    "User",
    "UserRole",
    "WebSession",
]
