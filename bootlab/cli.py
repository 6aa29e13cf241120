"""make's entry points that start QEMU and GDB: python3 -m bootlab.cli WHAT.

  debug      QEMU paused, GDB attached in this terminal, stopped at 0x7c00
             (or at the kernel's entry), the extension and symbols loaded
  qemu-gdb   only QEMU, its gdbstub on 127.0.0.1:PORT, for `make gdb`
  gdb        only GDB, attached to 127.0.0.1:PORT
  run        QEMU with a screen (a window, or curses in this terminal)
  tour       the scripted tour of the boot path (make tour)
  record     record one boot under QEMU's record/replay (make record)
  debug-rr   the recording replayed under GDB, stopped at 0x7c00 (make debug-rr)
  vmlinux    the ELF inside a bzImage KERNEL=, written under the build directory

Make passes its options in the environment (exported make variables,
verbatim: no shell quoting to get wrong): BOOTLAB_BUILD (B=), BOOTLAB_IMAGE,
BOOTLAB_KERNEL, BOOTLAB_SYMS, BOOTLAB_APPEND, BOOTLAB_INITRD, BOOTLAB_CPU,
BOOTLAB_MEM, BOOTLAB_SMP, BOOTLAB_QEMU_ARGS, BOOTLAB_TUI, BOOTLAB_PORT
(GDBPORT=), BOOTLAB_STOP (STOP=reset: stay at the reset vector). Every
problem is one line and exit status 1 (2 for usage).
"""
import functools
import os
import re
import subprocess
import sys
from pathlib import Path

from . import headstart, proc, project, session
from .own import check
from .qemu import cmdline

DEFAULT_PORT_BASE, PORT_USERS = 26000, 5000     # the gdbstub port: 26000 + uid % 5000
MEM_RE = re.compile(r"^\d+[KMGT]?$", re.I)
CPU_RE = re.compile(r"^[A-Za-z0-9][\w.,+=-]*$")      # a model and its +feature,-feature list


class Usage(Exception):
    pass


def env(name, default=""):
    return os.environ.get("BOOTLAB_" + name, default)


def build_dir():
    return Path(env("BUILD") or project.BUILD)


def default_port():
    return DEFAULT_PORT_BASE + os.getuid() % PORT_USERS


def port():
    text = env("PORT")
    if not text:
        return default_port()
    if not text.isdigit() or not 1024 <= int(text) <= 65535:
        raise check.Bad("GDBPORT=%s: a port is a number from 1024 to 65535" % check.shown(text))
    return int(text)


def own():
    """(image, kernel, syms) given on make's command line ('' when not)."""
    return env("IMAGE"), env("KERNEL"), env("SYMS")


def machine_options():
    """{cpu, mem, smp, extra} from make's CPU= MEM= SMP= QEMU_ARGS=, checked
    (Bad for bad ones): the shape of the PC, whatever boots in it. Every
    target that starts QEMU takes them (run, debug, qemu-gdb, trace, record
    and debug-rr through the recording)."""
    cpu, mem, smp = env("CPU"), env("MEM"), env("SMP")
    if cpu and not CPU_RE.match(cpu):
        raise check.Bad("CPU=%s: give a QEMU CPU model, e.g. max or qemu64,+la57 "
                        "(qemu-system-x86_64 -cpu help lists them)" % check.shown(cpu))
    if mem and not MEM_RE.match(mem):
        raise check.Bad("MEM=%s: give a size QEMU's -m takes, e.g. 256M or 2G" % check.shown(mem))
    try:
        smp = cmdline.smp_count(smp)
        extra = cmdline.check_extra(cmdline.shell_words(env("QEMU_ARGS")))
    except cmdline.BadOption as e:
        raise check.Bad(str(e))
    return {"cpu": cpu or None, "mem": mem or None, "smp": smp,
            "extra": extra}


