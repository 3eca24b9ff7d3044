"""A full disk or a read-only folder ends a run with one line that names the path and what to do,
leaves no temporary file and keeps what was finished (real tmpfs mounts; root only)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lggseg.atomic_write import WriteError, atomic_write
from lggseg_cli.main import app


def test_a_full_disk_is_one_line_and_leaves_no_temporary_file(tiny_experiment, mount_tmpfs):
    disk = mount_tmpfs(96)
    result = CliRunner().invoke(app, ["train", "--gin", str(tiny_experiment), "--run-dir", str(disk / "run")])
    assert result.exit_code == 74, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "the disk is full" in lines[0] and str(disk) in lines[0], result.output
    assert "Traceback" not in result.output
    assert not [p for p in (disk / "run").rglob("*") if ".tmp" in p.name]
    state = disk / "run" / "state.json"
    if state.is_file():  # whatever was finished is intact
        assert json.loads(state.read_text())["status"] == "running"


def test_a_read_only_folder_is_one_line(tiny_experiment, mount_tmpfs):
    disk = mount_tmpfs(64, read_only=True)
    result = CliRunner().invoke(app, ["train", "--gin", str(tiny_experiment), "--run-dir", str(disk / "run")])
    assert result.exit_code == 74, result.output
    assert "read-only" in result.output and str(disk) in result.output and "Traceback" not in result.output


def test_atomic_write_keeps_the_old_file_and_removes_the_temporary_one(mount_tmpfs):
    disk = mount_tmpfs(64)
    target = disk / "metrics.json"
    target.write_text("old")
    try:
        with atomic_write(target) as tmp:
            tmp.write_bytes(b"x" * 200_000)  # more than the disk holds
    except WriteError as err:
        assert "cannot write" in str(err) and str(target) in str(err)
    else:
        raise AssertionError("the write should have failed")
    assert target.read_text() == "old" and sorted(p.name for p in disk.iterdir()) == ["metrics.json"]
