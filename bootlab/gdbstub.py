"""GDB's remote serial protocol, as bootlab speaks it to QEMU's gdbstub.

A packet is `$data#cs`, cs being the sum of the data bytes mod 256 in two hex
digits (GDB manual, "Overview" of the Remote Protocol). Outside packets the
stream carries single bytes: `+`/`-` acknowledgements and 0x03, the
interrupt request. Inside data, `$`, `#` and `}` are escaped as `}` + (c ^
0x20), so a raw `#` always ends a packet. Used by the record/replay relay,
by the raw steppers (through GDB) and by `make bench`'s floor (Client).
"""
import binascii
import re
import select
import struct
import time

INTERRUPT = b"\x03"     # the byte that asks a running target to stop (GDB manual, "Interrupts")


def frame(data: bytes) -> bytes:
    return b"$" + data + b"#" + b"%02x" % (sum(data) & 0xff)


class Reader:
    """Splits a byte stream into ("pkt", data), ("ack", b"+" or b"-") and
    ("int", b"\\x03") items. feed() returns the items complete so far."""

    def __init__(self):
        self.buf = b""

    def feed(self, data: bytes):
        self.buf += data
        items = []
        while self.buf:
            first = self.buf[:1]
            if first == b"$":
                end = self.buf.find(b"#")
                if end < 0 or len(self.buf) < end + 3:
                    break                           # wait for the rest
                items.append(("pkt", self.buf[1:end]))
                self.buf = self.buf[end + 3:]
            elif first in (b"+", b"-"):
                items.append(("ack", first))
                self.buf = self.buf[1:]
            elif first == INTERRUPT:
                items.append(("int", first))
                self.buf = self.buf[1:]
            else:
                self.buf = self.buf[1:]             # noise between packets
        return items


def unescape(data: bytes) -> bytes:
    """Binary data of a reply (qXfer's): `}` + (c ^ 0x20) is c."""
    if b"}" not in data:
        return data
    out, i = bytearray(), 0
    while i < len(data):
        if data[i:i + 1] == b"}" and i + 1 < len(data):
            out.append(data[i + 1] ^ 0x20)
            i += 2
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


def is_stop_reply(data) -> bool:
    """T (signal + info), S (signal), W (exited), X (killed): the packets that
    end a resume (GDB manual, "Stop Reply Packets")."""
    return data[:1] in (b"T", b"S", b"W", b"X", "T", "S", "W", "X")


def is_forward_resume(data: bytes) -> bool:
    return data[:1] in (b"c", b"s", b"C", b"S") or data.startswith(b"vCont;")


def hexstr(text: str) -> bytes:
    return text.encode().hex().encode()


MAX_INCLUDE_DEPTH = 4      # QEMU's descriptions include one level; no loops
_TAGS = re.compile(r"<(xi:include|reg)\b([^>]*)>")
_ATTR = re.compile(r'(\w+)="([^"]*)"')


class RegisterLayout:
    """Where each register sits in a `g` reply: {name: (byte offset, size)},
    from GDB's `maint print remote-registers` (the target's own layout)."""

    def __init__(self, fields):
        self.fields = fields
        self._formats = {}

    @classmethod
    def from_gdb_table(cls, table):
        fields = {}
        for line in table.splitlines()[1:]:
            f = line.split()
            # Name Nr Rel Offset Size Type "Rmt Nr" "g/G Offset"
            if len(f) == 8 and f[7].isdigit():
                fields[f[0]] = (int(f[7]), int(f[4]))
        return cls(fields)

    @classmethod
    def from_target_xml(cls, read, annex="target.xml"):
        """From the target's own description (GDB manual, "Target
        Descriptions"): read(annex) gives each document's text. Registers
        come in document order, xi:include'd files where they are included,
        numbered on from `regnum` when one is given; the `g` reply holds
        them in number order, each bitsize/8 bytes. Comments are dropped
        first: QEMU 7.2's i386-64bit.xml comments out ss_base..es_base,
        which are not in its `g` reply."""
        regs = []

        def walk(name, depth=0):
            text = re.sub(r"<!--.*?-->", "", read(name), flags=re.S)
            for tag, attrs in _TAGS.findall(text):
                a = dict(_ATTR.findall(attrs))
                if tag == "xi:include" and depth < MAX_INCLUDE_DEPTH:
                    walk(a["href"], depth + 1)
                elif tag == "reg":
                    number = int(a["regnum"]) if "regnum" in a else (regs[-1][0] + 1 if regs else 0)
                    regs.append((number, a["name"], int(a["bitsize"]) // 8))
        walk(annex)
        fields, at = {}, 0
        for _, name, size in sorted(regs):
            fields[name] = (at, size)
            at += size
        return cls(fields)

    def decode(self, reply, names):
        """{name: int} of the named registers of a `g` reply (hex text). One
        struct format per set of names: a loop of a few thousand steps a
        second spends its time in the link, not here."""
        key = tuple(names)
        if key not in self._formats:
            self._formats[key] = self._format(key)
        fmt, order = self._formats[key]
        values = fmt.unpack_from(bytes.fromhex(reply))
        return dict(zip(order, values))

    def decoder(self, names):
        """decode() for one set of names, looked up once: a function of a
        `g` reply (hex, as bytes or text) for loops that decode thousands."""
        fmt, order = self._format(tuple(names))
        unpack, unhex = fmt.unpack_from, binascii.a2b_hex
        return lambda reply: dict(zip(order, unpack(unhex(reply))))

    def _format(self, names):
        sizes = {1: "B", 2: "H", 4: "I", 8: "Q"}
        order = sorted(names, key=lambda n: self.fields[n][0])
        fmt, at = "<", 0
        for n in order:
            off, size = self.fields[n]
            fmt += "%dx%s" % (off - at, sizes[size]) if off > at else sizes[size]
            at = off + size
        return struct.Struct(fmt), order


class Client:
    """A bare gdbstub client over TCP: make bench's floor (no GDB in
    between) and make debug's head start (bootlab.headstart). Every wait is
    bounded."""

    def __init__(self, port, host="127.0.0.1", timeout=10):
        import socket   # here, not at the top: GDB loads this module for framing only
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.reader = Reader()
        self.items = []

    def request(self, data: bytes, timeout=None) -> bytes:
        """Send a packet; its reply (within timeout seconds, else TimeoutError)."""
        self.sock.sendall(frame(data))
        return self.reply(data, timeout)

    def interrupt(self, timeout=None) -> bytes:
        """Stop a running target; its stop reply."""
        self.sock.sendall(INTERRUPT)
        return self.reply(INTERRUPT, timeout)

    def reply(self, what, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            while self.items:
                kind, item = self.items.pop(0)
                if kind == "pkt":
                    self.sock.sendall(b"+")
                    return item
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                raise TimeoutError("the gdbstub did not answer %r" % what[:20])
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the gdbstub closed the connection")
            self.items += self.reader.feed(chunk)

    def close(self):
        self.sock.close()
