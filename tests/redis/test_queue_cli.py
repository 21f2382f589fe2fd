"""``bulk --queue`` and ``worker`` as real processes, with the sandbox on a socket and a real
``redis-server``: a worker killed mid-run, Ctrl-C and ``--resume``, Redis restarted
empty mid-run, and what the command refuses."""

from __future__ import annotations

import contextlib
import json
import re
import time
from contextlib import closing
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from arq.jobs import deserialize_job, deserialize_result
from click.testing import CliRunner

from thingspace_callbacks.cli import main
from thingspace_callbacks.redis._jobs import deserialize
from thingspace_callbacks.sandbox import Faults

from ._queue_support import (
    BulkProcess,
    WorkerProcess,
    accounts_file,
    environment,
    lines,
    one_ok_line_per_account,
    register_args,
    start_workers,
    wait_until,
)
from .conftest import RedisServer, SandboxOnSocket

pytestmark = pytest.mark.integration

BAR = re.compile(r"(\d+)/(\d+) (\d+) failed (\d+) cancelled")

FAST = ("--job-timeout", "5", "-c", "50")
"""Workers whose dead jobs are taken up 15 s after they started (arq: timeout + 10 s);
the first calls of a worker wait for the fleet's login, so not much shorter."""

CHUNKS = ("--chunk-size", "25")
"""Jobs of 25 accounts: a worker of 50 runs two at once, and a run of 600 accounts is
24 jobs, so whatever happens mid-run lands mid-job."""

UNHURRIED = Faults(latency=(0.1, 0.3))
"""Calls slow enough (0.2 s on average: a worker of 50 runs some 250 a second) that a run
of 600 accounts lasts seconds however fast the machine: what a test does to it mid-run
lands while jobs are still queued. More accounts would only cost CPU time."""


def tries(url: str, job_ids: set[str] | None = None) -> list[int]:
    """How many times arq started each of ``job_ids`` (each must have a result by now),
    or each job whose result it keeps."""
    with closing(redis.Redis.from_url(url)) as client:
        if job_ids is None:
            keys = list(client.scan_iter("arq:result:*", count=1000))
        else:
            keys = [f"arq:result:{job}" for job in job_ids]
        values = cast("list[bytes | None]", client.mget(keys))
    assert None not in values, "a job has no result"
    return [
        deserialize_result(value, deserializer=deserialize).job_try
        for value in values
        if value is not None
    ]


def in_progress(url: str) -> set[str]:
    """The ids of the jobs a worker has started and not finished, as arq marks them."""
    prefix = b"arq:in-progress:"
    with closing(redis.Redis.from_url(url)) as client:
        return {key[len(prefix) :].decode() for key in client.scan_iter(prefix + b"*")}


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_worker_killed_midway_leaves_its_jobs_to_another(
    tmp_path: Path, redis_server: RedisServer, sandbox: SandboxOnSocket
) -> None:
    accounts, names = accounts_file(tmp_path, 600)
    results = tmp_path / "run.jsonl"
    env = environment(sandbox.base_url)
    # One worker at first, and slow calls of varied length so its jobs do not start and
    # end in waves: the worker killed surely holds jobs. (At full speed on a fast
    # machine, a fleet may have finished them all before it dies.)
    sandbox.sandbox.faults = Faults(latency=(0.2, 0.6))
    (doomed,) = start_workers(tmp_path, env, 1, "--queue", redis_server.url, *FAST)
    run = BulkProcess(env, *register_args(accounts, results, redis_server.url, *CHUNKS))
    run.wait_for_lines(results, 100)
    wait_until(lambda: bool(in_progress(redis_server.url)), 10, "a job in progress")
    doomed.kill()
    held = in_progress(redis_server.url)
    assert held, "the killed worker held no job"
    sandbox.sandbox.faults = Faults()
    (survivor,) = start_workers(tmp_path, env, 1, "--queue", redis_server.url, *FAST)
    try:
        code, summary, stderr = run.finish(timeout=60)
    finally:
        survivor.stop()

    assert code == 0, stderr
    assert (summary["succeeded"], summary["failed"], summary["cancelled"]) == (600, 0, 0)
    one_ok_line_per_account(results, names)
    assert sorted(r.account for r in sandbox.sandbox.registrations("location")) == names
    # The jobs the dead worker held were all done by the other one; those it had started
    # (not only taken: arq counts a try once the job starts) were started again.
    assert max(tries(redis_server.url, held)) >= 2
    assert sandbox.calls("location.register") >= 600


