"""The service map, read from the code (never drawn by hand).

    python -m monitoring.servicemap          # writes docs/service-map.md, .dot and .png
    python -m monitoring.servicemap --check  # exit 1 if the committed files are out of date

What it reads:
* services, their ports and databases, processors and their owners: `chassis/local.py`
  (SERVICES, PROCESSORS, `owner()`: a processor writes its owner's database);
* topics: one per folder of `schemas/` (`calories.<aggregate type>`), owned by the service named
  by the aggregate type's first part; the events of a topic are its `.avsc` files;
* which events each service publishes: every `uow.publish(...)` in `apis/<service>/*.py` (AST),
  with the event classes named in its argument, in the local helper it calls, or in the
  enclosing function when the argument is a variable holding a class;
* which processor consumes which topic and which event classes: `processor.subscriptions` of
  every `stream_processors/<name>.py` (imported, not run);
* who calls whom over HTTP: settings fields whose default URL points at another service's port
  (`local.SERVICES[...]`), used by the chassis' HTTP clients (`chassis/web.py` — every API built
  with `create_app` fetches auth's JWKS), plus any httpx/requests call in `apis/` and `chassis/`;
* the order's state machine: `apis.orders.domain.OrderStatus` and `TRANSITIONS`.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from chassis import local

ROOT = local.ROOT
DOCS = ROOT / "docs"
MD, DOT, PNG = DOCS / "service-map.md", DOCS / "service-map.dot", DOCS / "service-map.png"


@dataclass
class Model:
    services: list[str]
    processors: dict[str, str]  # processor -> owning service
    topics: dict[str, list[str]]  # aggregate type -> event names
    publishes: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # service -> events
    consumes: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # processor -> topic -> events
    http: set[tuple[str, str, str]] = field(default_factory=set)  # (caller, callee, what)
    statuses: list[str] = field(default_factory=list)
    terminal: list[str] = field(default_factory=list)
    transitions: list[tuple[str, str, str]] = field(default_factory=list)  # (from, event, to)

    def topic_of(self, event: str) -> str:
        return next(t for t, events in self.topics.items() if event in events)

    def owner_of(self, topic: str) -> str:
        return topic.split(".")[0]


def topic_name(aggregate: str) -> str:
    return f"{local.TOPIC_PREFIX}.{aggregate}"


# ------------------------------------------------------------------------------------ reading

def declaration_order() -> dict[str, int]:
    """Event classes in the order `apis/*/events.py` declare them (the order a reader expects:
    OrderCreated before OrderActivated)."""
    rank: dict[str, int] = {}
    for path in sorted((ROOT / "apis").glob("*/events.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                rank.setdefault(node.name, len(rank))
    return rank


def read_topics() -> dict[str, list[str]]:
    rank = declaration_order()
    return {d.name: sorted((p.stem for p in d.glob("*.avsc")), key=lambda e: (rank.get(e, len(rank)), e))
            for d in sorted((ROOT / "schemas").iterdir()) if d.is_dir() and any(d.glob("*.avsc"))}


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def published_events(path: Path, events: set[str]) -> set[str]:
    """Event classes passed to `uow.publish(...)` in one module (see the module docstring)."""
    tree = ast.parse(path.read_text())
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    found: set[str] = set()
    for func in functions.values():
        for call in ast.walk(func):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "publish" and call.args):
                continue
            arg = call.args[0]
            named = _names(arg) & events
            if not named and isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name):
                helper, params = functions.get(arg.func.id), {a.arg for a in func.args.args}
                if helper:  # a local helper builds the event
                    named = _names(helper) & events
                elif arg.func.id in params:  # the class is an argument: what the callers pass
                    named = {n for c in ast.walk(tree) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
                             and c.func.id == func.name for n in _names(c) & events}
                else:  # a variable of the enclosing function
                    named = _names(func) & events
            found |= named
    return found


def read_publishes(model: Model) -> None:
    events = {e for es in model.topics.values() for e in es}
    for service in model.services:
        for path in sorted((ROOT / "apis" / service).glob("*.py")):
            model.publishes[service] |= published_events(path, events)


def read_consumers(model: Model) -> None:
    # Imported to read their subscriptions, never run; their settings still need an environment.
    os.environ.setdefault("CALORIES_ENVIRONMENT", "development")
    for name in model.processors:
        module = importlib.import_module(f"stream_processors.{name}")
        model.consumes[name] = {topic: [e for e in model.topics[topic] if e in {c.__name__ for c in handlers}]
                                for topic, handlers in sorted(module.processor.subscriptions.items())}


SERVICE_URL = re.compile(r"SERVICES\[['\"](\w+)['\"]\]")


def read_http(model: Model) -> None:
    """Settings URL fields pointing at a service, and the APIs whose chassis uses them."""
    settings_files = [ROOT / "chassis" / "settings.py", *sorted((ROOT / "apis").glob("*/settings.py"))]
    web = (ROOT / "chassis" / "web.py").read_text()
    apps = [s for s in model.services if "create_app(" in (ROOT / "apis" / s / "app.py").read_text()]
    for path in settings_files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                match = SERVICE_URL.search(ast.unparse(node.value))
                if not match:
                    continue
                callee, fieldname = match.group(1), node.target.id
                if path.parent.name == "chassis" and f"settings.{fieldname}" in web:
                    callers = apps  # the chassis builds every API with it
                else:
                    callers = [path.parent.name] if path.parent.name in model.services else []
                what = fieldname.removesuffix("_url").replace("auth_", "").upper()
                for caller in callers:
                    if caller != callee:
                        model.http.add((caller, callee, what))
    # Explicit client calls with a literal service URL in the services' own code.
    for path in sorted((ROOT / "apis").rglob("*.py")):
        text = path.read_text()
        if re.search(r"\b(httpx|requests)\.(get|post|put|patch|delete|Client|AsyncClient)\b", text):
            caller = path.relative_to(ROOT / "apis").parts[0]
            for callee in set(SERVICE_URL.findall(text)) - {caller}:
                model.http.add((caller, callee, "HTTP"))


def read_saga(model: Model) -> None:
    domain = importlib.import_module("apis.orders.domain")
    model.statuses = [s.value for s in domain.OrderStatus]
    model.terminal = sorted(s.value for s in domain.TERMINAL)
    model.transitions = sorted((src.value, cls.__name__, dst.value) for (src, cls), dst in domain.TRANSITIONS.items())


def read_model() -> Model:
    model = Model(services=list(local.SERVICES), processors={p: local.owner(p) for p in local.PROCESSORS},
                  topics=read_topics())
    read_publishes(model)
    read_consumers(model)
    read_http(model)
    read_saga(model)
    return model


# ---------------------------------------------------------------------------------- rendering

def _id(name: str) -> str:
    return re.sub(r"\W", "_", name)


def mermaid_map(m: Model) -> str:
    lines = ["flowchart LR"]
    for s in m.services:
        lines.append(f'  svc_{s}["{s} API :{local.SERVICES[s]}"]')
        lines.append(f'  db_{s}[("{s} db")]')
        lines.append(f"  svc_{s} --- db_{s}")
    for t in m.topics:
        lines.append(f'  t_{_id(t)}{{{{"{topic_name(t)}"}}}}')
    for p, owner in m.processors.items():
        lines.append(f'  p_{p}(["{p} :{local.PROCESSORS[p]}"])')
        lines.append(f"  p_{p} -->|writes| db_{owner}")
    for s in m.services:
        by_topic: dict[str, list[str]] = defaultdict(list)
        for t, events in m.topics.items():
            by_topic[t] = [e for e in events if e in m.publishes[s]]
        by_topic = {t: es for t, es in by_topic.items() if es}
        for t, events in by_topic.items():
            lines.append(f'  svc_{s} -->|"{", ".join(events)}"| t_{_id(t)}')
    for p, topics in m.consumes.items():
        for t, events in topics.items():
            lines.append(f'  t_{_id(t)} -->|"{", ".join(events)}"| p_{p}')
    for caller, callee, what in sorted(m.http):
        lines.append(f"  svc_{caller} -.->|{what}| svc_{callee}")
    return "\n".join(lines)


def dot_map(m: Model) -> str:
    """Graphviz: one box per service holding its API, its database and its processors; topics
    between them."""
    out = ["digraph calories {", "  rankdir=LR; fontname=Helvetica; nodesep=0.2; ranksep=1.0; newrank=true;",
           "  node [fontname=Helvetica, fontsize=10]; edge [fontname=Helvetica, fontsize=8];"]
    for s in m.services:
        out += [f"  subgraph cluster_{s} {{", f'    label="{s}"; style="rounded"; color=gray60;',
                f'    svc_{s} [label="{s} API\n:{local.SERVICES[s]}", shape=box, style=filled, fillcolor="#dbe9f6"];',
                f'    db_{s} [label="{s} db", shape=cylinder, style=filled, fillcolor="#eeeeee"];']
        for p, owner in m.processors.items():
            if owner == s:
                out.append(f'    p_{p} [label="{p}\n:{local.PROCESSORS[p]}", shape=box, style="rounded,filled", '
                           f'fillcolor="#dcf0dc"];')
        out.append("  }")
        out.append(f"  svc_{s} -> db_{s} [arrowhead=none];")
    for t in m.topics:
        out.append(f'  t_{_id(t)} [label="{topic_name(t)}", shape=hexagon, style=filled, fillcolor="#fbe5c8"];')
    for p, owner in m.processors.items():
        out.append(f"  p_{p} -> db_{owner} [style=dashed, color=gray40];")
    for s in m.services:
        for t in m.topics:
            n = sum(e in m.publishes[s] for e in m.topics[t])
            if n:
                out.append(f'  svc_{s} -> t_{_id(t)} [label="{n} event{"s" if n > 1 else ""}"];')
    for p, topics in m.consumes.items():
        for t, events in topics.items():
            n = len(events)
            out.append(f'  t_{_id(t)} -> p_{p} [label="{n} event{"s" if n > 1 else ""}"];')
    for caller, callee, what in sorted(m.http):
        out.append(f'  svc_{caller} -> svc_{callee} [style=dotted, color=blue, label="{what}", constraint=false];')
    out.append("}")
    return "\n".join(out) + "\n"


def saga_sequence(m: Model) -> str:
    """Every publish → subscribe pair among the saga's services (those whose events move the order:
    the topics of TRANSITIONS' events and orders' own topic), topics in breadth-first order from
    orders' topic through "a consumer's owner publishes to" edges."""
    saga_events = {e for _, e, _ in m.transitions}
    saga_topics = {m.topic_of(e) for e in saga_events} | {t for t in m.topics if m.owner_of(t) == "orders"}
    order, queue = [], sorted(t for t in saga_topics if m.owner_of(t) == "orders")
    while queue:
        t = queue.pop(0)
        if t in order:
            continue
        order.append(t)
        for p, topics in m.consumes.items():
            if t in topics:
                queue += sorted(x for x in saga_topics if m.owner_of(x) == m.processors[p] and x not in order)
    participants = ["orders", *sorted({m.owner_of(t) for t in order} - {"orders"})]
    lines = ["sequenceDiagram", *(f"  participant {p}" for p in participants)]
    for t in order:
        publisher = m.owner_of(t)
        lines.append(f"  Note over {publisher}: {topic_name(t)}")
        for e in m.topics[t]:
            if e not in m.publishes[publisher]:
                continue
            consumers = sorted((m.processors[p], p) for p, topics in m.consumes.items()
                               if e in topics.get(t, []) and m.processors[p] in participants)
            for service, p in consumers:
                lines.append(f"  {publisher}->>{service}: {e} ({p})")
    return "\n".join(lines)


