"""Processes that check items (files) chunk by chunk and hand the results back in the items' order.

Where the system can fork, `jobs - 1` workers are forked with the items and the check already in memory,
and the parent checks chunks too while it waits for them. A task is a chunk number (4 bytes on the
worker's own pipe) and an answer is one pickle per chunk. `concurrent.futures`' process pool costs several
times that (feeder and result threads, queue locks, arguments pickled per call, a parent that only waits),
and on a two-core machine every bit of it is taken from the checking.

A forked worker that dies (killed, out of memory, a crash in C code) costs only the chunk it was on: those
items get `on_lost`'s stand-in result, and the rest of the run goes on in a fresh worker. The parent's own
chunks have no such net (as with one process), and a result that cannot be pickled is lost only when a
worker checked it. Without fork (Windows), a spawned `concurrent.futures` pool does the job.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import signal
import struct
import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_TASK = struct.Struct("<I")  # a chunk number, parent → worker
_HEADER = struct.Struct("<IQ")  # the chunk number and the size of its pickled results, worker → parent
_STOP = 0xFFFFFFFF
AHEAD = 2  # chunks a worker is given at once, so it never waits for the parent between chunks
PIPE_SIZE = 1 << 20  # asked for on Linux: most chunks' answers (a rewrite's new texts) fit in one write


def in_workers(items: Sequence[T], check: Callable[[T], R], on_lost: Callable[[T, str], R],
               jobs: int) -> Generator[R, None, None]:
    """`check(item)` for every item, in `jobs` processes, yielded in the items' order. `on_lost(item, why)`
    stands for the result of an item whose worker died or whose result could not be sent back."""
    chunks = _chunks(len(items), jobs)
    if not hasattr(os, "fork"):
        return _in_spawned_workers(items, check, jobs, len(chunks[0]) if chunks else 1)
    return _in_forked_workers(_Pool(items, check, on_lost, chunks), jobs)


def _chunks(count: int, jobs: int, most: int = 32) -> list[range]:
    """Chunks that shrink towards the end (a share of what is left, at most `most`), so the processes
    finish together: at the end no one checks a big chunk while the others wait."""
    chunks = []
    start = 0
    while start < count:
        size = max(1, min(most, (count - start) // (jobs * 4)))
        chunks.append(range(start, start + size))
        start += size
    return chunks


_CHECK: Callable[[Any], Any] | None = None  # a spawned worker's check (it cannot inherit it)


def _remember(check: Callable[[Any], Any], thresholds: tuple[int, int, int]) -> None:
    import gc

    global _CHECK
    _CHECK = check
    gc.set_threshold(*thresholds)  # the parent's, which its caller may have tuned


def _call(item: Any) -> Any:
    assert _CHECK is not None
    return _CHECK(item)


def _in_spawned_workers(items: Sequence[T], check: Callable[[T], R], jobs: int,
                        chunk: int) -> Generator[R, None, None]:
    import gc
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_remember, initargs=(check, gc.get_threshold())) as pool:
        yield from pool.map(_call, items, chunksize=chunk)


def _in_forked_workers(pool: _Pool[T, R], jobs: int) -> Generator[R, None, None]:
    try:
        yield from pool.results(jobs)
    finally:  # also when the caller stops early or is interrupted: no worker outlives the run
        pool.close()


class _Worker:
    __slots__ = ("answers", "buffer", "pending", "pid", "tasks")

    def __init__(self, pid: int, tasks: int, answers: int) -> None:
        self.pid, self.tasks, self.answers = pid, tasks, answers  # its pid, and the parent's ends of its pipes
        self.buffer = bytearray()  # what it sent that is not yet a whole answer
        self.pending: list[int] = []  # chunks sent to it and not yet answered, oldest (the one it is on) first


class _Pool(Generic[T, R]):
    """The parent's side: the workers, the chunks not yet handed out, and the answers in order."""

    def __init__(self, items: Sequence[T], check: Callable[[T], R], on_lost: Callable[[T, str], R],
                 chunks: list[range]) -> None:
        self.items, self.check, self.on_lost, self.chunks = items, check, on_lost, chunks
        self.workers: dict[int, _Worker] = {}  # by the parent's end of its answers pipe
        self.next_chunk = 0
        self.requeued: list[int] = []  # chunks given to a worker that died before it began them
        self.selector: selectors.BaseSelector | None = None

    def results(self, jobs: int) -> Iterator[R]:
        self.selector = selector = selectors.DefaultSelector()
        for _ in range(min(jobs - 1, len(self.chunks) - 1)):
            self._fork()
        done: dict[int, list[R]] = {}
        wanted = 0  # the chunk to yield next
        while True:
            if wanted + len(done) == len(self.chunks):  # all in: reap the workers before the caller stops asking
                self.close()
                for number in range(wanted, len(self.chunks)):
                    yield from done.pop(number)
                return
            while wanted in done:
                yield from done.pop(wanted)
                wanted += 1
            # Check a chunk here only while no worker is halfway through an answer: one waiting for the
            # parent to read the rest of it cannot go on to its next chunk.
            halfway = any(worker.buffer for worker in self.workers.values())
            ready = selector.select(0 if self._unsent() and not halfway else None)
            if not ready:
                number = self._take()
                done[number] = [self.check(self.items[i]) for i in self.chunks[number]]
            for key, _ in ready:
                worker = self.workers[key.fd]
                data = os.read(worker.answers, PIPE_SIZE)
                if data:
                    worker.buffer += data
                    done.update(self._answers(worker))
                    continue
                done.update(self._bury(worker))
                if self._unsent():
                    self._fork()

    def _answers(self, worker: _Worker) -> Iterator[tuple[int, list[R]]]:
        """Each whole answer in the worker's buffer; each one earns it its next chunk."""
        buffer = worker.buffer
        while len(buffer) >= _HEADER.size:
            number, size = _HEADER.unpack_from(buffer)
            end = _HEADER.size + size
            if len(buffer) < end:
                return
            try:
                results = pickle.loads(memoryview(buffer)[_HEADER.size:end])
            except Exception as exc:  # a plugin's object that pickles but does not unpickle
                why = f"its result could not be read back from the worker process ({type(exc).__name__}: {exc})"
                results = [self.on_lost(self.items[i], why) for i in self.chunks[number]]
            del buffer[:end]
            worker.pending.remove(number)
            self._send(worker)
            yield number, results

    def _unsent(self) -> bool:
        return bool(self.requeued) or self.next_chunk < len(self.chunks)

    def _take(self) -> int:
        """The first chunk nobody has: one a dead worker had not begun, else the first never given out."""
        if self.requeued:
            self.requeued.sort()
            return self.requeued.pop(0)
        self.next_chunk += 1
        return self.next_chunk - 1

    def _send(self, worker: _Worker) -> None:
        """Top the worker up to AHEAD chunks, or tell it to stop once there is nothing left to give."""
        numbers: list[int] = []
        while len(worker.pending) + len(numbers) < AHEAD and self._unsent():
            numbers.append(self._take())
        if not numbers and worker.pending:
            return
        try:  # the stop mark goes once: a worker that has nothing left and is told to stop answers no more
            _write_all(worker.tasks, b"".join(_TASK.pack(n) for n in numbers or [_STOP]))
        except BrokenPipeError:  # it died: its answers pipe closes too, and _bury reaps it
            self.requeued += numbers
            return
        worker.pending += numbers

    def _fork(self) -> None:
        """Start a worker and give it its first chunks; when the system cannot fork, the parent carries on
        with the workers it has (or alone)."""
        _flush()  # nothing buffered may be written twice
        with _interrupts_deferred():  # a worker is forked and known to close(), or not forked at all
            task_read, task_write = os.pipe()
            answer_read, answer_write = os.pipe()
            _grow(answer_write)
            try:
                pid = os.fork()
            except OSError:
                for fd in (task_read, task_write, answer_read, answer_write):
                    os.close(fd)
                return
            if pid == 0:
                self._work(task_read, answer_write, task_write, answer_read)
            os.close(task_read)
            os.close(answer_write)
            worker = _Worker(pid, task_write, answer_read)
            self.workers[answer_read] = worker
            assert self.selector is not None
            self.selector.register(answer_read, selectors.EVENT_READ)
        self._send(worker)

    def _bury(self, worker: _Worker) -> dict[int, list[R]]:
        """Reap a worker whose answers pipe closed; stand-in results for the chunk it died on, if any (the
        oldest it was given: one killed before it read its next chunk has that one counted as begun)."""
        with _interrupts_deferred():
            del self.workers[worker.answers]
            assert self.selector is not None
            self.selector.unregister(worker.answers)
            os.close(worker.answers)
            os.close(worker.tasks)
            _, status = os.waitpid(worker.pid, 0)
        if not worker.pending:
            return {}
        lost, *unbegun = worker.pending
        self.requeued += unbegun
        why = f"the worker process checking it {_death(status)}"
        return {lost: [self.on_lost(self.items[i], why) for i in self.chunks[lost]]}

    def close(self) -> None:
        """Stop and reap every worker still running (the run finished early or was interrupted); calling it
        again does nothing. A Ctrl-C meanwhile waits until it is done."""
        with _interrupts_deferred():
            self._close()

    def _close(self) -> None:
        leaving = list(self.workers.values())
        self.workers.clear()
        selector, self.selector = self.selector, None
        if selector is not None:
            selector.close()
        for worker in leaving:
            os.close(worker.tasks)  # a worker waiting for a task reads the end of the pipe and leaves
            os.close(worker.answers)
            if worker.pending:
                os.kill(worker.pid, signal.SIGTERM)  # not yet reaped, so the pid is still its own
        for worker in leaving:
            os.waitpid(worker.pid, 0)

    def _work(self, tasks: int, answers: int, *parents: int) -> None:
        """A worker's life: check each chunk it is given, answer with one pickle, leave at the stop mark.
        It never returns: it leaves with os._exit, so nothing of the parent's (atexit handlers, buffered
        output, the caller's cleanup) runs twice. `parents`: the parent's ends of its own pipes."""
        status = 1
        try:  # Ctrl-C is deferred here until the worker has set itself up (it was forked with it blocked)
            for fd in (*parents, *(fd for other in self.workers.values() for fd in (other.tasks, other.answers))):
                os.close(fd)  # another worker's pipes held open here would hide that worker's death
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent reports it, workers just stop
            if hasattr(signal, "pthread_sigmask"):
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            import gc

            gc.freeze()  # what the parent built is never collected here, so its pages stay shared
            while True:
                (number,) = _TASK.unpack(_read_exactly(tasks, _TASK.size))
                if number == _STOP:
                    break
                _write_all(answers, self._answer(number, [self.check(self.items[i]) for i in self.chunks[number]]))
            status = 0
        except (EOFError, BrokenPipeError):
            pass  # the parent went away
        except Exception:
            import traceback

            traceback.print_exc()  # the parent reports the chunk as lost; this says why
        finally:
            _flush()  # what a plugin rule printed
            os._exit(status)

    def _answer(self, number: int, results: list[R]) -> bytes:
        """One chunk's answer; a result that cannot be pickled (a plugin rule's odd finding) is replaced
        by a stand-in, so the other results of the chunk still come back."""
        try:
            blob = pickle.dumps(results, pickle.HIGHEST_PROTOCOL)
        except Exception:
            kept = [self._picklable(item, result) for item, result in zip(
                (self.items[i] for i in self.chunks[number]), results, strict=True)]
            blob = pickle.dumps(kept, pickle.HIGHEST_PROTOCOL)
        return _HEADER.pack(number, len(blob)) + blob

    def _picklable(self, item: T, result: R) -> R:
        try:
            pickle.dumps(result, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            return self.on_lost(item, f"its result could not be sent back from the worker process "
                                f"({type(exc).__name__}: {exc})")
        return result


def _death(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "an unknown signal"
        return f"was killed by signal {number} ({name})"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def _flush() -> None:
    """Flush stdout and stderr, each as far as it can be (either may be closed, or None when its file
    descriptor was closed before Python started)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back until the block is done, so the pool's bookkeeping (which processes and
    pipes exist) is never left halfway; it is delivered as usual at the end of the block."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _grow(fd: int) -> None:
    """A bigger pipe where Linux allows it, so a worker rarely waits for the parent to read its answer."""
    import fcntl

    size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if size is not None:
        with contextlib.suppress(OSError):  # above the system's limit: the default size still works
            fcntl.fcntl(fd, size, PIPE_SIZE)


def _read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        more = os.read(fd, size - len(data))
        if not more:
            raise EOFError
        data += more
    return data


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