def accounts_of(url: str, job_id: str) -> list[str]:
    """The accounts of a queued or running job."""
    with closing(redis.Redis.from_url(url)) as client:
        raw = cast("bytes | None", client.get(f"arq:job:{job_id}"))
    if raw is None:
        return []
    (payload,) = deserialize_job(raw, deserializer=deserialize).args
    return cast("list[str]", payload["accounts"])


def one_job_half_done(url: str, results: Path) -> tuple[str, list[str]] | None:
    """A job in progress some of whose accounts have a results line and some not."""
    if not results.exists():
        return None
    written = set()
    for line in results.read_text().splitlines():
        with contextlib.suppress(ValueError):  # a line being written
            written.add(json.loads(line)["account"])
    for job_id in in_progress(url):
        accounts = accounts_of(url, job_id)
        if 0 < len(written.intersection(accounts)) < len(accounts):
            return job_id, accounts
    return None


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_worker_killed_mid_job_leaves_one_line_per_account(
    tmp_path: Path, redis_server: RedisServer, sandbox: SandboxOnSocket
) -> None:
    accounts, names = accounts_file(tmp_path, 400)
    results = tmp_path / "run.jsonl"
    env = environment(sandbox.base_url)
    sandbox.sandbox.faults = Faults(latency=(0.2, 0.6))
    slow = ("--job-timeout", "5", "-c", "10")
    (doomed,) = start_workers(tmp_path, env, 1, "--queue", redis_server.url, *slow)
    args = register_args(accounts, results, redis_server.url, "--chunk-size", "20")
    run = BulkProcess(env, *args)
    found: list[tuple[str, list[str]]] = []

    def half_done() -> bool:
        half = one_job_half_done(redis_server.url, results)
        found.extend([half] if half else [])
        return half is not None

    wait_until(half_done, 30, "a job half done")
    doomed.kill()
    (job_id, chunk) = found[0]
    # Killed before it finished: arq still holds the job, whose accounts half have lines.
    assert job_id in in_progress(redis_server.url)
    sandbox.sandbox.faults = Faults()
    (survivor,) = start_workers(tmp_path, env, 1, "--queue", redis_server.url, *FAST)
    try:
        code, summary, stderr = run.finish(timeout=60)
    finally:
        survivor.stop()

    assert code == 0, stderr
    assert (summary["succeeded"], summary["failed"], summary["cancelled"]) == (400, 0, 0)
    # The job ran again, all of it; the accounts it had announced kept their one line.
    assert tries(redis_server.url, {job_id}) == [2]
    one_ok_line_per_account(results, names)
    assert sorted({r.account for r in sandbox.sandbox.registrations("location")}) == names
    assert sandbox.calls("location.register") >= 400 + len(chunk) // 2


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_job_out_of_time_leaves_one_ok_line_per_account(
    tmp_path: Path, redis_server: RedisServer, sandbox: SandboxOnSocket
) -> None:
    accounts, names = accounts_file(tmp_path, 12)
    results = tmp_path / "run.jsonl"
    env = environment(sandbox.base_url)
    # Two at once, 0.6 s each: a job of twelve takes 3.6 s at least, more than its 3 s.
    sandbox.sandbox.faults = Faults(latency=0.6)
    (worker,) = start_workers(
        tmp_path, env, 1, "--queue", redis_server.url, "--job-timeout", "3", "-c", "2"
    )
    args = register_args(accounts, results, redis_server.url, "--chunk-size", "12")
    try:
        code, summary, stderr = BulkProcess(env, *args).finish(timeout=60)
    finally:
        worker.stop()

    assert code == 0, stderr
    assert (summary["succeeded"], summary["failed"], summary["cancelled"]) == (12, 0, 0)
    one_ok_line_per_account(results, names)
    # The accounts the job had not done went to a job of their own, at once.
    assert 0 < summary["jobs"]["requeued"] < 12
    assert "a job ran out of time" in worker.log


