from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bff import cli
from bff.runtime import dev_defaults
from bff.runtime.settings import get_settings


def run_bff(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bff.cli", *args],
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def dev_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({"LVYUE_ENV": "development", **extra})
    return env


def test_bff_dev_stops_with_one_clear_line_on_a_wrong_database_url(tmp_path: Path) -> None:
    # given a PostgreSQL URL with nothing listening
    env = dev_env(DATABASE_URL="postgres://nobody@127.0.0.1:1/nowhere")

    # when
    result = run_bff("dev", "--port", "18999", "--sandbox-port", "18998", env=env, cwd=tmp_path)

    # then
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("bff: configuration error: DATABASE_URL: cannot connect")


def test_migrate_then_seed_if_empty_loads_demo_data_once(tmp_path: Path) -> None:
    # given an empty SQLite database
    env = dev_env(DATABASE_URL=f"sqlite://{tmp_path}/fresh.sqlite3")

    # when
    migrated = run_bff("migrate", env=env, cwd=tmp_path)
    first = run_bff("seed", "--if-empty", env=env, cwd=tmp_path)
    second = run_bff("seed", "--if-empty", env=env, cwd=tmp_path)

    # then
    assert migrated.returncode == 0, migrated.stderr
    assert "apply_done models.0001_initial" in migrated.stdout
    assert first.returncode == 0, first.stderr
    assert "demo user" in first.stdout
    assert "nothing loaded" in second.stdout


def test_stops_lists_and_resumes_a_stopped_template_and_refuses_what_is_not_stopped(tmp_path: Path) -> None:
    # given a database where WeChat's refusal stopped a template
    env = dev_env(DATABASE_URL=f"sqlite://{tmp_path}/stops.sqlite3")
    assert run_bff("migrate", env=env, cwd=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "stops.sqlite3") as db:
        db.execute(
            "INSERT INTO stopped_templates (template_id, errcode, detail, stopped_at)"
            " VALUES ('tmpl-order-progress-0001', 43107, 'template banned', '2026-11-20 01:30:00+00:00')"
        )

    # when an operator lists the stops, resumes the template, and tries once more
    listed = run_bff("stops", env=env, cwd=tmp_path)
    resumed = run_bff("stops", "resume-template", "tmpl-order-progress-0001", env=env, cwd=tmp_path)
    again = run_bff("stops", "resume-template", "tmpl-order-progress-0001", env=env, cwd=tmp_path)
    after = run_bff("stops", env=env, cwd=tmp_path)

    # then the list named it, the resume cleared it, and the second resume says why it did nothing
    assert listed.returncode == 0, listed.stderr
    assert "template tmpl-order-progress-0001 stopped" in listed.stdout and "43107" in listed.stdout
    assert resumed.returncode == 0 and "resumed" in resumed.stdout
    assert again.returncode == 2
    assert again.stderr.strip() == "bff: stops: template tmpl-order-progress-0001 is not stopped"
    assert "tmpl-order-progress-0001" not in after.stdout


def test_stops_clear_user_lets_sends_to_a_flagged_user_be_tried_again(tmp_path: Path) -> None:
    # given a user WeChat answered 40003 for
    env = dev_env(DATABASE_URL=f"sqlite://{tmp_path}/flagged.sqlite3")
    assert run_bff("migrate", env=env, cwd=tmp_path).returncode == 0
    openid = "oFLAGGED_user_00000000000001"
    with sqlite3.connect(tmp_path / "flagged.sqlite3") as db:
        db.execute(
            "INSERT INTO users (openid, nickname, member_tier, points, region, created_at, openid_invalid_at)"
            " VALUES (?, '', 'REGULAR', 0, '', '2026-11-20 01:00:00+00:00', '2026-11-20 01:30:00+00:00')",
            (openid,),
        )

    # when an operator clears the user, and names an openid nobody has
    listed = run_bff("stops", env=env, cwd=tmp_path)
    cleared = run_bff("stops", "clear-user", openid, env=env, cwd=tmp_path)
    unknown = run_bff("stops", "clear-user", "oNOBODY_000000000000000000001", env=env, cwd=tmp_path)

    # then the flag is gone, and the unknown openid is refused without printing it in full
    assert "1 user(s) flagged" in listed.stdout
    assert cleared.returncode == 0, cleared.stderr
    with sqlite3.connect(tmp_path / "flagged.sqlite3") as db:
        flag = db.execute("SELECT openid_invalid_at FROM users WHERE openid = ?", (openid,)).fetchone()
    assert flag == (None,)
    assert unknown.returncode == 2 and "no user with openid" in unknown.stderr
    assert "oNOBODY_000000000000000000001" not in unknown.stderr


def test_development_processes_started_apart_share_the_kept_session_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a development checkout whose data directory holds nothing yet
    monkeypatch.setenv("LVYUE_ENV", "development")
    monkeypatch.setenv("LVYUE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SESSION_SECRET", raising=False)

    # when `bff web` and then `bff worker` read their settings (two processes: nothing shared but disk)
    get_settings.cache_clear()
    web_secret = cli._settings().session_secret
    monkeypatch.delenv("SESSION_SECRET")
    get_settings.cache_clear()
    worker_secret = cli._settings().session_secret
    get_settings.cache_clear()

    # then both sign with the secret kept under data/ (a restart keeps sessions and sent links)
    assert web_secret == worker_secret
    assert (tmp_path / dev_defaults.SESSION_SECRET_FILE).read_text().strip() == web_secret
