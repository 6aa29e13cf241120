"""The simple commands of a POSIX shell text (a script, a make recipe line,
the command GDB starts with `target remote | exec ...`): for each, its line
and its words, quotes removed. The bodies of $(...) and `...` are commands of
their own; here-document bodies, case patterns, redirections and function
definitions are left out. Not a shell: enough of one for what scripts and
recipes are written with, so that the dependency scan reads commands, not
words that only look like them (an awk program in quotes, a case pattern)."""
import re

# A word still holding an expansion keeps its '$' text ("$tool", "$(...)");
# the scan can tell it is not a literal program name.
SUBST = "$(...)"


def commands(text, line=1):
    """[(line, [word, ...]), ...] for every simple command of text."""
    parser = _Parser(text, line)
    parser.run()
    return parser.found


def functions(text):
    """Names of the shell functions text defines (`name() {`)."""
    return set(re.findall(r"^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)", text, re.M))


def _paren_end(text, j):
    """Index of the ')' closing the '(' just before j (quotes respected)."""
    depth = 1
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "'":
            j = _find(text, "'", j + 1) + 1
            continue
        if c == '"':
            j = _dquote_end(text, j + 1) + 1
            continue
        if c == "`":
            j = _find(text, "`", j + 1) + 1
            continue
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth == 0:
            return j
        j += 1
    return len(text)


def _dquote_end(text, j):
    """Index of the '"' closing a double-quoted string that starts at j."""
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
        elif c == '"':
            return j
        elif text.startswith("$(", j):
            j = _paren_end(text, j + 2) + 1
        elif c == "`":
            j = _find(text, "`", j + 1) + 1
        else:
            j += 1
    return len(text)


def _find(text, ch, j):
    k = text.find(ch, j)
    return len(text) if k < 0 else k


def _substitutions(text, line):
    """Commands inside the $(...) and `...` of text taken as double-quoted
    (or arithmetic) content, where single quotes do not quote."""
    found, j = [], 0
    while j < len(text):
        here = line + text.count("\n", 0, j)
        if text[j] == "\\":
            j += 2
        elif text.startswith("$((", j):
            end = _paren_end(text, j + 2)
            found += _substitutions(text[j + 3:end], here)
            j = end + 1
        elif text.startswith("$(", j):
            end = _paren_end(text, j + 2)
            found += commands(text[j + 2:end], here)
            j = end + 1
        elif text[j] == "`":
            end = _find(text, "`", j + 1)
            found += commands(text[j + 1:end], here)
            j = end + 1
        else:
            j += 1
    return found


