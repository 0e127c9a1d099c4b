"""The repository stands alone: its documents and code point at nothing outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The design notes the repository was started from live beside it, not in it. (The pattern is
# assembled so that this file does not match itself.)
OUTSIDE = re.compile("|".join([r"\.\./" + "shared", r"(?<![\w/.-])" + "contracts" + "/", "/" + "work" + "/"]))


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    suffixes = {".py", ".md", ".graphql", ".toml", ".cfg", ".txt", ""}
    return [ROOT / name for name in listed.stdout.splitlines() if Path(name).suffix in suffixes]


def test_no_file_points_outside_the_repository() -> None:
    # given every tracked source and document
    offenders = []
    for path in tracked_text_files():
        if not path.is_file():
            continue
        # when we look for references to files beside the checkout
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    # then there are none
    assert offenders == []


def test_the_readme_starts_with_make_run_and_make_test() -> None:
    # when a newcomer opens the README
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0]

    # then its first two commands are the two that matter
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert commands[:2] == ["make run", "make test"]
