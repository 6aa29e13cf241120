"""The VS Code configuration (.vscode/tasks.json, launch.json), driven the
way the editor drives it, minus the editor: the preLaunchTask's shell
command in a terminal (a pty here), then GDB through its machine interface
(`gdb --interpreter=mi3`, as cpptools runs it) given exactly the
configuration's commands, read from the JSON: each customLaunchSetupCommands
line through -interpreter-exec console, then the launchCompleteCommand.
Only the port is changed (to a free one) and ${...} variables filled in.
What is checked is what the editor would show: the stop (*stopped at
0x7c00, or the kernel's entry), the disassembly view (-data-disassemble, in
the CPU's mode) and a `bl mode` typed in the Debug Console."""
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import time

import pytest

from conftest import ROOT
from guests import own

VSCODE = ROOT / ".vscode"
PORT_IN_JSON = "26100"
TIMEOUT = 30


def jsonc(path):
    """JSON with whole-line // comments, as VS Code's files are."""
    return json.loads("\n".join(l for l in path.read_text().splitlines()
                                if not l.lstrip().startswith("//")))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill(text, port, inputs):
    text = text.replace("${workspaceFolder}", str(ROOT)).replace(PORT_IN_JSON, str(port))
    return re.sub(r"\$\{input:(\w+)\}", lambda m: inputs[m.group(1)], text)


class Task:
    """The task's command in a terminal of its own, until its background
    problem matcher's endsPattern says QEMU is ready."""

    def __init__(self, task, port, inputs):
        master, slave = pty.openpty()
        self.master = master
        self.proc = subprocess.Popen(["sh", "-c", fill(task["command"], port, inputs)],
                                     cwd=ROOT, stdin=slave, stdout=slave, stderr=slave,
                                     start_new_session=True,
                                     env={**os.environ, "DISPLAY": "", "TERM": "xterm"})
        os.close(slave)
        ends = re.compile(task["problemMatcher"]["background"]["endsPattern"], re.M)
        self.seen = ""
        deadline = time.monotonic() + TIMEOUT
        while not ends.search(self.seen.replace("\r", "")):
            assert time.monotonic() < deadline, "task never ready:\n" + self.seen
            if select.select([master], [], [], 0.2)[0]:
                try:
                    self.seen += os.read(master, 65536).decode(errors="replace")
                except OSError:
                    raise AssertionError("task ended:\n" + self.seen)

    def end(self):
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)