def machine(paused_disk=True):
    """The Machine this run boots, from make's options; Bad for bad ones."""
    image, kernel, _ = own()
    b = build_dir()
    shape = machine_options()
    append, initrd = env("APPEND"), env("INITRD")
    if (append or initrd) and not kernel:
        raise check.Bad("APPEND= and INITRD= go with KERNEL= (QEMU passes them to a kernel "
                        "it loads itself)")
    if initrd:
        check.read("INITRD", initrd, 1)
    disk = None if kernel else (image or b / "bootlab.img")
    return cmdline.Machine(disk=disk, kernel=kernel or None, append=append or None,
                           initrd=initrd or None, **shape)


@functools.cache
def stop_address():
    """Where GDB stops first (checked and described once: check prints
    what the file is)."""
    return check.stop_address(*own())


def symbol_files():
    image, kernel, syms = own()
    return symbol_files_for(image, kernel, syms, build_dir())


def symbol_files_for(image, kernel, syms, build):
    """The lab's three ELF files (unless IMAGE=/KERNEL=), then SYMS= or an
    ELF kernel's own symbols."""
    files = [] if (image or kernel) else [str(p) for p in project.elf_paths(build)]
    if syms:
        files += syms.split()
    elif kernel and check.is_elf(kernel):
        files.append(kernel)
    return files


def screen(default):
    """QEMU's display: the caller's default, unless QEMU_ARGS chose one."""
    words = cmdline.shell_words(env("QEMU_ARGS"))
    return None if "-display" in words or "-nographic" in words else default


# STOP=reset: GDB attaches while QEMU is still paused at the reset vector
# (-S); without STOP=, GDB runs the BIOS up to the boot sector (or entry).
STOPS = ("reset",)
GDB_REMOTE_TIMEOUT_S = 2      # GDB's own default, back once connected
RESET_HINT = ("bootlab: stopped at the reset vector, before the BIOS has run (STOP=reset); "
              "`thbreak *0x7c00` and `continue` go on to the boot sector")


def stop_choice():
    """'' (the usual stop at 0x7c00 or the kernel's entry) or 'reset'."""
    stop = env("STOP")
    if stop and stop not in STOPS:
        raise check.Bad("STOP=%s: make debug knows STOP=reset (the reset vector, F000:FFF0); "
                        "without STOP= it stops at the boot sector" % stop)
    return stop


def gdb_argv(target, stop):
    b = build_dir()
    # remotetimeout: GDB's connection may wait in QEMU's queue while make
    # debug's head start runs (headstart.py), up to HEAD_START_S.
    commands = ["set history filename %s" % cmdline.gdb_quote(str(b / ".gdb_history")),
                "set history save on",
                "set remotetimeout %d" % (headstart.HEAD_START_S + 2 * headstart.REPLY_S + 1),
                target, "set remotetimeout %d" % GDB_REMOTE_TIMEOUT_S]
    if stop_choice() == "reset":
        commands.append("echo %s\\n" % RESET_HINT)
    else:
        commands.append("bootlab-start 0x%x" % stop)
    if env("TUI"):
        commands.append("layout bootlab")
    return cmdline.gdb(symbols=symbol_files(), commands=commands)


def banner(what):
    """One line on the machine when it is not the lab's usual one."""
    m = []
    for name in ("CPU", "MEM", "SMP", "APPEND", "INITRD", "QEMU_ARGS"):
        if env(name):
            m.append("%s=%s" % (name, env(name)))
    if m:
        print("bootlab: %s with %s" % (what, " ".join(m)), file=sys.stderr)
    if env("KERNEL"):
        for hint in (aslr_hint(env("KERNEL"), env("APPEND")), vmlinux_hint(env("KERNEL"))):
            if hint:
                print("bootlab: " + hint, file=sys.stderr)


def aslr_hint(kernel, append):
    """A Linux kernel randomises where it runs unless told not to: then
    breakpoints at its link addresses never hit."""
    try:
        data, _ = check.read("KERNEL", kernel, 0x300)
    except check.Bad:
        return ""
    from .own import kernelfmt
    if data[kernelfmt.LINUX_MAGIC_OFF:kernelfmt.LINUX_MAGIC_OFF + 4] != kernelfmt.LINUX_MAGIC:
        return ""
    if "nokaslr" in append.split():
        return ""
    return ("a Linux kernel moves its code to a random address at boot (KASLR), so "
            "breakpoints at its link addresses will not hit: add APPEND=nokaslr")


