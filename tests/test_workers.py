"""codemod.workers: results in the items' order whoever checked them; a dead worker costs only its chunk."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from codemod import engine
from codemod.workers import _chunks, _in_spawned_workers, in_workers
from tests.conftest import GOOD, invoke

PARENT = os.getpid()


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """A pool that loses track of a chunk waits for it forever: fail the test instead."""
    def stop(signum: int, frame: object) -> None:
        raise TimeoutError("the pool hung")

    before = signal.signal(signal.SIGALRM, stop)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, before)


def in_worker() -> bool:
    return os.getpid() != PARENT


def lost(item: int, why: str) -> str:
    return f"lost {item}: {why}"


def square(item: int) -> int:
    time.sleep(random.random() / 2000)  # uneven work, so chunks finish out of order
    return item * item


def no_children_left() -> bool:
    """No child process, running or waiting to be reaped, but multiprocessing's resource tracker (which the
    spawned pool's test starts and leaves running)."""
    tasks = Path(f"/proc/{os.getpid()}/task")
    if not all((task / "children").exists() for task in tasks.iterdir()):
        pytest.skip("this kernel does not list a process's children in /proc")
    children = [pid for task in tasks.iterdir() for pid in (task / "children").read_text().split()]
    return all(b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes() for pid in children)


@pytest.mark.parametrize(("count", "jobs"), [(0, 2), (1, 2), (5, 2), (64, 2), (1000, 2), (1000, 3), (333, 8)])
def test_results_come_back_in_order(count: int, jobs: int) -> None:
    assert list(in_workers(range(count), square, lost, jobs)) == [i * i for i in range(count)]
    assert no_children_left()


def test_the_workers_are_reaped_before_the_last_result() -> None:
    """A caller that takes exactly as many results as it gave items never resumes the generator to its end
    (engine.run does this): the workers must be gone by then, not when the generator is collected."""
    results = in_workers(range(500), square, lost, 2)
    assert [next(results) for _ in range(500)] == [i * i for i in range(500)]
    assert no_children_left()
    results.close()


@pytest.mark.parametrize(("count", "jobs"), [(0, 2), (1, 2), (7, 2), (64, 2), (100, 4), (8000, 2), (8000, 16)])
def test_chunks_cover_every_item_once_and_shrink_at_the_end(count: int, jobs: int) -> None:
    chunks = _chunks(count, jobs)
    assert [i for chunk in chunks for i in chunk] == list(range(count))
    sizes = [len(chunk) for chunk in chunks]
    assert all(1 <= size <= 32 for size in sizes)
    assert sizes == sorted(sizes, reverse=True)
    if count >= 8000:
        assert sizes[0] == 32 and sizes[-1] == 1 and len(chunks) < count // 8


def checked_by(item: int) -> tuple[int, bool]:
    """The item, and whether a worker process (not the parent) checked it."""
    time.sleep(0.0002)
    return item, in_worker()


def test_the_parent_and_the_workers_share_the_work() -> None:
    results = list(in_workers(range(3000), checked_by, lost, 2))
    assert [item for item, _ in results] == list(range(3000))
    in_worker = sum(1 for _, worker in results if worker)
    assert 0 < in_worker < 3000


def die_in_worker(how: Callable[[], None], item: int) -> tuple[int, bool]:
    if in_worker():
        how()
    return item, False


def kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def leave() -> None:
    os._exit(3)


@pytest.mark.parametrize(("how", "why"), [
    (kill, "the worker process checking it was killed by signal 9 (SIGKILL)"),
    (leave, "the worker process checking it exited with status 3"),
])
def test_a_dead_worker_costs_only_the_chunk_it_was_on(how: Callable[[], None], why: str) -> None:
    """Every worker dies on its first chunk; the parent checks what they had not begun, and a fresh worker
    takes over after each death, so the run still finishes with every item accounted for."""
    items = range(500)
    results = list(in_workers(items, partial(die_in_worker, how), lost, 2))
    assert len(results) == len(items)
    chunks = _chunks(len(items), 2)
    lost_chunks = 0
    for chunk in chunks:
        got = [results[i] for i in chunk]
        if got == [(i, False) for i in chunk]:
            continue
        assert got == [lost(i, why) for i in chunk]  # a chunk is lost whole, with the reason
        lost_chunks += 1
    assert 1 <= lost_chunks < len(chunks)
    assert no_children_left()


def die_on(fatal: frozenset[int], item: int) -> int:
    """Kill the worker that checks a fatal item; the parent is slow, so the workers check most chunks."""
    if not in_worker():
        time.sleep(0.002)
    elif item in fatal:
        kill()
    return item


def test_only_the_chunk_a_worker_died_on_is_lost() -> None:
    """The chunk it had been given but not begun comes back checked (by the parent or a fresh worker)."""
    items = range(600)
    fatal = frozenset({100, 250, 400})
    results = list(in_workers(items, partial(die_on, fatal), lost, 2))
    why = "the worker process checking it was killed by signal 9 (SIGKILL)"
    lost_chunks = []
    for chunk in _chunks(len(items), 2):
        got = [results[i] for i in chunk]
        if got != list(chunk):
            assert got == [lost(i, why) for i in chunk]
            lost_chunks.append(chunk)
    assert lost_chunks, "the parent checked every fatal item"
    assert all(fatal & set(chunk) for chunk in lost_chunks)
    assert no_children_left()


def big(item: int) -> bytes:
    return bytes([item % 256]) * 300_000