class _Parser:
    def __init__(self, text, line):
        self.text, self.i, self.line = text, 0, line
        self.found = []
        self.words, self.word, self.cmd_line = [], None, line
        self.drop_next = False       # the next word is a redirection's target
        self.heredocs = []           # (delimiter, strip tabs) read after this line
        self.cases = 0               # depth of case ... esac
        self.pattern = False         # at a case pattern ("a|b)")

    def add(self, s):
        if self.word is None:
            self.word = []
            if not self.words:
                self.cmd_line = self.line
        self.word.append(s)

    def end_word(self):
        if self.word is None:
            return
        word, self.word = "".join(self.word), None
        if self.drop_next:
            self.drop_next = False
            return
        self.words.append(word)
        if len(self.words) == 3 and self.words[0] == "case" and word == "in":
            self.words, self.pattern = [], True
            self.cases += 1

    def end_command(self):
        self.end_word()
        if self.words:
            if self.words[0] == "esac":
                self.cases = max(0, self.cases - 1)
            self.found.append((self.cmd_line, self.words))
        self.words = []

    def run(self):
        t = self.text
        while self.i < len(t):
            if self.pattern and self.skip_pattern():
                continue
            if self.i >= len(t):
                break
            c = t[self.i]
            if c == "\\":
                if t.startswith("\n", self.i + 1):
                    self.line += 1
                else:
                    self.add(t[self.i + 1:self.i + 2])
                self.i += 2
            elif c == "'":
                end = _find(t, "'", self.i + 1)
                self.add(t[self.i + 1:end])
                self.line += t.count("\n", self.i, end)
                self.i = end + 1
            elif c == '"':
                end = _dquote_end(t, self.i + 1)
                body = t[self.i + 1:end]
                self.found += _substitutions(body, self.line)
                self.add(body)
                self.line += body.count("\n")
                self.i = end + 1
            elif c == "`" or t.startswith("$(", self.i):
                self.substitution()
            elif c == "$" and t.startswith("${", self.i):
                end = _find(t, "}", self.i)
                self.found += _substitutions(t[self.i + 2:end], self.line)
                self.add(t[self.i:end + 1])
                self.i = end + 1
            elif c == "#" and self.word is None:
                self.i = _find(t, "\n", self.i)
            elif c in " \t":
                self.end_word()
                self.i += 1
            elif c == "\n":
                self.end_command()
                self.line += 1
                self.i += 1
                self.skip_heredocs()
            elif c in "<>" or t.startswith("&>", self.i):
                self.redirection()
            elif c in ";&|()":
                self.operator()
            else:
                self.add(c)
                self.i += 1
        self.end_command()

    def substitution(self):
        t = self.text
        if t[self.i] == "`":
            end = _find(t, "`", self.i + 1)
            self.found += commands(t[self.i + 1:end], self.line)
        elif t.startswith("$((", self.i):
            end = _paren_end(t, self.i + 2)
            self.found += _substitutions(t[self.i + 3:end], self.line)
        else:
            end = _paren_end(t, self.i + 2)
            self.found += commands(t[self.i + 2:end], self.line)
        self.line += t.count("\n", self.i, end)
        self.add(SUBST)
        self.i = end + 1

    def operator(self):
        t = self.text
        op = re.match(r";;&?|;&|&&|\|\||\|&|[;&|()]", t[self.i:]).group()
        self.end_word()
        if op == "(" and len(self.words) == 1 and re.match(r"\s*\)", t[self.i + 1:]):
            # name() { ...: a function definition, not a command
            self.words = []
            self.i = t.index(")", self.i) + 1
            return
        self.end_command()
        self.i += len(op)
        if op.startswith(";;") or op == ";&":
            self.pattern = self.cases > 0

    def redirection(self):
        t = self.text
        if self.word is not None and "".join(self.word).isdigit():
            self.word = None              # 2>&1: the 2 is the descriptor
        self.end_word()
        op = re.match(r"<<-|<<<|<<|>>|>&|<&|>\||<>|&>>|&>|[<>]", t[self.i:]).group()
        self.i += len(op)
        if op in ("<<", "<<-"):
            m = re.match(r"[ \t]*(['\"]?)([^\s'\";&|<>()]+)\1", t[self.i:])
            if m:
                self.heredocs.append((m.group(2), op == "<<-"))
                self.i += m.end()
            return
        if op in (">&", "<&") and re.match(r"[0-9-]", t[self.i:self.i + 1]):
            self.i += 1                   # >&1, <&-: a descriptor, no file
            return
        self.drop_next = True

    def skip_heredocs(self):
        t = self.text
        for delim, tabs in self.heredocs:
            while self.i < len(t):
                end = _find(t, "\n", self.i)
                body_line = t[self.i:end]
                self.i, self.line = end + 1, self.line + 1
                if (body_line.lstrip("\t") if tabs else body_line) == delim:
                    break
        self.heredocs = []

    def skip_pattern(self):
        """At a case pattern: skip it up to its ')' (or leave at esac)."""
        t = self.text
        m = re.match(r"[ \t\n]*", t[self.i:])
        self.line += m.group().count("\n")
        self.i += m.end()
        if re.match(r"esac\b", t[self.i:]):
            self.pattern = False
            return False
        if self.i >= len(t) or t[self.i] == "#":
            self.pattern = t[self.i:self.i + 1] == "#"
            if self.pattern:
                self.i = _find(t, "\n", self.i)
            return self.pattern
        j = self.i
        while j < len(t) and t[j] != ")":
            if t[j] in "'\"":
                j = _find(t, t[j], j + 1)
            j += 1
        self.i, self.pattern = j + 1, False
        return True