def interrupted(env: dict[str, str], args: list[str], results: Path) -> dict[str, Any]:
    """A ``bulk --queue`` run of 600 accounts stopped by Ctrl-C after 150 lines, checked:
    its summary."""
    first = BulkProcess(env, *args, "--progress")
    first.wait_for_lines(results, 150)
    first.interrupt()
    code, stopped, stderr = first.finish()
    assert (code, stopped["interrupted"]) == (130, True), stderr
    collected = len(lines(results))
    assert collected == stopped["succeeded"] < 600
    # The bar, the summary and the closing line agree; what was left is still queued.
    *_, bar = BAR.finditer(stderr)
    left = stopped["cancelled"]
    assert [int(n) for n in bar.groups()] == [collected, 600, 0, left]
    assert left == stopped["accounts"] - collected > 0
    assert (
        f"Interrupted: {collected} accounts done (0 failed), {left} still queued or "
        "running (rerun with --resume to collect them)"
    ) in stderr
    return stopped


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_ctrl_c_then_resume_collects_the_rest_without_running_a_job_twice(
    tmp_path: Path, redis_server: RedisServer, sandbox: SandboxOnSocket
) -> None:
    accounts, names = accounts_file(tmp_path, 600)
    results = tmp_path / "run.jsonl"
    env = environment(sandbox.base_url)
    args = register_args(accounts, results, redis_server.url, *CHUNKS)
    sandbox.sandbox.faults = UNHURRIED
    (worker,) = start_workers(tmp_path, env, 1, "--queue", redis_server.url, *FAST)
    try:
        stopped = interrupted(env, args, results)
        code, resumed, stderr = BulkProcess(env, *args, "--resume").finish()
    finally:
        worker.stop()

    assert code == 0, stderr
    collected = stopped["succeeded"]
    assert (resumed["skipped"], resumed["succeeded"]) == (collected, 600 - collected)
    # The resumed run added jobs only for the accounts the first had not enqueued
    # (Ctrl-C may cut an enqueue short after Redis took it: those count as found), and
    # every job ran once, every account once.
    assert resumed["jobs"]["enqueued"] + resumed["jobs"]["found"] == 600 - collected
    assert stopped["jobs"]["enqueued"] + resumed["jobs"]["enqueued"] <= 600
    assert set(tries(redis_server.url)) == {1}
    assert sandbox.calls("location.register") == 600
    one_ok_line_per_account(results, names)


def told_of_the_outage(port: int, stderr: str, workers: list[WorkerProcess]) -> None:
    """``bulk`` and every worker said Redis went away, and came back."""
    address = f"127.0.0.1:{port}/0"
    assert f"Redis at {address} is unavailable" in stderr
    assert f"Redis at {address} answers again" in stderr
    assert "were lost by Redis: queueing them again" in stderr
    for worker in workers:
        assert "the worker waits for it and runs jobs again once it is back" in worker.log
        assert f"Redis at {address} answers again" in worker.log


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_redis_restarted_empty_mid_run_loses_no_account(
    tmp_path: Path, redis_server: RedisServer, sandbox: SandboxOnSocket
) -> None:
    accounts, names = accounts_file(tmp_path, 600)
    results = tmp_path / "run.jsonl"
    env = environment(sandbox.base_url)
    sandbox.sandbox.faults = UNHURRIED
    workers = start_workers(tmp_path, env, 2, "--queue", redis_server.url, *FAST)
    try:
        run = BulkProcess(env, *register_args(accounts, results, redis_server.url, *CHUNKS))
        run.wait_for_lines(results, 150)
        redis_server.stop()
        time.sleep(2)
        redis_server.start()

        code, summary, stderr = run.finish(timeout=60)
    finally:
        codes = [worker.stop() for worker in workers]

    assert (code, summary["succeeded"]) == (0, 600), stderr
    assert summary["jobs"]["requeued"] > 0
    one_ok_line_per_account(results, names)
    assert sorted({r.account for r in sandbox.sandbox.registrations("location")}) == names
    told_of_the_outage(redis_server.port, stderr, workers)
    assert codes == [0, 0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--rate-limit", "5"], "--rate-limit is the workers' option"),
        (["-c", "5"], "--concurrency is the workers' option"),
        (["--fail-fast"], "--fail-fast cannot stop jobs already queued"),
        (["--queue", "http://localhost"], "--queue: expected redis://"),
        (["--chunk-size", "0"], "--chunk-size"),
        (["--chunk-size", "10001"], "--chunk-size"),
    ],
)
def test_what_a_queued_run_refuses(tmp_path: Path, extra: list[str], message: str) -> None:
    accounts, _ = accounts_file(tmp_path, 3)
    args = register_args(accounts, tmp_path / "run.jsonl", "redis://127.0.0.1:1/0", *extra)

    result = CliRunner().invoke(main, ["bulk", *args], catch_exceptions=False)

    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "run.jsonl").exists()


