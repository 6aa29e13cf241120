"""rsp.py: the framing of GDB's remote serial protocol, nothing more.

A packet is `$data#cs`, cs being the sum of the data bytes mod 256 in two hex
digits (GDB manual, "Overview" of the Remote Protocol). Outside packets the
stream carries single bytes: `+`/`-` acknowledgements and 0x03, the
interrupt request. Inside data, `$`, `#` and `}` are escaped as `}` + (c ^ 0x20),
so a raw `#` always ends a packet.
"""


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
            elif first == b"\x03":
                items.append(("int", first))
                self.buf = self.buf[1:]
            else:
                self.buf = self.buf[1:]             # noise between packets
        return items


def is_stop_reply(data: bytes) -> bool:
    """T (signal + info), S (signal), W (exited), X (killed): the packets that
    end a resume (GDB manual, "Stop Reply Packets")."""
    return data[:1] in (b"T", b"S", b"W", b"X")


def is_forward_resume(data: bytes) -> bool:
    return data[:1] in (b"c", b"s", b"C", b"S") or (data.startswith(b"vCont;"))


def hexstr(text: str) -> bytes:
    return text.encode().hex().encode()