def test_answers_larger_than_a_pipe_come_back_whole() -> None:
    results = in_workers(range(200), big, lost, 3)
    assert all(result == big(i) for i, result in zip(range(200), results, strict=True))


def pipes() -> set[str]:
    """The pipes this process holds open."""
    found = set()
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            if (target := os.readlink(fd)).startswith("pipe:"):
                found.add(target)
    return found


def worker_pipes(before: frozenset[str], item: int) -> int:
    """How many pipes a worker holds beyond those the parent had before the pool (in the parent: 2)."""
    time.sleep(0.001)
    return len(pipes() - before) if in_worker() else 2


def test_a_worker_holds_only_its_own_two_pipes() -> None:
    """Another worker's pipe ends held open in a worker would hide that worker's death from the parent."""
    results = list(in_workers(range(400), partial(worker_pipes, frozenset(pipes())), lost, 4))
    assert set(results) == {2}


class Unreadable:
    """Pickles, but does not unpickle (as an exception class with required arguments may)."""

    def __reduce__(self) -> tuple[object, tuple[()]]:
        return _refuse, ()


def _refuse() -> None:
    raise ValueError("cannot be rebuilt")


def unreadable_in_worker(item: int) -> object:
    return Unreadable() if item % 50 == 7 and in_worker() else item


def test_an_answer_that_cannot_be_read_back_loses_its_chunk() -> None:
    results = list(in_workers(range(2000), unreadable_in_worker, lost, 2))
    why = "its result could not be read back from the worker process (ValueError: cannot be rebuilt)"
    lost_chunks = 0
    for chunk in _chunks(2000, 2):
        got = [results[i] for i in chunk]
        if any(isinstance(r, str) for r in got):
            assert got == [lost(i, why) for i in chunk]
            lost_chunks += 1
        else:
            assert all(r == i or isinstance(r, Unreadable) for i, r in zip(chunk, got, strict=True))
    assert lost_chunks
    assert no_children_left()


def unpicklable_in_worker(item: int) -> object:
    return (lambda: item) if item % 10 == 3 and in_worker() else item


def test_a_result_that_cannot_be_pickled_is_lost_alone() -> None:
    results = list(in_workers(range(2000), unpicklable_in_worker, lost, 2))
    stand_ins = [r for r in results if isinstance(r, str)]
    assert stand_ins, "no worker checked an item ending in 3"
    for i, result in enumerate(results):
        if isinstance(result, str):
            assert i % 10 == 3
            assert result.startswith(f"lost {i}: its result could not be sent back from the worker process (")
        else:
            assert result == i


def slow_in_worker(item: int) -> int:
    if in_worker():
        time.sleep(0.3)
    return item


def test_stopping_early_stops_the_workers_at_once() -> None:
    """The workers are terminated mid-chunk, not left to finish it."""
    results = in_workers(range(40), slow_in_worker, lost, 3)  # chunks of 3: a worker's takes 0.9 s
    assert next(results) == 0
    started = time.monotonic()
    results.close()  # as when the caller is interrupted
    assert time.monotonic() - started < 0.25
    assert no_children_left()


def interrupted_in_parent(item: int) -> int:
    if not in_worker() and item > 100:
        raise KeyboardInterrupt
    time.sleep(0.0005)
    return item


def test_ctrl_c_in_the_parent_leaves_no_worker_behind() -> None:
    with pytest.raises(KeyboardInterrupt):
        list(in_workers(range(2000), interrupted_in_parent, lost, 3))
    assert no_children_left()


def test_without_fork_a_spawned_pool_gives_the_same_results() -> None:
    """Windows has no fork; the spawned pool is tested here with picklable work."""
    assert list(_in_spawned_workers(range(200), partial(pow, 3), 2, 16)) == [3**i for i in range(200)]


def test_a_file_whose_worker_died_is_an_error_and_the_run_goes_on(in_tmp: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the CLI: the files of the lost chunks get an error that says why, exit status 2; every other
    file is checked as usual."""
    repo = in_tmp / "repo"
    repo.mkdir()
    count = 2 * engine.PARALLEL_FROM
    for i in range(count):
        (repo / f"p{i:03}.yaml").write_text(GOOD.replace("name: g,", f"name: g{i},"), encoding="utf-8")
    check_file = engine.check_file

    def dies_in_worker(path: Path, *args: object) -> engine.FileResult:
        if in_worker():
            kill()
        return check_file(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "check_file", dies_in_worker)
    result = invoke("scan", "--jobs", "2", "repo")
    assert result.exit_code == 2
    errors = result.stderr.splitlines()
    assert errors
    for line in errors:
        assert line.startswith("repo/p") and line.endswith(
            ": internal error (the worker process checking it was killed by signal 9 (SIGKILL)); the file is "
            "untouched, please report this"), line
    assert result.stdout.endswith(f"({count - len(errors)} policies in {count - len(errors)} files, "
                                  f"{len(errors)} errors).\n")
    assert no_children_left()


def test_closed_stdout_and_stderr_do_not_stop_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """With file descriptor 1 or 2 closed before start-up, Python's sys.stdout or sys.stderr is None."""
    monkeypatch.setattr("sys.stdout", None)
    monkeypatch.setattr("sys.stderr", None)
    assert list(in_workers(range(300), square, lost, 2)) == [i * i for i in range(300)]


def sigint_blocked(item: int) -> bool:
    return signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_ctrl_c_is_only_held_back_while_the_pool_forks_and_reaps() -> None:
    """Workers and the parent check files with Ctrl-C deliverable, and the parent has it back afterwards."""
    assert not any(in_workers(range(400), sigint_blocked, lost, 3))
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
