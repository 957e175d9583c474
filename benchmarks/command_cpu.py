"""CPU seconds (user + sys) of a few commands as a user runs them, here and (with --against REF) in a
checkout of REF, the two alternated so both see the same machine: the median of --runs each, with
the load average. The fixed cost of a command (imports, building the checks) is what it measures.

    .venv/bin/python benchmarks/command_cpu.py --against main     # about a minute on a quiet machine

REF's commands import REF's src/ (PYTHONPATH, as benchmarks/suite_time.py does).
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
from pathlib import Path

from suite_time import env_for, load, parser_against, trees_to_time

COMMANDS = {
    "list": ["list", "."],
    "show": ["show", "expenditure_by_function", "."],
    "export json": ["export", "expenditure_by_function", ".", "--format", "json"],
    "validate": ["validate", "."],
}


def cpu_of(tree: Path, args: list[str]) -> float:
    """CPU seconds of `bazhong-accounts ARGS` run in tree (its package, its src/)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-m", "bazhong_accounts.cli", *args], cwd=tree, env=env_for(tree),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.exit(f"{tree}: bazhong-accounts {' '.join(args)}: exit {proc.returncode}\n{proc.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    ap = parser_against(__doc__)
    ap.add_argument("--runs", type=int, default=5, help="runs of each command in each tree")
    args = ap.parse_args()
    with trees_to_time(args.against) as trees:
        print(f"load before: {load()}")
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.runs):
            for command, argv in COMMANDS.items():
                for name, tree in trees.items():  # alternated: the same machine state for both
                    times.setdefault((command, name), []).append(cpu_of(tree, argv))
        print(f"load after: {load()}\n\ncommand       " + "".join(f"{n:>16}" for n in trees))
        for command in COMMANDS:
            print(f"{command:14}" + "".join(f"{statistics.median(times[command, n]):15.2f}s" for n in trees))
    return 0


if __name__ == "__main__":
    sys.exit(main())
