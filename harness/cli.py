"""``harness``: the command line, a thin front end over pytest, the images and cleanup.

``harness run`` runs the scenario suites with pytest (the plugin does the work),
then prints the verdict table. Exit status: 0 every verdict passed, 1 a violation
or a failed scenario, 2 and above an error before any verdict (pytest's codes).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
DEFAULT_TARGET = ROOT / "targets" / "refapp" / "durable.yaml"
SUITES = {"restart": "restart", "scale-out": "scale_out", "dependency": "dependency"}

console = Console(stderr=True)


def _terminate_as_interrupt(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so every deployment's teardown runs."""
    raise KeyboardInterrupt


def cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from harness.errors import SpecError
    from harness.report.terminal import print_verdicts

    if not args.target.is_file():
        raise SpecError(f"{args.target}: target spec not found")
    out = Path(args.out or ROOT / "runs" / time.strftime("%Y%m%d-%H%M%S")).resolve()
    suites = args.suite or list(SUITES)
    marker = " or ".join(SUITES[s] for s in suites)
    pytest_args = [str(SCENARIOS), "-m", marker, "--target", str(args.target), "--replicas", str(args.replicas),
                   "--seed", str(args.seed), "--harness-out", str(out), "-p", "no:cacheprovider",
                   "--rootdir", str(ROOT), "-q" if not args.verbose else "-v", *args.pytest_args]
    console.print(f"[bold]harness run[/]: suites {', '.join(suites)} on {args.target} "
                  f"with {args.replicas} replicas; results in {out}")
    code = int(pytest.main(pytest_args))
    verdicts = out / "verdicts.json"
    results = json.loads(verdicts.read_text()) if verdicts.exists() else []
    print_verdicts(results, Console(width=None if sys.stdout.isatty() else 160))
    return code


def cmd_images(args: argparse.Namespace) -> int:
    from harness.backends.docker import docker_client
    from harness.images import build_images

    with console.status("building images") as status:
        built = build_images(docker_client(), progress=lambda m: (status.update(m), console.log(m)), force=args.force)
    console.print(f"built: {', '.join(built)}" if built else "all images up to date")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from harness.backends.docker import docker_client
    from harness.cleanup import sweep

    swept = sweep(docker_client())
    console.print(f"removed {len(swept)} leftover run(s): {', '.join(swept)}" if swept else "nothing left behind")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="harness", description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run scenario suites against a target and print the verdicts")
    run.add_argument("--target", type=Path, default=DEFAULT_TARGET, help="target spec (default: %(default)s)")
    run.add_argument("--suite", action="append", choices=list(SUITES), help="suite to run (repeatable; default: all)")
    run.add_argument("--replicas", type=int, default=2, help="replicas per scenario (default: %(default)s)")
    run.add_argument("--seed", type=int, default=0, help="workload seed (default: %(default)s)")
    run.add_argument("--out", type=Path, help="folder for histories and verdicts (default: runs/<time>)")
    run.add_argument("-v", "--verbose", action="store_true", help="one line per scenario")
    run.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    run.set_defaults(func=cmd_run)

    images = sub.add_parser("images", help="build the offline images (Debian base, postgres, redis, refapp)")
    images.add_argument("--force", action="store_true", help="rebuild even when up to date")
    images.set_defaults(func=cmd_images)

    sweep = sub.add_parser("sweep", help="remove containers and networks left by dead harness runs")
    sweep.set_defaults(func=cmd_sweep)
    return top


def main(argv: list[str] | None = None) -> int:
    from harness.errors import HarnessError

    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except HarnessError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; deployments were removed[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
