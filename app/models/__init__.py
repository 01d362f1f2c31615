"""SQLAlchemy models. Import every model here so Alembic and create_all see the whole schema."""
from app.models.users import ApiToken, User, UserRole, WebSession
from app.models.deployments import Deployment, DeploymentFile, ModelFile
from app.models.instances import ClosureDay, Contact, ProcessInstance, TaskRecord, TimerRecord
from app.models.history import HistoryEvent
from app.models.case_index import IndexChild, IndexContact
from app.models.drafts import Draft, DraftEvent, DraftFile
from app.models.audit import HistoryHead
from app.models.throttle import ThrottleHit
from app.models.contact_drafts import ContactDraft

__all__ = [
    "ApiToken", "User", "UserRole", "WebSession", "Deployment", "DeploymentFile", "ModelFile", "Contact",
    "ProcessInstance", "TaskRecord", "TimerRecord", "ClosureDay", "HistoryEvent", "IndexChild", "IndexContact",
    "Draft", "DraftEvent", "DraftFile", "ThrottleHit", "ContactDraft",
]