class Mi:
    """A minimal GDB/MI client: one token per command, read until its result."""

    def __init__(self, args):
        self.proc = subprocess.Popen(["gdb", "--interpreter=mi3", *args], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.token = 0
        self.log = []
        self.pending = []
        self.buffer = b""

    def line(self, deadline):
        # Raw reads: select() on a buffered file object misses lines it holds.
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            assert select.select([fd], [], [], max(0, deadline - time.monotonic()))[0], \
                "GDB/MI said nothing in time:\n" + "\n".join(self.log)
            chunk = os.read(fd, 65536)
            assert chunk, "GDB ended:\n" + "\n".join(self.log)
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        line = line.decode(errors="replace")
        self.log.append(line)
        return line

    def command(self, text):
        """(result line, console text) of one MI command."""
        self.token += 1
        self.proc.stdin.write("%d%s\n" % (self.token, text))
        self.proc.stdin.flush()
        console, deadline = [], time.monotonic() + TIMEOUT
        while True:
            line = self.line(deadline)
            if line.startswith("~"):
                console.append(json.loads(line[1:]))
            elif line.startswith("*stopped"):
                self.pending.append(line)
            elif line.startswith("%d^" % self.token):
                return line, "".join(console)

    def console(self, text):
        quoted = text.replace("\\", "\\\\").replace('"', '\\"')
        result, said = self.command('-interpreter-exec console "%s"' % quoted)
        assert not result.split("^", 1)[1].startswith("error"), (text, result, said, self.log)
        return said

    def stopped(self):
        deadline = time.monotonic() + TIMEOUT
        while not self.pending:
            line = self.line(deadline)
            if line.startswith("*stopped"):
                self.pending.append(line)
        return self.pending.pop(0)

    def quit(self):
        try:
            self.console("kill")
            self.proc.stdin.write("-gdb-exit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=10)
        except (AssertionError, OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def configuration(name_part):
    launch = jsonc(VSCODE / "launch.json")
    tasks = {t["label"]: t for t in jsonc(VSCODE / "tasks.json")["tasks"]}
    config = [c for c in launch["configurations"] if name_part in c["name"]][0]
    return config, tasks[config["preLaunchTask"]]


def attach(name_part, inputs):
    """Run the configuration's task and GDB's launch; returns (task, mi,
    console text of the launch, the *stopped record)."""
    config, task_def = configuration(name_part)
    assert config["type"] == "cppdbg" and config["MIMode"] == "gdb"
    assert (ROOT / fill(config["program"], 0, {}).replace(str(ROOT) + "/", "")).exists(), \
        "cpptools requires the program to exist"
    port = free_port()
    task = Task(task_def, port, inputs)
    mi = Mi(config["miDebuggerArgs"].split())
    said = ""
    try:
        for cmd in config["customLaunchSetupCommands"]:
            said += mi.console(fill(cmd["text"], port, inputs))
        assert config["launchCompleteCommand"] == "exec-continue"
        assert [s for s in mi.pending if 'addr="0x000000000000fff0"' in s], \
            "target remote stops at the reset vector"
        mi.pending.clear()
        result, _ = mi.command("-exec-continue")
        assert result.startswith("%d^running" % mi.token), result
        return task, mi, said, mi.stopped()
    except BaseException:
        mi.quit()
        task.end()
        raise


def disassembly(mi, start, end):
    result, _ = mi.command("-data-disassemble -s 0x%x -e 0x%x -- 0" % (start, end))
    return re.findall(r'\{address="(0x[0-9a-f]+)",(?:func-name="[^"]*",offset="\d+",)?'
                      r'inst="([^"]*)"\}', result)


def test_the_lab_configuration_stops_at_7c00_in_16_bit_code(image):
    task, mi, said, stop = attach("the lab", {})
    try:
        assert 'frame={addr="0x0000000000007c00",func="boot_start"' in stop, stop
        insns = disassembly(mi, 0x7c00, 0x7c0a)
        # 16-bit code: a far jump with a 16-bit offset, then 16-bit registers
        # (stock GDB would decode these bytes as 64-bit code).
        assert insns[0] == ("0x0000000000007c00", "ljmpw  $0x0:$0x7c05"), insns
        assert [i for _, i in insns[1:4]] == ["cli", "xorw   %ax,%ax", "movw   %ax,%ds"], insns
        mode = mi.console("bl mode")
        assert "mode:   real\n" in mode and "at:     0000:7c00 (linear 0x7c00)" in mode, mode
        assert "add symbol table from file" in "\n".join(mi.log)
    finally:
        mi.quit()
        task.end()


def test_the_kernel_configuration_stops_at_its_entry(tmp_path):
    guests = own.build(tmp_path)
    inputs = {"kernel": str(guests["multiboot.elf"]), "append": "", "syms": ""}
    task, mi, said, stop = attach("KERNEL=", inputs)
    try:
        assert "Multiboot kernel (ELF32); entry point 0x100020" in task.seen.replace("\r", "")
        assert 'frame={addr="0x0000000000100020",func="mb_entry"' in stop, stop
        insns = disassembly(mi, 0x100020, 0x10002c)
        assert insns[0] == ("0x0000000000100020", "cmpl   $0x2badb002,%eax"), insns
        assert "mode:   protected (32-bit)\n" in mi.console("bl mode")
    finally:
        mi.quit()
        task.end()
