"""`make mutate`: run mutmut on the security-critical code and report what survived.

    python tests/mutation/mutate.py run [PATH ...]     mutmut run, on the targets' mutants only
    python tests/mutation/mutate.py report [PATH ...]  per-module counts and every survivor
    python tests/mutation/mutate.py globs [PATH ...]   the mutant-name globs `run` passes to mutmut

PATH is a module or package as a path (``crypto/header.py``, ``tipbox/security``);
the default is every target in TARGETS. Run from the repository root after
`mutmut run` (it reads ``mutants/*.meta``). Survivors listed in
tests/mutation/equivalents.txt are counted as known equivalent, not printed in full.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EQUIVALENTS = Path(__file__).with_name("equivalents.txt")

# What `make mutate` covers: module -> functions to mutate (None: all of it). In
# tipbox/intake/service.py only the finalize/complete checks are in scope.
TARGETS: dict[str, tuple[str, ...] | None] = {
    "crypto/header.py": None,
    "crypto/padding.py": None,
    "crypto/audit.py": None,
    "tipbox/security/fetch_metadata.py": None,
    "tipbox/security/headers.py": None,
    "tipbox/security/logs.py": None,
    "tipbox/security/paths.py": None,
    "tipbox/security/ratelimit.py": None,
    "tipbox/security/requests.py": None,
    "tipbox/security/subkeys.py": None,
    "tipbox/intake/service.py": ("check_sealed", "complete_attachment", "_check_parts", "finalize", "finalize_followup"),
}
# Driven to zero unexplained survivors; the rest are reported for follow-up.
STRICT = ("crypto/",)


def selected(paths: list[str]) -> dict[str, tuple[str, ...] | None]:
    if not paths:
        return TARGETS
    chosen = {}
    for raw in paths:
        path = raw.rstrip("/")
        matches = {k: v for k, v in TARGETS.items() if k == path or k.startswith(path + "/")}
        if not matches:
            sys.exit(f"{raw}: not a mutation target (see TARGETS in {Path(__file__).relative_to(ROOT)})")
        chosen.update(matches)
    return chosen


def module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def globs(targets: dict[str, tuple[str, ...] | None]) -> list[str]:
    out = []
    for path, functions in targets.items():
        if functions is None:
            out.append(f"{module_name(path)}.*")
        else:
            out += [f"{module_name(path)}.x_{name}__mutmut_*" for name in functions]
    return out


@dataclass(frozen=True)
class Equivalent:
    function: str
    removed: tuple[str, ...]
    added: tuple[str, ...]
    why: str


def load_equivalents() -> list[Equivalent]:
    """Blocks separated by blank lines: ``mutant: <function>``, ``- old``, ``+ new``, ``why: ...``."""
    entries = []
    for block in EQUIVALENTS.read_text().split("\n\n"):
        lines = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
        if not lines:
            continue
        fields = {"-": [], "+": []}
        function = why = ""
        for line in lines:
            key, _, value = line.strip().partition(" ")
            if key == "mutant:":
                function = value.strip()
            elif key == "why:":
                why = value.strip()
            elif key in fields:
                fields[key].append(value.strip())
            else:
                sys.exit(f"{EQUIVALENTS.name}: cannot read line {line!r}")
        if not (function and why and (fields["-"] or fields["+"])):
            sys.exit(f"{EQUIVALENTS.name}: incomplete entry {lines[0]!r}")
        entries.append(Equivalent(function, tuple(fields["-"]), tuple(fields["+"]), why))
    return entries


def diff_lines(diff: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    body = [line for line in diff.splitlines() if not line.startswith(("---", "+++", "@@"))]
    removed = tuple(line[1:].strip() for line in body if line.startswith("-"))
    added = tuple(line[1:].strip() for line in body if line.startswith("+"))
    return removed, added


def source_line(path: str, mutant: str, removed: tuple[str, ...]) -> int | None:
    """Line number of the first changed line, found inside the mutated function."""
    name = mutant.rpartition(".")[2].partition("__mutmut_")[0]
    name = name.rpartition("ǁ")[2] if "ǁ" in name else name.removeprefix("x_")
    source = (ROOT / path).read_text()
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            for number in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                if removed and lines[number - 1].strip() == removed[0]:
                    return number
            return node.lineno
    return None


def report(targets: dict[str, tuple[str, ...] | None]) -> int:
    from fnmatch import fnmatch

    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code

    patterns = globs(targets)
    equivalents = load_equivalents()
    used: set[Equivalent] = set()
    totals: Counter[str] = Counter()
    unexplained_strict = 0
    print(f"{'module':38} {'mutants':>7} {'killed':>6} {'timeout':>7} {'survived':>8} {'equiv':>5} {'no test':>7}")
    details: list[str] = []
    for path in targets:
        data = SourceFileMutationData(path=path)
        data.load()
        counts: Counter[str] = Counter()
        for mutant, exit_code in sorted(data.exit_code_by_key.items(), key=lambda kv: _natural(kv[0])):
            if not any(fnmatch(mutant, pattern) for pattern in patterns):
                continue
            status = status_by_exit_code[exit_code]
            counts["mutants"] += 1
            if status in ("survived", "no tests"):
                diff = get_diff_for_mutant(mutant, path=path)
                removed, added = diff_lines(diff)
                function = mutant.partition("__mutmut_")[0]
                match = next(
                    (e for e in equivalents if (e.function, e.removed, e.added) == (function, removed, added)), None
                )
                if match is not None:
                    used.add(match)
                    counts["equiv"] += 1
                    continue
                counts["survived" if status == "survived" else "no test"] += 1
                unexplained_strict += path.startswith(STRICT)
                line = source_line(path, mutant, removed)
                details.append(f"{path}:{line}  {mutant}  ({status})")
                details += [f"    - {r}" for r in removed] + [f"    + {a}" for a in added]
            elif status == "timeout":
                counts["timeout"] += 1
            elif status == "killed":
                counts["killed"] += 1
            else:
                counts[status] += 1
                details.append(f"{path}  {mutant}  ({status})")
        totals.update(counts)
        print(
            f"{path:38} {counts['mutants']:7} {counts['killed']:6} {counts['timeout']:7} {counts['survived']:8}"
            f" {counts['equiv']:5} {counts['no test']:7}"
        )
    print(
        f"{'total':38} {totals['mutants']:7} {totals['killed']:6} {totals['timeout']:7} {totals['survived']:8}"
        f" {totals['equiv']:5} {totals['no test']:7}"
    )
    survivors = totals["survived"] + totals["no test"]
    print(f"\n{survivors} survivors, {totals['equiv']} known equivalent ({EQUIVALENTS.relative_to(ROOT)})")
    if totals["mutants"] == 0:
        print("No mutant was run: run `make mutate` first.")
        return 1
    if details:
        print("\nSurvivors (file:line of the mutated line, mutant name; `mutmut show NAME` gives the diff):")
        print("\n".join(details))
    stale = [e for e in equivalents if e not in used and any(e.function.startswith(module_name(p)) for p in targets)]
    if stale:
        print(f"\n{len(stale)} entries in {EQUIVALENTS.name} matched no survivor (killed now, or the code moved):")
        for entry in stale:
            print(f"    {entry.function}: - {' / '.join(entry.removed)}")
    return 1 if unexplained_strict else 0


def _natural(name: str) -> tuple[str, int]:
    head, _, number = name.rpartition("__mutmut_")
    return head, int(number) if number.isdigit() else 0


def run(targets: dict[str, tuple[str, ...] | None]) -> int:
    """mutmut run on the targets' mutants (mutmut's own config: [tool.mutmut] in pyproject.toml)."""
    mutmut = Path(sys.executable).with_name("mutmut")
    return subprocess.run([str(mutmut), "run", *globs(targets)], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("globs", "run", "report"):
        print(__doc__)
        return 2
    targets = selected(argv[1:])
    if argv[0] == "globs":
        print("\n".join(globs(targets)))
        return 0
    return run(targets) if argv[0] == "run" else report(targets)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
