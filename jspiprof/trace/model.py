"""What a trace holds (`docs/trace-format.md`): one dataclass per line type, and `Trace`, a whole trace as read."""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from jspiprof.trace.samples import SampleColumns, Samples

SCHEMA = "jspiprof-trace"
VERSION = 2


class TraceError(ValueError):
    """The file is not a valid jspiprof trace; the message says which line and what is wrong."""


class TruncatedTraceWarning(UserWarning):
    """The trace's last line was cut off (the app ended mid-write); it was skipped."""


class SkippedLinesWarning(UserWarning):
    """Lines holding impossible values (a negative wait, an entry ending twice, ...) were skipped; one warning counts
    them all and names the first."""


@dataclass(frozen=True)
class Runtime:
    """Where the trace was recorded."""

    host: str
    host_version: str
    pyodide: str
    jspi: str


@dataclass(frozen=True)
class Header:
    """The first line: format, clock origin, runtime and program."""

    schema: str
    version: int
    origin_unix_ms: float
    runtime: Runtime
    program: dict[str, Any] | None

    @property
    def command_line(self) -> str | None:
        """The recorded program's command line (`program.argv` joined by spaces), or None when the trace has none."""
        argv = self.program.get("argv") if isinstance(self.program, dict) else None
        if isinstance(argv, list) and argv:
            return " ".join(map(str, argv))
        return None


@dataclass(frozen=True)
class Instance:
    """One Pyodide of a multi-instance trace (a page's main thread, a worker, a Node process): where it ran and when
    its hook started. A trace without `instance` lines has one, 0, described by its header."""

    instance: int
    ts_us: float
    where: str
    url: str | None
    runtime: Runtime


@dataclass(frozen=True)
class Registration:
    """How JS code registered a Python callable as a callback: the API (`addEventListener`, `setTimeout`, ...), the
    JS `file:line` of the registering call, and the event name for `addEventListener` and `property`."""

    api: str
    location: str | None
    event: str | None = None


@dataclass(frozen=True)
class Frame:
    """An interned Python frame: a line being executed in a function."""

    id: int
    file: str
    line: int
    function: str
    library: bool

    @property
    def location(self) -> str:
        """`file:line`."""
        return f"{self.file}:{self.line}"


@dataclass
class Entry:
    """JavaScript calling into Python; `end_us`, `outcome` and `error` are None while it runs. `caller_sampled` is
    False when the hook did not read the JS caller (it samples them): `caller` None then means unknown, not none."""

    id: int
    kind: str
    promising: bool
    name: str | None
    caller: str | None
    parent: int | None
    start_us: float
    registration: Registration | None = None
    caller_sampled: bool = True
    instance: int = 0
    end_us: float | None = None
    outcome: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class EntryEnd:
    """An entry returned or threw."""

    id: int
    end_us: float
    outcome: str
    error: str | None


@dataclass(slots=True)  # not frozen: a trace holds millions, and a frozen dataclass takes 8x longer to build
class Suspension:
    """One stack switch: saved at `start_us`, waited `wait_us`, restored `resume_us` after the promise settled."""

    id: int
    entry: int | None
    path: str
    start_us: float
    wait_us: float
    resume_us: float
    stack_bytes: int
    stack: tuple[int, ...]
    depth: int
    site: str | None
    awaitable: str | None
    outcome: str
    error: str | None
    instance: int = 0

    @property
    def end_us(self) -> float:
        """When the stack was restored."""
        return self.start_us + self.wait_us + self.resume_us


@dataclass(frozen=True)
class FailedSwitch:
    """A stack switch asked for where none was possible."""

    ts_us: float
    entry: int | None
    reason: str
    path: str
    stack: tuple[int, ...]
    depth: int
    site: str | None
    error: str
    instance: int = 0


@dataclass(frozen=True)
class Dropped:
    """Events lost because the browser's in-memory buffer was full."""

    count: int
    ts_us: float
    instance: int = 0


@dataclass(frozen=True)
class Snapshot:
    """The trace was exported while the program still ran: it is complete up to `ts_us` (not a crash)."""

    ts_us: float


@dataclass(frozen=True)
class End:
    """The trace was closed normally."""

    ts_us: float
    dropped: int
    exit_status: int | None


Event = Header | Instance | Frame | Entry | EntryEnd | Suspension | FailedSwitch | Dropped | Samples | Snapshot | End


@dataclass(frozen=True)
class SuspensionShape:
    """What the suspensions at one place have in common: the stack (its depth is its length), the path that asked for
    the switch, the site, what was awaited, the outcome and the error."""

    stack: tuple[int, ...]
    path: str
    site: str | None
    awaitable: str | None
    outcome: str
    error: str | None


