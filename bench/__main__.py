"""`python -m bench [name ...] [options]`: run the named benchmarks (all by default), print and save each."""

import importlib
import json
import sys

from .common import RESULTS_DIR, BenchResult, command_line, machine_describe, markdown_table, today

# Name to module; each module has run(argv) -> BenchResult. Add new benchmarks here.
BENCHMARKS = {
    "homepage": "bench.homepage",
    "compose": "bench.compose",
    "ingest": "bench.ingest",
    "quality": "bench.quality",
    "scoring": "bench.scoring",
    "coldstart": "bench.coldstart",
    "soak": "bench.soak",
    "experiments": "bench.experiments",
    "results": "bench.results",
    "catalog": "bench.catalog",
    "ann": "bench.ann",
    "scale": "bench.scale",
    "search": "bench.search",
}


def arguments_split(argv: list[str]) -> tuple[list[str], list[str]]:
    """Leading words are benchmark names; the rest (options) go to each benchmark's own parser."""
    names = []
    for word in argv:
        if word.startswith("-"):
            break
        names.append(word)
    return names, argv[len(names):]


def result_save(result: BenchResult) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{result.name}.json"
    path.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    print(f"Saved {path.relative_to(RESULTS_DIR.parent.parent)}")


def result_print(result: BenchResult) -> None:
    print(f"\n## {result.name}\n")
    if result.skipped:
        print(f"Skipped: {result.skipped}")
        return
    print(markdown_table(result.rows))
    for note in result.notes:
        print(f"\n{note}")


def main(argv: list[str]) -> int:
    names, options = arguments_split(argv)
    if options in (["-h"], ["--help"]) and not names:
        print(f"usage: python -m bench [{' | '.join(BENCHMARKS)} ...] [options]; `python -m bench NAME --help`")
        return 0
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"Unknown benchmark {', '.join(unknown)}; choose from: {', '.join(BENCHMARKS)}.", file=sys.stderr)
        return 2
    machine = machine_describe()
    print(f"Machine: {machine}")
    for name in names or list(BENCHMARKS):
        result = importlib.import_module(BENCHMARKS[name]).run(options)
        result.machine, result.date, result.command = machine, today(), command_line()
        result_print(result)
        result_save(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
