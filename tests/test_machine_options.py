"""Issue 15's machine options (CPU= MEM= SMP= QEMU_ARGS=) reach every target
that starts QEMU: run, debug and qemu-gdb through bootlab.cli.machine, make
trace through the same checks (bootlab.trace.main.machine_for), make record
and debug-rr through the recording's metadata, so a replay builds the very
machine that was recorded."""
import json

import pytest

from conftest import make
from bootlab import cli
from bootlab.qemu import cmdline
from bootlab.rr import record as rr_record, rrargs
from bootlab.trace import main as trace_main

OPTIONS = {"BOOTLAB_CPU": "max", "BOOTLAB_MEM": "256M", "BOOTLAB_SMP": "2",
           "BOOTLAB_QEMU_ARGS": "-rtc base=2000-01-01"}


@pytest.fixture
def shaped(monkeypatch):
    for k, v in OPTIONS.items():
        monkeypatch.setenv(k, v)


def has(argv, *pair):
    return any(argv[i:i + len(pair)] == list(pair) for i in range(len(argv)))


def test_trace_builds_its_machine_from_the_options(shaped):
    argv = cmdline.qemu(trace_main.machine_for("build/bootlab.img"))
    assert has(argv, "-cpu", "max") and has(argv, "-m", "256M") and has(argv, "-smp", "2")
    assert has(argv, "-rtc", "base=2000-01-01")


def test_record_and_replay_build_the_same_machine(shaped):
    shape = cli.machine_options()
    argv = rrargs.qemu_command("record", "r.bin", "/tmp/d", "dc.log", shape=shape)
    assert has(argv, "-cpu", "max") and has(argv, "-smp", "2") and has(argv, "-m", "256M")
    # What record.py writes into recording.json is what replay.py reads back.
    again = json.loads(json.dumps(shape))
    assert rrargs.qemu_command("replay", "r.bin", "/tmp/d", "dc.log", shape=again) == \
        rrargs.qemu_command("replay", "r.bin", "/tmp/d", "dc.log", shape=shape)


def test_a_recording_on_another_machine_is_stale(tmp_path, shaped):
    image = tmp_path / "disk.img"
    image.write_bytes(b"\0" * 512)
    import hashlib
    meta = {"image_sha256": hashlib.sha256(image.read_bytes()).hexdigest(),
            "machine": cli.machine_options()}
    (tmp_path / rrargs.META).write_text(json.dumps(meta))
    assert rr_record.is_current(image, tmp_path, cli.machine_options())
    assert not rr_record.is_current(image, tmp_path, dict(cli.machine_options(), cpu="qemu64"))


@pytest.mark.parametrize("target", ["trace", "record"])
def test_bad_options_are_one_line_for_trace_and_record(image, target, tmp_path):
    proc = make(target, "SMP=0", f"RR_DIR={tmp_path}/rr", check=False)
    assert proc.returncode != 0
    lines = [l for l in (proc.stdout + proc.stderr).splitlines() if "SMP=0" in l]
    assert lines and "the number of CPUs, 1 to 255" in lines[0], proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
