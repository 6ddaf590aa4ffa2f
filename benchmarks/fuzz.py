"""A longer run of the fuzz test (tests/test_fuzz.py): mutated traces through the reader and every command.

    python benchmarks/fuzz.py [--seconds 600] [--seed 21] [--keep FOLDER]

Prints how many variants were tried and every broken promise, grouped by owner (reader, diagnose, outputs) and
problem, with the first input that showed it; `--keep` saves every failing input there. Exit status 1 when any
promise was broken.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from hostile_inputs import COMMANDS, Mutator, owner, problems, run_in_process, seeds, summary  # noqa: E402

from jspiprof.trace import TraceError, read_trace  # noqa: E402


def read_problem(path: Path) -> str | None:
    """Anything but a trace or a TraceError from the reader, as its traceback."""
    try:
        read_trace(path)
    except (TraceError, UnicodeDecodeError):
        pass
    except Exception as error:  # noqa: BLE001 - what the fuzzer looks for
        return "reader raised:\n" + "".join(traceback.format_exception(error))
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="how long to run (default 600)")
    parser.add_argument("--seed", type=int, default=21, help="the mutator's seed (default 21)")
    parser.add_argument("--keep", type=Path, help="folder to save every failing input into")
    options = parser.parse_args()
    rng = random.Random(options.seed)
    mutator = Mutator(rng)
    corpus = seeds(TESTS / "fixtures")
    failures: list[tuple[str, str, str]] = []
    tried, slowest = 0, 0.0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jspiprof-fuzz-") as scratch:
        folder = Path(scratch)
        while time.monotonic() - started < options.seconds:
            seed = rng.choice(corpus)
            trace = folder / f"variant-{tried}.jsonl"
            trace.write_bytes(mutator.mutate(seed.read_bytes()))
            what = f"{seed.name} + {' + '.join(mutator.applied)} ({trace.name})"
            before = len(failures)
            if problem := read_problem(trace):
                failures.append((owner(problem), f"read_trace {what}", problem))
            for command in COMMANDS:
                out = folder / "out" / command.replace(" ", "")
                outcome = run_in_process(command, trace, out)
                slowest = max(slowest, outcome.seconds)
                failures += [(owner(found), f"{command} {what}", found) for found in problems(outcome, out)]
                shutil.rmtree(out)
            if options.keep and len(failures) > before:
                options.keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(trace, options.keep / trace.name)
            trace.unlink()
            tried += 1
    print(f"{tried:,} variants, each through the reader and {len(COMMANDS)} commands, in {options.seconds:,.0f} s")
    print(f"seed {options.seed}; seeds: {len(corpus)} fixture traces")
    print(f"slowest command: {slowest:.2f} s")
    print(f"{len(failures):,} broken promises" + (f":\n{summary(failures)}" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
