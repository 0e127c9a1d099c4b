"""`make help`: a newcomer's list of what the Makefile does."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make(*args: str) -> subprocess.CompletedProcess[str]:
    # Under `make test` the suite inherits MAKELEVEL/MAKEFLAGS; a newcomer's shell has neither.
    inherited = {"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"}
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    return subprocess.run(["make", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)


def test_make_help_lists_every_target_with_run_and_test_first() -> None:
    # given the targets the Makefile declares
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE)
    assert phony is not None
    targets = phony.group(1).split()

    # when a newcomer asks for help (plain `make` does the same)
    helped = make("help")
    plain = make()

    # then every target is listed with what it does, `make run` and `make test` first
    assert helped.returncode == 0, helped.stderr
    lines = helped.stdout.splitlines()
    listed = [line.split()[1] for line in lines]
    assert listed[:2] == ["run", "test"]
    assert sorted(listed) == sorted(targets)
    assert all(len(line.split(maxsplit=2)) == 3 for line in lines), "a target without a description"
    assert plain.stdout == helped.stdout
