"""The runs over many accounts are one span each, with their counts, over the spans of
their calls: a plan, and an apply (each over its fan-out)."""

from __future__ import annotations

from thingspace_callbacks.sandbox import Sandbox
from thingspace_callbacks.state import Listener, State, apply, plan

from .._telemetry import Recorded

ACCOUNTS = ("0252012345-00001", "0252012345-00002", "0252012345-00003")
HOOK = "https://hooks.example.com/location"


async def test_a_plan_and_an_apply_are_one_span_each_with_their_counts(
    recorded: Recorded,
) -> None:
    state = State(listeners=(Listener("location", HOOK, service="Location"),), accounts=ACCOUNTS)
    async with Sandbox().client(telemetry=recorded.telemetry) as client:
        planned = await plan(client, state)
        report = await apply(client, planned)

    assert planned.counts["add"] == 3
    assert report.counts["applied"] == 3
    (planning,) = recorded.named("thingspace plan")
    (applying,) = recorded.named("thingspace apply")
    assert planning.attributes is not None
    assert applying.attributes is not None
    assert planning.attributes["thingspace.plan.reads"] == 3
    assert planning.attributes["thingspace.plan.add"] == 3
    assert planning.attributes["thingspace.plan.unchanged"] == 0
    assert applying.attributes["thingspace.apply.total"] == 3
    assert applying.attributes["thingspace.apply.applied"] == 3
    fan_outs = recorded.named("thingspace fan_out")
    assert {f.parent.span_id for f in fan_outs if f.parent} == {
        planning.context.span_id,
        applying.context.span_id,
    }
    registrations = recorded.named("thingspace location.register")
    assert len(registrations) == 3
    assert {r.context.trace_id for r in registrations} == {applying.context.trace_id}
