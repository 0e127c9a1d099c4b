"""The committed SDL (schema/schema.graphql) is the schema the code builds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from graphql import build_schema

from schema.sdl import SDL_FILE, schema_sdl

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_sdl_matches_the_schema() -> None:
    # given the SDL file in the repository
    committed = SDL_FILE.read_text(encoding="utf-8") if SDL_FILE.is_file() else ""

    # then it is exactly what the code's schema prints
    assert committed == schema_sdl(), (
        "schema/schema.graphql is not the current schema: run `bff export-schema` "
        "(or `make schema`) and commit the file"
    )


def test_the_committed_sdl_is_a_valid_schema_with_the_mini_program_roots() -> None:
    # when the file is read as SDL by graphql-core alone
    parsed = build_schema(SDL_FILE.read_text(encoding="utf-8"))

    # then it describes the mini-program's entry points
    assert parsed.query_type is not None and "viewer" in parsed.query_type.fields
    assert parsed.mutation_type is not None and "login" in parsed.mutation_type.fields


def test_export_schema_writes_the_sdl_to_the_given_file(tmp_path: Path) -> None:
    # given a stale file
    target = tmp_path / "schema.graphql"
    target.write_text("type Query { stale: Int }\n", encoding="utf-8")

    # when the command runs
    result = subprocess.run(
        [sys.executable, "-m", "bff.cli", "export-schema", "--output", str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    # then the file holds the current SDL and the command says so
    assert result.returncode == 0, result.stderr
    assert target.read_text(encoding="utf-8") == schema_sdl()
    assert f"wrote {target}" in result.stdout

    # and a second run finds nothing to change
    again = subprocess.run(
        [sys.executable, "-m", "bff.cli", "export-schema", "--output", str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert f"{target} is up to date" in again.stdout