@dataclass
class SuspensionColumns:
    """A trace's suspensions as one column per field, in file order: suspension i is row i of every column (a
    million `Suspension` objects would cost more to build than their lines cost to parse).

    Times are float64 arrays; each row's `shape` is an index into `shapes`, the distinct `SuspensionShape`s in order
    of first use.
    """

    id: list[int] = field(default_factory=list)
    entry: list[int | None] = field(default_factory=list)
    start_us: array = field(default_factory=lambda: array("d"))
    wait_us: array = field(default_factory=lambda: array("d"))
    resume_us: array = field(default_factory=lambda: array("d"))
    stack_bytes: list[int] = field(default_factory=list)
    instance: array = field(default_factory=lambda: array("q"))
    shape: array = field(default_factory=lambda: array("i"))
    shapes: list[SuspensionShape] = field(default_factory=list)
    shape_ids: dict[SuspensionShape, int] = field(default_factory=dict, compare=False, repr=False)
    """Each shape's index in `shapes`."""

    def __len__(self) -> int:
        return len(self.id)

    def rows(self) -> list[Suspension]:
        """One `Suspension` per row."""
        rows = []
        for id, entry, start_us, wait_us, resume_us, stack_bytes, instance, number in zip(*self.per_row_columns()):
            shape = self.shapes[number]
            rows.append(
                Suspension(
                    id=id,
                    entry=entry,
                    path=shape.path,
                    start_us=start_us,
                    wait_us=wait_us,
                    resume_us=resume_us,
                    stack_bytes=stack_bytes,
                    stack=shape.stack,
                    depth=len(shape.stack),
                    site=shape.site,
                    awaitable=shape.awaitable,
                    outcome=shape.outcome,
                    error=shape.error,
                    instance=instance,
                )
            )
        return rows

    def append(self, suspension: Suspension) -> None:
        """Add a suspension as the last row."""
        shape = SuspensionShape(
            suspension.stack,
            suspension.path,
            suspension.site,
            suspension.awaitable,
            suspension.outcome,
            suspension.error,
        )
        number = self.add_shape(shape)
        values = (
            suspension.id,
            suspension.entry,
            suspension.start_us,
            suspension.wait_us,
            suspension.resume_us,
            suspension.stack_bytes,
            suspension.instance,
            number,
        )
        for column, value in zip(self.per_row_columns(), values):
            column.append(value)

    def add_shape(self, shape: SuspensionShape) -> int:
        """The index of `shape` in `shapes`, added last when it is new."""
        number = self.shape_ids.setdefault(shape, len(self.shapes))
        if number == len(self.shapes):
            self.shapes.append(shape)
        return number

    def per_row_columns(self) -> list[Any]:
        """The columns with one value per row: the per-row fields of `Suspension` in its order, then `shape`."""
        columns = [self.id, self.entry, self.start_us, self.wait_us, self.resume_us, self.stack_bytes, self.instance]
        return [*columns, self.shape]


@dataclass
class Trace:
    """A whole trace, as `read_trace` gives it: the header, the Pyodide instances, frames and entries by id, the
    suspensions, the failed switches, the CPU samples, and the end line (or the snapshot line of a live export).

    `entries` have their end merged in; `end` is None when the trace was not closed: `snapshot` tells a live export
    (taken while the program ran) from a trace cut short by a crash. `instances` holds the `instance` lines (empty for
    a trace of one Pyodide, described by its header: `instance_list` gives them in both cases). The suspensions
    are stored as `suspension_columns`; `suspensions` gives them as objects. The CPU samples are `samples`, as
    columns. Analyses do not take a `Trace` itself:
    they take `jspiprof.analysis.Tables`, the analysis pivot built from it.
    """

    header: Header
    instances: dict[int, Instance] = field(default_factory=dict)
    frames: dict[int, Frame] = field(default_factory=dict)
    entries: dict[int, Entry] = field(default_factory=dict)
    suspension_columns: SuspensionColumns = field(default_factory=SuspensionColumns)
    failed_switches: list[FailedSwitch] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    samples: SampleColumns = field(default_factory=SampleColumns)
    end: End | None = None
    snapshot: Snapshot | None = None

    @property
    def suspensions(self) -> list[Suspension]:
        """The suspensions in file order, as objects (built anew at each call)."""
        return self.suspension_columns.rows()

    @property
    def complete(self) -> bool:
        """True when the trace was closed normally (it has its end line)."""
        return self.end is not None

    @property
    def snapshot_us(self) -> float | None:
        """When a live export was taken (the trace is complete up to then), or None for a trace that was not one."""
        return self.snapshot.ts_us if self.snapshot is not None else None

    @property
    def instance_list(self) -> list[Instance]:
        """Every Pyodide instance of the trace by number: those its `instance` lines describe, and instance 0, which
        the header describes unless an `instance` line does."""
        described = {0: Instance(0, 0.0, _where(self.header.runtime), None, self.header.runtime), **self.instances}
        return [described[number] for number in sorted(described)]

    @property
    def dropped_count(self) -> int:
        """Events lost to a full in-memory buffer."""
        return sum(d.count for d in self.dropped)

    def stack_frames(self, stack: tuple[int, ...]) -> list[Frame]:
        """The frames of a stack, outermost first."""
        return [self.frames[frame_id] for frame_id in stack]

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> Trace:
        """Gather a stream of checked events (from `iter_events`, the header first) into a Trace."""
        iterator = iter(events)
        header = next(iterator)
        assert isinstance(header, Header)
        trace = cls(header)
        trace.add_events(iterator)
        return trace

    def add_events(self, events: Iterable[Event]) -> None:
        """Add checked events that follow the ones already in (an entry's end merges into its entry)."""
        suspensions = self.suspension_columns
        for event in events:
            if isinstance(event, Suspension):  # by far the most frequent
                suspensions.append(event)
            elif isinstance(event, Frame):
                self.frames[event.id] = event
            elif isinstance(event, Entry):
                self.entries[event.id] = event
            elif isinstance(event, EntryEnd):
                entry = self.entries[event.id]
                entry.end_us, entry.outcome, entry.error = event.end_us, event.outcome, event.error
            elif isinstance(event, FailedSwitch):
                self.failed_switches.append(event)
            elif isinstance(event, Dropped):
                self.dropped.append(event)
            elif isinstance(event, Samples):
                self.samples.append(event)
            elif isinstance(event, Instance):
                self.instances[event.instance] = event
            elif isinstance(event, Snapshot):
                self.snapshot = event
            elif isinstance(event, End):
                self.end = event


def _where(runtime: Runtime) -> str:
    """Where the one Pyodide of a trace without `instance` lines ran: `node`, or `page` in a browser."""
    return "node" if runtime.host == "node" else "page"
