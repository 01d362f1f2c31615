"""What the read-only case diagram shows: the deployed BPMN the case ran on, and where the case has been.

Why from history and the task projection rather than the engine state: history already records
every step a person or a rule took (task completed, decision evaluated, route taken, timer fired),
and the task/timer rows say what is waiting now. Steps the host does not record (script and
service tasks, plain events, parallel gateways) are filled in from the diagram: an unrecorded
element counts as passed when it lies on a chain of unrecorded elements between two passed ones.

Only ids, names and states leave this module — never case data.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from app.engine.errors import ModelError
from app.engine.xml import parse_model_xml
from app.extensions import db
from app.models import Deployment, ProcessInstance, TaskRecord, TimerRecord, User
from app.services.access import access
from app.services.cases import case_view
from app.services.core import history
from app.services.core.clock import now as clock_now
from app.services.core.errors import NotFound
from app.services.core.events import EventType
from app.services.core.states import InstanceStatus, TaskState, TimerState
from app.services.core.transaction import unit_of_work

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_Q = f"{{{BPMN}}}"
# History events that mean "this element was passed" (their bpmn_id).
PASSED_EVENTS = frozenset(
    {
        EventType.TASK_COMPLETED,
        EventType.DECISION_EVALUATED,
        EventType.ROUTE_TAKEN,
        EventType.TIMER_FIRED,
        EventType.MESSAGE_SENT,
    }
)
# Element kinds whose passage the host records; any other flow node is inferred from the diagram.
RECORDED_KINDS = frozenset(
    {"userTask", "businessRuleTask", "exclusiveGateway", "inclusiveGateway", "boundaryEvent", "intermediateCatchEvent"}
)
FLOW_NODE_KINDS = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
        "callActivity",
        "subProcess",
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "exclusiveGateway",
        "inclusiveGateway",
        "parallelGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)


@dataclass
class _Graph:
    kinds: dict[str, str] = field(default_factory=dict)  # flow node id -> local tag
    names: dict[str, str] = field(default_factory=dict)
    flows: dict[str, tuple[str, str]] = field(default_factory=dict)  # flow id -> (source, target)
    outgoing: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    incoming: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    attached: dict[str, str] = field(default_factory=dict)  # boundary event -> host activity
    called: dict[str, str] = field(default_factory=dict)  # call activity -> called process id


def _bpmn_files(deployment: Deployment) -> dict[str, bytes]:
    return {f.path: f.model_file.content for f in deployment.files if f.path.endswith(".bpmn")}


def _find_process(files: dict[str, bytes], process_id: str):
    """(file path, parsed tree, the <process> element) of the deployed file that defines process_id."""
    for path, content in sorted(files.items()):
        if f'id="{process_id}"'.encode() not in content:
            continue
        try:
            tree = parse_model_xml(content, path)
        except ModelError:
            continue
        for process in tree.getroot().iter(_Q + "process"):
            if process.get("id") == process_id:
                return path, content, process
    return None


def _graph(process) -> _Graph:
    graph = _Graph()
    for el in process.iter():
        if not isinstance(el.tag, str) or not el.tag.startswith(_Q):
            continue
        kind = el.tag[len(_Q) :]
        ident = el.get("id")
        if not ident:
            continue
        if kind in FLOW_NODE_KINDS:
            graph.kinds[ident] = kind
            graph.names[ident] = el.get("name") or ident
            if kind == "boundaryEvent" and el.get("attachedToRef"):
                graph.attached[ident] = el.get("attachedToRef")
            if kind == "callActivity" and el.get("calledElement"):
                graph.called[ident] = el.get("calledElement")
        elif kind == "sequenceFlow":
            source, target = el.get("sourceRef"), el.get("targetRef")
            graph.flows[ident] = (source, target)
            graph.outgoing[source].append(ident)
            graph.incoming[target].append(ident)
    return graph


def _silent(graph: _Graph) -> set[str]:
    """Elements whose passage history does not record: all but user/rule tasks, splits and caught events."""
    return {
        i
        for i, k in graph.kinds.items()
        if k not in RECORDED_KINDS or (k.endswith("Gateway") and len(graph.outgoing.get(i, [])) < 2)
    }


def _fill_silent(graph: _Graph, seen: set[str], finished: bool, routes: dict[str, set[str]]) -> set[str]:
    """Unrecorded elements on a chain of unrecorded elements from a passed element to a passed one
    (leaving a split only by the branches history says it chose)."""
    silent = _silent(graph)
    forward: set[str] = set()
    frontier = list(seen)
    while frontier:
        node = frontier.pop()
        chosen = routes.get(node)
        for flow in graph.outgoing.get(node, []):
            target = graph.flows[flow][1]
            if chosen and target not in chosen and graph.names.get(target) not in chosen:
                continue
            if target in silent and target not in forward and target not in seen:
                forward.add(target)
                frontier.append(target)
    backward: set[str] = set()
    frontier = list(seen)
    if finished:  # a closed case reached its end events
        frontier += [i for i in forward if graph.kinds.get(i) == "endEvent"]
        backward |= {i for i in forward if graph.kinds.get(i) == "endEvent"}
    while frontier:
        node = frontier.pop()
        for flow in graph.incoming.get(node, []):
            source = graph.flows[flow][0]
            if source in silent and source not in backward and source not in seen:
                backward.add(source)
                frontier.append(source)
    return forward & backward


def _flows_taken(graph: _Graph, passed: set[str], reached: set[str], routes: dict[str, set[str]]) -> list[str]:
    taken = []
    for flow, (source, target) in graph.flows.items():
        if source not in passed or target not in reached:
            continue
        chosen = routes.get(source)
        if chosen and target not in chosen and graph.names.get(target) not in chosen:
            continue
        taken.append(flow)
    return sorted(taken)


def _require_called(files: dict[str, bytes], case_process_id: str, process_id: str) -> None:
    """NotFound unless the case's own process calls `process_id` (a call activity)."""
    main = _find_process(files, case_process_id)
    callers = set(_graph(main[2]).called.values()) if main else set()
    if process_id not in callers:
        raise NotFound("This case does not call that process")


