"""The dependency scan (tests/depscan) on small made-up files: what counts
as a program run, and what only looks like one."""
import textwrap

import depscan

# The texts below are scanned too, as part of the project (test_dependencies):
# GDB's "target remote | exec PROG" is spelled with {EXEC} so that their
# made-up programs are not taken for real ones.
EXEC = "exec"


def scan(tmp_path, **files):
    """{program or module: [line, ...]} that the scan finds in files given
    as name=text (a '__' in a name stands for '/', '_' before 'sh'/'py'/'mk'
    for the dot)."""
    paths = []
    for name, text in files.items():
        path = name.replace("__", "/").replace("_sh", ".sh").replace("_py", ".py").replace("_mk", ".mk")
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(textwrap.dedent(text).lstrip("\n"))
        paths.append(path)
    found = {}
    for use in depscan.scan(str(tmp_path), paths):
        found.setdefault(use.name, []).append(use.line)
    return found


def test_shell_commands_not_words_that_look_like_them(tmp_path):
    found = scan(tmp_path, run_sh="""
        #!/bin/sh
        set -eu
        awk '$1 == "deb" { print $2 }
        other { next }' file            # an awk program is no command
        case $1 in
        build|run) echo nasm ;;         # case patterns are none either
        *) tr a b < in > out 2>&1 ;;
        esac
        cat <<EOF
        heredoc words
        EOF
        x=$(id -u) y="$(stat -c %s "$f")"
        helper() { "$@"; }
        helper timeout -s KILL 10 qemu-img info disk
        command -v debootstrap > /dev/null
        tools/own-script.sh
        """)
    assert sorted(found) == ["/bin/sh", "awk", "cat", "debootstrap", "id", "qemu-img",
                             "stat", "timeout", "tr"], found


def test_make_variables_and_functions(tmp_path):
    found = scan(tmp_path, Makefile="""
        CC := $(CROSS)gcc
        GDB ?= gdb
        PIPE = setpriv --pdeathsig KILL $(1)
        MACHINE := $(shell sed -e 's/#.*//' file)
        ifneq ($(X),)
        $(error bootlab: IMAGE= goes with make debug only)
        endif
        %.o: %.c
        \t$(if $(V),,@)$(CC) -c -o $@ $<
        debug: all
        \t@timeout 60 $(GDB) -ex 'target remote | {EXEC} $(call PIPE,qemu-system-x86_64)'
        """.replace("\\t", "\t").replace("{EXEC}", EXEC))
    assert sorted(found) == ["gcc", "gdb", "qemu-system-x86_64", "sed", "setpriv", "timeout"], found


def test_python_calls_constants_and_imports(tmp_path):
    found = scan(tmp_path, tools__qemuargs_py='''
        QEMU = "qemu-system-x86_64"
        END = "debug_exit"
        def command(image):
            return [QEMU, "-display", "none", image]
        ''', tools__record_py='''
        """Runs `target remote | {EXEC} nothing-in-a-docstring`."""
        import subprocess, capstone
        import qemuargs
        from qemuargs import END
        def record():
            cmd = ["qemu-img", "create", "x"]
            subprocess.run(cmd, check=True)
            subprocess.run(["setpriv", "--pdeathsig", "KILL"] + qemuargs.command("x"))
            names = [END]
            return "target remote | {EXEC} gdbserver :1"
        '''.replace("{EXEC}", EXEC))
    assert sorted(found) == ["capstone", "gdbserver", "qemu-img", "qemu-system-x86_64",
                             "qemuargs", "setpriv", "subprocess"], found