def is_bzimage(kernel):
    try:
        data, _ = check.read("KERNEL", kernel, 0x300)
    except check.Bad:
        return False
    from .own import kernelfmt
    return data[kernelfmt.LINUX_MAGIC_OFF:kernelfmt.LINUX_MAGIC_OFF + 4] == kernelfmt.LINUX_MAGIC


def vmlinux_hint(kernel):
    """A bzImage carries its kernel as a compressed ELF: say how to get it
    for GDB, unless SYMS= already gives symbols."""
    if env("SYMS") or not is_bzimage(kernel):
        return ""
    from .own import bzimage
    out = bzimage.default_output(kernel, build_dir())
    if out.exists() and out.stat().st_mtime >= os.stat(kernel).st_mtime:
        return "its kernel ELF is extracted already: add SYMS=%s" % quote_make(str(out))
    return ("its kernel ELF (sections, entry point; symbols if it has any): make vmlinux "
            "KERNEL=%s, then add SYMS=%s" % (quote_make(kernel), quote_make(str(out))))


def vmlinux():
    """make vmlinux KERNEL=bzImage: its embedded ELF under the build directory."""
    _, kernel, _ = own()
    if not kernel:
        raise check.Bad("make vmlinux needs KERNEL=bzImage")
    check.read("KERNEL", kernel, 0)
    from .own import bzimage
    out = bzimage.default_output(kernel, build_dir())
    try:
        ex = bzimage.write(kernel, out)
    except (bzimage.BzImageError, OSError) as e:
        raise check.Bad("KERNEL=%s: %s" % (check.shown(kernel), e))
    for line in ex.notes(kernel):
        print("bootlab: %s" % line)
    print("bootlab: wrote %s; load it with: make debug KERNEL=%s SYMS=%s"
          % (out, quote_make(kernel), quote_make(str(out))))
    return 0


# ---- the commands ---------------------------------------------------------------

def prepare(what, headless_display):
    """Check make's options, then (the Machine, build dir, QEMU's display):
    a window with $DISPLAY, else headless_display, unless QEMU_ARGS chose."""
    stop_address()
    stop_choice()
    m = machine()
    b = build_dir()
    b.mkdir(parents=True, exist_ok=True)
    banner(what)
    return m, b, screen(None if os.environ.get("DISPLAY") else headless_display)


def start_qemu(m, b, display, **options):
    qemu = session.Qemu(lambda fd: cmdline.qemu(m, display=display, debugcon=b / "debugcon.log",
                                                 gdb_fd=fd), b / "qemu.log", **options)
    return qemu.start()


def debug():
    m, b, display = prepare("make debug", "none")
    stop = stop_address()
    # The guest's RAM shared with GDB: bl maps reads page tables from it.
    qemu = start_qemu(m, b, display, ram_bytes=cmdline.ram_bytes(m))
    qemu.watch()
    head = None
    if stop_choice() != "reset" and headstart.limit() > 0:
        head = headstart.HeadStart(qemu.port, stop, headstart.limit())
        head.start()
    try:
        status = session.interactive(gdb_argv(qemu.target, stop), qemu=qemu)
    finally:
        qemu.stop()
        if head:
            head.finish()
    return 0 if status == 0 else 1


def qemu_gdb():
    m, b, display = prepare("make qemu-gdb", "curses")
    p = port()
    qemu = start_qemu(m, b, display, port=p, stdin=None, new_session=False,
                      terminal=display == "curses")
    options = "".join(" %s=%s" % (k, quote_make(env(k))) for k in ("IMAGE", "KERNEL", "SYMS")
                      if env(k))
    if p != default_port() or env("PORT"):
        options += " GDBPORT=%d" % p
    print("bootlab: QEMU is paused at the reset vector, gdbstub on 127.0.0.1:%d." % p)
    print("bootlab: in another terminal, run: make gdb%s" % options)
    sys.stdout.flush()
    try:
        qemu.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        qemu.stop()
    note = qemu.death_note()
    if note:
        print(note, file=sys.stderr)
        return 1
    return 0