def _routes_taken(events: list, known: set[str]) -> dict[str, set[str]]:
    """For each split the case passed: the targets history says it chose."""
    routes: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.type == EventType.ROUTE_TAKEN and e.bpmn_id in known:
            routes[e.bpmn_id] |= set((e.detail or {}).get("to") or [])
    return routes


def _chosen_targets(graph: _Graph, routes: dict[str, set[str]]) -> set[str]:
    """A split's chosen silent targets were entered (history names them by name, or by id when unnamed)."""
    silent = _silent(graph)
    entered: set[str] = set()
    for gateway, chosen in routes.items():
        for flow in graph.outgoing.get(gateway, []):
            target = graph.flows[flow][1]
            if target in silent and (target in chosen or graph.names.get(target) in chosen):
                entered.add(target)
    return entered


def _mark_calls(
    graph: _Graph, files: dict[str, bytes], events: list, tasks: list, completed: set[str], active: set[str]
) -> None:
    """A call activity is active while a task of the called process is ready, completed once any step ran."""
    for call, called in graph.called.items():
        called_found = _find_process(files, called)
        if called_found is None:
            continue
        inner = set(_graph(called_found[2]).kinds)
        step_ids = {e.bpmn_id for e in events if e.bpmn_id in inner}
        step_ids |= {t.bpmn_id for t in tasks if t.bpmn_id in inner}
        if {t.bpmn_id for t in tasks if t.state == TaskState.READY and t.bpmn_id in inner}:
            active.add(call)
        elif step_ids:
            completed.add(call)


