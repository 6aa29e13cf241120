"""The `bl` command prefix, the `set/show bootlab` settings prefix, and the
base class every bootlab command derives from.

A subclass sets NAME (the word after `bl`), writes its help as the class
docstring, and implements run(argv). LIVE = True declares once that the
command needs a stopped, connected target. Any gdb.error escaping run() is
turned into a gdb.GdbError, which GDB prints as one line, never a traceback;
so is any other exception (a bug), with its type named.
"""
import shlex

import gdb

from . import target


class BlPrefix(gdb.Command):
    """bootlab: look at an x86 CPU under QEMU while it boots.

Start with `bl mode`. Every subcommand has its own help: `help bl SUBCOMMAND`.
Settings: `show bootlab` and `help set bootlab`."""

    def __init__(self):
        super().__init__("bl", gdb.COMMAND_USER, prefix=True)


class SetPrefix(gdb.Command):
    """Settings of the bootlab extension."""

    def __init__(self):
        super().__init__("set bootlab", gdb.COMMAND_DATA, prefix=True)


class ShowPrefix(gdb.Command):
    """Settings of the bootlab extension."""

    def __init__(self):
        super().__init__("show bootlab", gdb.COMMAND_DATA, prefix=True)

    def invoke(self, arg, from_tty):
        if arg:
            raise gdb.GdbError("show bootlab: no setting %r (see help show bootlab)" % arg)
        for name in sorted(PARAMETERS):
            gdb.execute("show bootlab " + name)


PARAMETERS = set()


class BlParameter(gdb.Parameter):
    """Base of the `set bootlab NAME` settings; the subclass docstring is
    the help text and NAME the setting's name."""

    NAME = None

    def __init__(self, kind, *extra):
        super().__init__("bootlab " + self.NAME, gdb.COMMAND_DATA, kind, *extra)
        PARAMETERS.add(self.NAME)

    def get_set_string(self):
        return ""

    def get_show_string(self, svalue):
        return "bootlab %s is %s." % (self.NAME, svalue)


class BlCommand(gdb.Command):
    NAME = None
    LIVE = True
    COMPLETE = gdb.COMPLETE_NONE

    def __init__(self):
        super().__init__("bl " + self.NAME, gdb.COMMAND_USER, self.COMPLETE)

    def invoke(self, arg, from_tty):
        try:
            argv = shlex.split(arg)
        except ValueError as e:
            raise gdb.GdbError("bl %s: %s" % (self.NAME, e))
        try:
            if self.LIVE:
                target.require_live()
            self.run(argv)
        except gdb.GdbError:
            raise
        except (gdb.MemoryError, gdb.error) as e:
            raise gdb.GdbError("bl %s: %s" % (self.NAME, e))
        except KeyboardInterrupt:
            raise gdb.GdbError("bl %s: interrupted" % self.NAME)
        except Exception as e:   # a bug in bootlab: still one line
            raise gdb.GdbError("bl %s: internal error (%s: %s); please report it"
                               % (self.NAME, type(e).__name__, e))

    def usage(self, why):
        """Raise the error for wrong arguments, with the usage line."""
        lines = [l for l in self.__doc__.splitlines() if l.startswith("Usage: ")]
        usage = lines[0][len("Usage: "):] if lines else "bl " + self.NAME
        raise gdb.GdbError("bl %s: %s (usage: %s)" % (self.NAME, why, usage))

    def run(self, argv):
        raise NotImplementedError