def quote_make(text):
    return text if re.fullmatch(r"[\w./@+:-]+", text) else "'%s'" % text.replace("'", "'\\''")


def gdb_only():
    stop = stop_address()
    p = port()
    status = session.interactive(gdb_argv(cmdline.gdb_target(p), stop))
    return 0 if status == 0 else 1


def run():
    m, b, display = prepare("make run", "curses")
    print("bootlab: debug console (port 0xE9) -> %s" % (b / "debugcon.log"))
    sys.stdout.flush()
    try:
        return subprocess.call(cmdline.qemu(m, display=display, debugcon=b / "debugcon.log"))
    except KeyboardInterrupt:
        return 130


def rr_dir():
    return Path(env("RR_DIR")) if env("RR_DIR") else build_dir() / "rr"


def record(if_stale=False):
    """Record the lab's image (or IMAGE=) into B/rr, unless a recording of
    this very image is there and if_stale."""
    image, kernel, _ = own()
    if kernel:
        raise check.Bad("make record/debug-rr take IMAGE=, not KERNEL=")
    check.stop_address(*own())
    from .rr import record as rr_record
    disk = image or build_dir() / "bootlab.img"
    seconds = env("RR_SECONDS") or "10"
    try:
        seconds = float(seconds)
    except ValueError:
        raise check.Bad("RR_SECONDS=%s: a number of seconds" % check.shown(seconds))
    shape = machine_options()
    smp = shape["smp"]
    if smp and smp > 1:
        # Seen: qemu-system-x86_64 -smp 2 -icount ...,rr=record exits at once.
        raise check.Bad("SMP=%d: QEMU 7.2's record/replay runs one CPU only (\"Record/replay "
                        "feature is not supported for 'smp'\"); record SMP=1, or watch the "
                        "APs live with make debug SMP=%d" % (smp, smp))
    if if_stale and rr_record.is_current(disk, rr_dir(), shape):
        return 0
    banner("make record")
    try:
        meta = rr_record.record(disk, rr_dir(), seconds, shape)
    except (rr_record.RecordError, OSError) as e:
        raise check.Bad("recording failed: %s" % e)
    print("bootlab: recorded %s: %d instructions in %.1f s, ended: %s -> %s"
          % (disk, meta["end_icount"], meta["seconds"],
             rr_record.WHY.get(meta["ended"], meta["ended"]), rr_dir()))
    return 0


def debug_rr():
    record(if_stale=True)
    stop = stop_address()
    b = build_dir()
    relay = session.Qemu(lambda fd: [sys.executable, "-m", "bootlab.rr.replay", str(rr_dir()),
                                     "--listen-fd", str(fd)], b / "rr-relay.log",
                         env=dict(os.environ, PYTHONPATH=str(project.ROOT)))
    relay.start()
    relay.watch()
    try:
        status = session.interactive(gdb_argv(relay.target, stop))
    finally:
        relay.stop()
    return 0 if status == 0 else 1


COMMANDS = {"debug": debug, "qemu-gdb": qemu_gdb, "gdb": gdb_only, "run": run,
            "record": record, "debug-rr": debug_rr, "vmlinux": vmlinux}


def main(argv):
    if len(argv) != 1 or argv[0] not in COMMANDS and argv[0] != "tour":
        print("usage: python3 -m bootlab.cli %s" % "|".join(list(COMMANDS) + ["tour"]),
              file=sys.stderr)
        return 2
    try:
        if argv[0] == "tour":
            from . import tour
            return tour.main()
        return COMMANDS[argv[0]]()
    except (check.Bad, session.SessionError, cmdline.BadOption) as e:
        print("bootlab: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    proc.entry_point(lambda: main(sys.argv[1:]), "bootlab")