def diagram(user: User, instance_id: int, process_id: str | None = None) -> dict:
    """The diagram of the version the case runs on, with its completed, active and overdue elements.

    Raises NotFound (as the case page does) when the user may not see the case. `process_id` picks a
    process called from the case's diagram (a call activity), drawn with the same case's steps.
    """
    instance = case_view.get_instance(user, instance_id)  # the case page's access rule; denials recorded there
    deployment = db.session.get_one(Deployment, instance.deployment_id)
    files = _bpmn_files(deployment)
    wanted = process_id or instance.process_id
    found = _find_process(files, wanted)
    if found is None:
        raise NotFound("No diagram for this process in the case's version")
    path, content, process = found
    graph = _graph(process)
    if process_id and process_id != instance.process_id:
        _require_called(files, instance.process_id, process_id)

    tasks = list(db.session.execute(select(TaskRecord).where(TaskRecord.instance_id == instance.id)).scalars())
    timers = list(db.session.execute(select(TimerRecord).where(TimerRecord.instance_id == instance.id)).scalars())
    events = history.for_instance(instance.id)
    now = clock_now()
    known = set(graph.kinds)

    completed = {e.bpmn_id for e in events if e.type in PASSED_EVENTS and e.bpmn_id in known}
    completed |= {t.bpmn_id for t in tasks if t.state == TaskState.COMPLETED and t.bpmn_id in known}
    completed |= {t.bpmn_id for t in timers if t.state == TimerState.FIRED and t.bpmn_id in known}
    routes = _routes_taken(events, known)
    completed |= _chosen_targets(graph, routes)
    ready = [t for t in tasks if t.state == TaskState.READY and t.bpmn_id in known]
    active = {t.bpmn_id for t in ready}
    active |= {t.bpmn_id for t in timers if t.state == TimerState.WAITING and t.bpmn_id in known}
    overdue = {t.bpmn_id for t in ready if t.due_at is not None and t.due_at < now}

    # Boundary timers fire on their host activity: the activity was reached.
    completed |= {host for b in completed | active if (host := graph.attached.get(b)) and host not in active}
    # A called process with any step of this case in it was entered.
    children = list(
        db.session.execute(
            select(ProcessInstance)
            .where(ProcessInstance.parent_instance_id == instance.id)
            .order_by(ProcessInstance.id)
        ).scalars()
    )
    _mark_calls(graph, files, events, tasks, completed, active)

    if completed | active:  # the case went in through this process's start event
        completed |= {
            i
            for i, k in graph.kinds.items()
            if k == "startEvent" and i not in graph.attached and not graph.incoming.get(i)
        }
    seen = completed | active
    completed |= _fill_silent(graph, seen, instance.status == InstanceStatus.COMPLETED, routes)
    completed -= active
    flows = _flows_taken(graph, completed, completed | active, routes)

    with unit_of_work():
        history.record(
            EventType.INSTANCE_VIEWED,
            instance_id=instance.id,
            actor=user,
            detail={"page": "diagram", "process_id": wanted},
        )
    return {
        "instance_id": instance.id,
        "process_id": wanted,
        "process_name": process.get("name") or wanted.replace("_", " "),
        "case_process_id": instance.process_id,
        "version": deployment.version,
        "file": path,
        "xml": content.decode("utf-8"),
        "completed": sorted(completed),
        "active": sorted(active),
        "overdue": sorted(overdue),
        "flows": flows,
        "names": {i: graph.names[i] for i in sorted(completed | active) if i in graph.names},
        # For the text list: tasks, called processes and events the case passed or waits on, in diagram order.
        "steps": [
            {
                "id": i,
                "name": graph.names[i],
                "kind": k,
                "state": "overdue" if i in overdue else "active" if i in active else "completed",
            }
            for i, k in graph.kinds.items()
            if (i in completed or i in active)
            and not k.endswith("Gateway")
            and (graph.names[i] != i or k.endswith("Task"))
        ],
        "called": [
            {
                "element_id": call,
                "element_name": graph.names.get(call, call),
                "process_id": called,
                "deployed": _find_process(files, called) is not None,
            }
            for call, called in sorted(graph.called.items())
        ],
        "children": [
            {"instance_id": c.id, "process_id": c.process_id, "status": c.status}
            for c in children
            if cases_may_view(user, c)
        ],
    }


def cases_may_view(user: User, instance: ProcessInstance) -> bool:
    return access.may_view(user, instance)