def saga_states(m: Model) -> str:
    lines = ["stateDiagram-v2", f"  [*] --> {m.statuses[0]}"]
    for src, event, dst in m.transitions:
        lines.append(f"  {src} --> {dst}: {event}")
    for t in m.terminal:
        lines.append(f"  {t} --> [*]")
    return "\n".join(lines)


def markdown(m: Model) -> str:
    rows = []
    for t, events in m.topics.items():
        consumers = [f"{p} ({', '.join(es)})" for p, topics in m.consumes.items() for tt, es in topics.items()
                     if tt == t]
        rows.append(f"| `{topic_name(t)}` | {m.owner_of(t)} | {', '.join(events)} | "
                    f"{'; '.join(consumers) or '—'} |")
    procs = [f"| {p} | {m.processors[p]} | :{local.PROCESSORS[p]} | "
             f"{', '.join(f'`{topic_name(t)}`' for t in topics) or '—'} |" for p, topics in m.consumes.items()]
    pubs = [f"| {s} | {', '.join(e for es in m.topics.values() for e in es if e in m.publishes[s]) or '—'} |"
            for s in m.services]
    http = [f"| {a} | {b} | {w} |" for a, b, w in sorted(m.http)]
    return f"""# Service map

Generated by `python -m monitoring.servicemap` from the code (`chassis/local.py`, `schemas/`,
`uow.publish(...)` in `apis/`, `processor.subscriptions` in `stream_processors/`, the settings'
service URLs, `apis/orders/domain.py`); never edit by hand. `tests/monitoring/test_servicemap.py`
fails when it is out of date. Picture: [service-map.png](service-map.png) (Graphviz, from
[service-map.dot](service-map.dot)).

Every service owns its database (`<service>` on Postgres) and the topics named after its
aggregates; a processor `<service>_<role>` writes its owning service's database, and what it
publishes goes through that database's outbox (Debezium → `calories.<aggregate type>`).

```mermaid
{mermaid_map(m)}
```

## Topics

| topic | owner | events | consumed by (processor: events) |
|---|---|---|---|
{chr(10).join(rows)}

## Processors

| processor | writes the database of | metrics port | reads |
|---|---|---|---|
{chr(10).join(procs)}

## What each service publishes (`uow.publish`)

| service | events |
|---|---|
{chr(10).join(pubs)}

## HTTP between services

| caller | callee | what |
|---|---|---|
{chr(10).join(http) or "| — | — | — |"}

## The order saga: who tells whom

Each arrow is an event the left service publishes and a processor of the right service consumes
(the processor in brackets); topics in breadth-first order from orders' own topic. A message map
of the choreography, not one run: compensations and the happy path are both listed.

```mermaid
{saga_sequence(m)}
```

## Order statuses (`apis.orders.domain.TRANSITIONS`)

```mermaid
{saga_states(m)}
```
"""


def write(check: bool = False) -> int:
    model = read_model()
    wanted = {MD: markdown(model), DOT: dot_map(model)}
    stale = [p for p, text in wanted.items() if not p.exists() or p.read_text() != text]
    if check:
        for p in stale:
            print(f"{p.relative_to(ROOT)} is out of date: run `python -m monitoring.servicemap`")
        return 1 if stale or not PNG.exists() else 0
    for p, text in wanted.items():
        p.write_text(text)
    dot = shutil.which("dot")
    if dot is None:
        from monitoring.local_stack import ensure_graphviz

        dot = ensure_graphviz()
    subprocess.run([dot, "-Tpng", "-Gdpi=110", str(DOT), "-o", str(PNG)], check=True)
    print(f"wrote {MD.relative_to(ROOT)}, {DOT.relative_to(ROOT)}, {PNG.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(write(check="--check" in sys.argv[1:]))
