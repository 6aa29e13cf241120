"""Python's side of the dependency scan, from the syntax tree:
- the program of each subprocess.run/Popen/call/check_call/check_output,
  os.exec*/os.spawn* and shutil.which call: the first element of the list or
  tuple given (directly, through a local variable, or as `PREFIX + cmd`);
- every list or tuple whose first element is a module-level string constant
  and which holds an option (QEMU = "qemu-system-x86_64" ... [qemuargs.QEMU,
  ..., "-display", "none"]): this code names its programs that way, whoever
  finally runs the list;
- the program after `| exec` in a string (GDB's `target remote | exec ...`),
  docstrings left out;
- the top-level module of every absolute import.
Names are resolved across files by module name (the file's stem), so
`qemuargs.QEMU` or `from qemuargs import PIPE_CHILD` work wherever the file
lives. What cannot be resolved simply (a command built by a function call,
sys.executable) is left out."""
import ast
import os
import textwrap

from .commands import EXEC_PIPE, programs_of

CALLS = {("subprocess", f) for f in ("run", "Popen", "call", "check_call", "check_output",
                                     "getoutput", "getstatusoutput")}
CALLS |= {("shutil", "which")}
# os.execv(path, args), os.execlp(file, arg0, ...): the program comes first;
# os.spawnv(mode, path, args): second.
EXEC_PREFIXES = ("exec", "posix_spawn")
SPAWN_PREFIX = "spawn"


def scan(files):
    """[(path, line, kind, name)] for files {path: text}."""
    trees = {}
    for path, text in files.items():
        trees[path] = ast.parse(textwrap.dedent(text), path)
    constants = {}
    for path, tree in trees.items():
        constants.setdefault(_stem(path), {}).update(_module_constants(tree))
    found = []
    for path, tree in trees.items():
        found += _Scanner(path, tree, constants).run()
    return found


def _stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def _module_constants(tree):
    """NAME -> its value node, for module-level `NAME = ...` statements."""
    return _assignments(tree)


def _assignments(scope):
    """NAME -> the value of the first `NAME = ...` of a function or module
    body (nested functions and classes left out: their names are theirs)."""
    found, todo = {}, list(scope.body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            found.setdefault(node.targets[0].id, node.value)
        todo += [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt)]
    return found


class _Scanner:
    def __init__(self, path, tree, constants):
        self.path, self.tree, self.constants = path, tree, constants
        self.aliases = {}       # local name -> (module stem, None) or (stem, NAME)
        self.scopes = {}        # function -> its assignments
        self.found = []

    def run(self):
        self.imports()
        docstrings = self._docstrings()
        functions = self._function_scopes()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                self.call(node, functions.get(node, self.tree))
            elif isinstance(node, (ast.List, ast.Tuple)) and self.command_line(node):
                self.command(node, self.words(node, self.tree))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node not in docstrings and EXEC_PIPE.search(node.value):
                self.command(node, [node.value])
            elif isinstance(node, ast.JoinedStr):
                text = "".join(v.value if isinstance(v, ast.Constant) else "$x" for v in node.values)
                if EXEC_PIPE.search(text):
                    self.command(node, [text])
        return self.found

    def imports(self):
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    top = a.name.split(".")[0]
                    self.aliases[a.asname or top] = (a.name.split(".")[-1] if a.asname else top, None)
                    self.add(node, "module", top)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                self.add(node, "module", node.module.split(".")[0])
                for a in node.names:
                    self.aliases[a.asname or a.name] = (node.module.split(".")[-1], a.name)
            elif isinstance(node, ast.ImportFrom):
                for a in node.names:      # from . import x: x is a module of ours
                    self.aliases[a.asname or a.name] = (a.name, None)

    def add(self, node, kind, name):
        self.found.append((self.path, node.lineno, kind, name))

    def command(self, node, words):
        for kind, name in programs_of(words):
            self.add(node, kind, name)

    def call(self, node, scope):
        f = node.func
        if not (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)):
            return
        module, name = self.aliases.get(f.value.id, (f.value.id, None))[0], f.attr
        if (module, name) in CALLS or (module == "os" and name.startswith(EXEC_PREFIXES)):
            argv = node.args[0] if node.args else None
        elif module == "os" and name.startswith(SPAWN_PREFIX):
            argv = node.args[1] if len(node.args) > 1 else None
        else:
            return
        if argv is not None:
            self.command(node, self.words(argv, scope))

    # ---- resolving expressions to command words -----------------------------
    def words(self, node, scope, depth=0):
        """The leading words of a command expression; None marks the first
        word that cannot be resolved (and ends the list)."""
        if depth > 5:
            return [None]
        if isinstance(node, (ast.List, ast.Tuple)):
            out = []
            for elt in node.elts:
                more = (self.words(elt.value, scope, depth + 1) if isinstance(elt, ast.Starred)
                        else [self.word(elt, scope)])
                out += more
                if None in more:
                    break
            return out
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self.words(node.left, scope, depth + 1)
            return left if None in left else left + self.words(node.right, scope, depth + 1)
        if isinstance(node, ast.Constant):
            return [node.value if isinstance(node.value, str) else None]
        value, where = self.lookup(node, scope)
        return [None] if value is None else self.words(value, where, depth + 1)

    def word(self, node, scope):
        if not isinstance(node, ast.Constant):
            node, _ = self.lookup(node, scope)
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None

    def command_line(self, node):
        """Is the list a command line named by a constant: its first element
        a module-level string constant (NAME, module.NAME) and an option
        ("-x") among its literal elements? ([END], (DISK, SNAPSHOTS) are not.)"""
        if not node.elts or not isinstance(node.elts[0], (ast.Name, ast.Attribute)):
            return False
        value, _ = self.lookup(node.elts[0], None)
        return isinstance(value, ast.Constant) and isinstance(value.value, str) and any(
            isinstance(e, ast.Constant) and str(e.value).startswith("-") for e in node.elts[1:])

    def lookup(self, node, scope):
        """(value node, scope to read it in) for a Name (local to scope,
        module-level or imported) or an Attribute (module.NAME); else None."""
        if isinstance(node, ast.Name):
            if scope is not None and scope is not self.tree:
                if scope not in self.scopes:
                    self.scopes[scope] = _assignments(scope)
                if node.id in self.scopes[scope]:
                    return self.scopes[scope][node.id], scope
            if node.id in self.aliases and self.aliases[node.id][1]:
                stem, name = self.aliases[node.id]
                return self.constants.get(stem, {}).get(name), self.tree
            return self.constants.get(_stem(self.path), {}).get(node.id), self.tree
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            stem = self.aliases.get(node.value.id, (node.value.id, None))[0]
            return self.constants.get(stem, {}).get(node.attr), self.tree
        return None, None

    def _function_scopes(self):
        """Each node -> the innermost function holding it."""
        scopes = {}
        for fn in ast.walk(self.tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    scopes[node] = fn      # inner functions come later: they win
        return scopes

    def _docstrings(self):
        found = set()
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                    found.add(body[0].value)
        return found