def test_the_sandbox_and_a_lone_queue_name_are_refused(tmp_path: Path) -> None:
    accounts, _ = accounts_file(tmp_path, 3)
    queued = register_args(accounts, tmp_path / "run.jsonl", "redis://127.0.0.1:1/0")
    sandbox = CliRunner().invoke(main, ["--sandbox", "bulk", *queued])
    alone = CliRunner().invoke(main, ["bulk", "list", "location", str(accounts),
                                      "--queue-name", "other"])  # fmt: skip
    chunks = CliRunner().invoke(main, ["bulk", "list", "location", str(accounts),
                                       "--chunk-size", "10"])  # fmt: skip
    worker = CliRunner().invoke(main, ["--sandbox", "worker", "--queue", "redis://x:1/0"])

    assert (sandbox.exit_code, alone.exit_code, chunks.exit_code, worker.exit_code) == (2,) * 4
    assert "drop --sandbox" in sandbox.stderr
    assert "--queue-name needs --queue" in alone.stderr
    assert "--chunk-size needs --queue" in chunks.stderr
    assert "drop --sandbox" in worker.stderr


def test_a_redis_that_does_not_answer_fails_at_once(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    accounts, _ = accounts_file(tmp_path, 3)
    url = redis_server.url
    redis_server.stop()
    args = register_args(accounts, tmp_path / "run.jsonl", url)

    started = time.monotonic()
    result = CliRunner().invoke(main, ["bulk", *args], env=environment("http://127.0.0.1:1/api"))

    assert result.exit_code == 1
    assert f"Redis at 127.0.0.1:{redis_server.port}/0 does not answer" in result.stderr
    assert time.monotonic() - started < 10


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_workers_share_one_rate_budget(
    tmp_path: Path, redis_server: RedisServer, sandbox: SandboxOnSocket
) -> None:
    accounts, names = accounts_file(tmp_path, 60)
    results = tmp_path / "run.jsonl"
    env = environment(sandbox.base_url)
    rate = ("--rate-limit", "40", "--burst", "1")
    workers = start_workers(tmp_path, env, 2, "--queue", redis_server.url, *FAST, *rate)
    try:
        # Both workers log in first (once for both), so that the login's wait does not
        # bunch up the calls that are measured.
        two = tmp_path / "two.txt"
        two.write_text("0000999998-00001\n0000999999-00001\n")
        warm = ["list", "location", str(two), "--queue", redis_server.url, "--json"]
        assert BulkProcess(env, *warm).finish()[0] == 0
        start = time.monotonic()
        code, summary, stderr = BulkProcess(
            # Six jobs, so that both workers run some.
            env,
            *register_args(accounts, results, redis_server.url, "--chunk-size", "10"),
        ).finish()
    finally:
        for worker in workers:
            worker.stop()

    assert (code, summary["succeeded"]) == (0, 60), stderr
    one_ok_line_per_account(results, names)
    arrivals = sandbox.arrivals.since(start)
    # 60 starts at 40/s between them take 59/40 s; two budgets of 40/s would take half.
    assert len(arrivals) == 60
    assert max(arrivals) - min(arrivals) >= 59 / 40 - 0.1
