"""What graded code may reach of the course package: deny by default.

Each assignment declares, beside its exercises (``HANDED`` in ``autograder/exercises/<tutorial>.py``),
the course helpers that its setup cell hands to students, as ``"module:name"``. A graded answer may call
those, its own code and its own earlier answers, and nothing else of the course. The sandbox sees a
*sealed* copy of the package built from that list:

- the helpers, and every definition of the package they use (followed through the source, at any
  depth: functions, classes, constants, re-exports), keep their code;
- plain constants (``NUM_CLASSES = 10``: a number, a string or a short tuple of them) stay too;
- every other top-level name of every module (functions, classes and their methods, jitted and
  custom-VJP functions, private helpers, other module values) is a ``Sealed`` placeholder that raises
  ``PermissionError`` with one line naming the assignment when it is called or used; its source is not
  in the copy, so nothing can recover it;
- modules keep their names, so that ``from course_utils.training import train`` in a setup cell still
  imports (the name is sealed).

The inline check applies the same list (``autograder.inline``), so that an answer that calls a sealed
name fails there with the same line. This module is pure (no processes): it reads the package's source.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import course_utils

PACKAGE = "course_utils"
PACKAGE_DIR = Path(course_utils.__file__).resolve().parent

# One line, the same in the sandbox and in the inline check.
MESSAGE = ("{name} is not available to graded answers in {assignment}: an answer may use its own code, "
           "the student's earlier answers and the helpers of the setup cell ({helpers})")
WHILE_GRADED = "{name} is the answer to exercise {exercise} and is not available while it is graded"


def message(name: str, assignment: str, helpers) -> str:
    listed = ", ".join(sorted({h.split(":")[1] for h in helpers})) or "none: NumPy only"
    return MESSAGE.format(name=name, assignment=assignment, helpers=listed)


# --- reading the package ----------------------------------------------------------------------------

@dataclass
class Statement:
    """One top-level statement of a course module: the names it binds and the course names it uses."""
    node: ast.stmt
    binds: tuple
    uses: frozenset                 # {(module, name)} of the course package
    is_import: bool = False


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    statements: list = field(default_factory=list)
    binding: dict = field(default_factory=dict)      # name -> the statement that binds it last


def _module_name(relative: Path) -> str:
    return ".".join((PACKAGE,) + relative.with_suffix("").parts).removesuffix(".__init__")


def _resolve_from(module: str, is_package: bool, node: ast.ImportFrom) -> str | None:
    """The absolute module of ``from X import ...`` inside ``module`` (None: not the course's)."""
    if node.level:
        parts = module.split(".")
        base = parts if is_package else parts[:-1]
        base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    return target if target == PACKAGE or target.startswith(PACKAGE + ".") else None


class _Aliases:
    """Names that stand for course modules or course objects inside one scope."""

    def __init__(self, modules: set):
        self.modules = modules
        self.objects: dict[str, tuple] = {}      # local name -> (module, attribute)
        self.module_alias: dict[str, str] = {}   # local name -> module

    def add_import(self, owner: str, is_package: bool, node) -> list:
        bound = []
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                bound.append(local)
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    self.module_alias[local] = alias.name if alias.asname else PACKAGE
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_from(owner, is_package, node)
            for alias in node.names:
                local = alias.asname or alias.name
                bound.append(local)
                if base is None or alias.name == "*":
                    continue
                if f"{base}.{alias.name}" in self.modules:
                    self.module_alias[local] = f"{base}.{alias.name}"
                else:
                    self.objects[local] = (base, alias.name)
        return bound


def _bound_names(node: ast.stmt) -> list:
    """Names a top-level statement binds (for if/try: the names bound anywhere in its blocks)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    names = []
    for sub in ast.walk(node):
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(sub.name)
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.append(sub.id)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            names += [a.asname or a.name.split(".")[0] for a in sub.names if a.name != "*"]
    return list(dict.fromkeys(names))


def _uses(node: ast.stmt, owner: Module, top: set, module_aliases: _Aliases, modules: set,
          is_package: bool) -> frozenset:
    """The course names a statement uses: its own module's top-level names, imported course objects,
    and attributes of course modules (``mlp.forward``), including imports inside functions."""
    local = _Aliases(modules)
    local.objects.update(module_aliases.objects)
    local.module_alias.update(module_aliases.module_alias)
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Import, ast.ImportFrom)) and sub is not node:
            local.add_import(owner.name, is_package, sub)
    found = set()

    def module_of(expr) -> str | None:
        if isinstance(expr, ast.Name):
            return local.module_alias.get(expr.id)
        if isinstance(expr, ast.Attribute):
            parent = module_of(expr.value)
            if parent and f"{parent}.{expr.attr}" in modules:
                return f"{parent}.{expr.attr}"
        return None

    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
            if sub.id in local.objects:
                found.add(local.objects[sub.id])
            if sub.id in top:                      # (an imported name: its import statement too)
                found.add((owner.name, sub.id))
        elif isinstance(sub, ast.Attribute):
            base = module_of(sub.value)
            if base and f"{base}.{sub.attr}" not in modules:
                found.add((base, sub.attr))
                root = sub.value
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id in top:
                    found.add((owner.name, root.id))
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        found |= {v for k, v in module_aliases.objects.items() if k in _bound_names(node)}
    return frozenset(found)


@functools.lru_cache(maxsize=None)
def package_index(package_dir: Path = PACKAGE_DIR) -> dict[str, Module]:
    """Every module of the package, its top-level statements and what each binds and uses."""
    files = {_module_name(p.relative_to(package_dir)): p for p in sorted(package_dir.rglob("*.py"))
             if "__pycache__" not in p.parts}
    names = set(files)
    index = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module = Module(name, path, tree)
        is_package = path.name == "__init__.py"
        aliases = _Aliases(names)
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                aliases.add_import(name, is_package, node)
            elif isinstance(node, ast.Try):       # try: import x / except ImportError
                for sub in ast.walk(node):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        aliases.add_import(name, is_package, sub)
        top = {n for node in tree.body for n in _bound_names(node)}
        for node in tree.body:
            if _is_docstring(node):
                continue
            statement = Statement(node, tuple(_bound_names(node)),
                                  _uses(node, module, top, aliases, names, is_package),
                                  isinstance(node, (ast.Import, ast.ImportFrom)))
            module.statements.append(statement)
            for bound in statement.binds:
                module.binding[bound] = statement
        index[name] = module
    return index


def _is_docstring(node) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _is_future(node) -> bool:
    return isinstance(node, ast.ImportFrom) and node.module == "__future__"


# --- what stays open -------------------------------------------------------------------------------------

def parse_names(handed) -> set:
    """{"course_utils.mlp:forward", ...} -> {("course_utils.mlp", "forward"), ...}"""
    out = set()
    for qualified in handed:
        module, _, name = qualified.partition(":")
        if not name:
            raise ValueError(f"{qualified!r}: write allowlist entries as 'module:name'")
        out.add((module, name))
    return out


def kept_statements(handed, index: dict | None = None) -> dict[str, set]:
    """{module: {ids of the statements that keep their code}}: the handed names and, at any depth,
    every definition of the package they use. Raises LookupError for a handed name that does not exist."""
    index = index if index is not None else package_index()
    kept: dict[str, set] = {}
    todo = list(parse_names(handed))
    for module, name in todo:
        if module not in index or name not in index[module].binding:
            raise LookupError(f"the allowlist names {module}:{name}, which does not exist")
    seen = set()
    while todo:
        module, name = todo.pop()
        if (module, name) in seen or module not in index:
            continue
        seen.add((module, name))
        statement = index[module].binding.get(name)
        if statement is None:
            continue
        ids = kept.setdefault(module, set())
        if id(statement) not in ids:
            ids.add(id(statement))
            todo.extend(statement.uses)
        # a statement that changes a kept object later (custom_vjp's defvjp, ...) is kept with it
        for other in index[module].statements:
            if not other.binds and not other.is_import and id(other) not in ids and \
                    any(u == (module, name) for u in other.uses):
                ids.add(id(other))
                todo.extend(other.uses)
    return kept


def open_names(handed, index: dict | None = None) -> dict[str, set]:
    """{module: {top-level names that keep their code}} (the sealed copy's open part)."""
    index = index if index is not None else package_index()
    out = {}
    for module, ids in kept_statements(handed, index).items():
        names = {n for s in index[module].statements if id(s) in ids for n in s.binds}
        if names:
            out[module] = names
    return out


# --- the sealed copy ------------------------------------------------------------------------------------------

SEALED_MODULE = "_sealed"
SEALED_ALIAS = "__course_sealed__"

_SEALED_SOURCE = '''"""Placeholders for what graded answers may not use (made by autograder.allowlist)."""

ASSIGNMENT = {assignment!r}
HELPERS = {helpers!r}
MESSAGE = {message!r}


class Sealed:
    """Stands for a course name that graded answers may not use: any use raises PermissionError."""

    __slots__ = ("_name", "_why")

    def __init__(self, name, why=None):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_why", why)

    def _refuse(self, *args, **kwargs):
        raise PermissionError(self._why or MESSAGE.format(name=self._name))

    __call__ = __getitem__ = __iter__ = __len__ = __bool__ = __enter__ = _refuse

    def __getattr__(self, attribute):
        if attribute.startswith("__") and attribute.endswith("__"):
            raise AttributeError(attribute)
        self._refuse()

    def __setattr__(self, attribute, value):
        self._refuse()

    def __mro_entries__(self, bases):
        self._refuse()

    def __repr__(self):
        return f"<{{self._name}}: not available while grading>"


def sealed(module, name, why=None):
    return Sealed(f"{{module}}.{{name}}", why)
'''


def _is_plain_constant(node) -> bool:
    """``NUM_CLASSES = 10``, ``ACTIVATIONS = ("sigmoid", "relu")``: a module constant that is a number, a
    string or a short tuple of them stays open (no answer is a constant, and the inline check, which
    sees only calls, could not hold it back)."""
    if not (isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None):
        return False
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    if not all(isinstance(t, ast.Name) and t.id.isupper() for t in targets):
        return False
    try:
        value = ast.literal_eval(node.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    items = value if isinstance(value, tuple) and len(value) <= 16 else (value,)
    return all(isinstance(v, (int, float, str)) and not isinstance(v, bool) and len(str(v)) <= 200 for v in items)


def _source_of(module: Module, kept_ids: set, assignment: str, reasons: dict | None = None) -> str:
    """A module of the sealed copy: its docstring, its kept statements in their order, and a Sealed
    placeholder for every other top-level name it defines (``reasons``: {name: the placeholder's own
    message}, for names withheld while one exercise is graded)."""
    reasons = reasons or {}
    body = module.tree.body
    lines = []
    if body and _is_docstring(body[0]):
        lines.append(ast.unparse(body[0]))
    lines += [ast.unparse(n) for n in body if _is_future(n)]
    lines.append(f"from {PACKAGE}.{SEALED_MODULE} import sealed as {SEALED_ALIAS}")
    kept_names = {n for s in module.statements if id(s) in kept_ids for n in s.binds}
    defined = []
    for statement in module.statements:
        if statement.is_import or _is_future(statement.node):
            continue
        defined += [n for n in statement.binds if n not in kept_names and n not in defined]
    for name in defined:
        if name.startswith("__") and name.endswith("__"):
            continue
        why = f", {reasons[name]!r}" if name in reasons else ""
        lines.append(f"{name} = {SEALED_ALIAS}({module.name!r}, {name!r}{why})")
    for statement in module.statements:
        if id(statement) in kept_ids and not _is_future(statement.node) or _is_plain_constant(statement.node):
            lines.append(ast.unparse(statement.node))
        elif isinstance(statement.node, ast.Assign) and all(n.startswith("__") for n in statement.binds) \
                and isinstance(statement.node.value, (ast.Constant, ast.List, ast.Tuple)):
            lines.append(ast.unparse(statement.node))       # __all__, __version__
    return "\n".join(lines) + "\n"


def without(handed, withheld) -> tuple:
    """The allowlist while an exercise whose answer is among ``withheld`` is graded. Raises ValueError
    where a withheld name would stay open as a dependency of another handed helper."""
    rest = tuple(sorted(set(handed) - set(withheld)))
    opened = open_names(rest)
    for module, name in parse_names(withheld):
        if name in opened.get(module, ()):
            raise ValueError(f"{module}:{name} is withheld while graded, but another handed helper uses it")
    return rest


def build_sealed(destination, assignment: str, handed, autograder_stub: str | None = None,
                 withheld: dict | None = None) -> Path:
    """Write the sealed course_utils of ``assignment`` under ``destination`` -> destination.
    ``withheld``: {"module:name": exercise id} sealed, with a message naming the exercise, because that
    exercise (graded in this sandbox) asks for them; they must not be in ``handed``."""
    destination = Path(destination)
    index = package_index()
    kept = kept_statements(handed, index)
    reasons: dict = {}
    for qualified, exercise in (withheld or {}).items():
        (module, name), = parse_names([qualified])
        reasons.setdefault(module, {})[name] = WHILE_GRADED.format(name=f"{module}.{name}", exercise=exercise)
    target = destination / PACKAGE
    for name, module in index.items():
        relative = module.path.relative_to(PACKAGE_DIR)
        out = target / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(_source_of(module, kept.get(name, set()), assignment, reasons.get(name)), encoding="utf-8")
    helpers = sorted(handed)
    (target / f"{SEALED_MODULE}.py").write_text(_SEALED_SOURCE.format(
        assignment=assignment, helpers=helpers, message=message("{name}", assignment, helpers)),
        encoding="utf-8")
    if autograder_stub is not None:
        (destination / "autograder").mkdir(parents=True, exist_ok=True)
        (destination / "autograder" / "__init__.py").write_text(autograder_stub, encoding="utf-8")
    for root, dirs, files in os.walk(destination):   # readable by the sandbox's unprivileged user
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    return destination


def fingerprint(assignment: str, handed) -> str:
    """Changes when the package's source, the assignment or its allowlist changes."""
    from .redaction import source_digest
    digest = hashlib.sha256(f"{assignment}|{sorted(handed)!r}".encode())
    digest.update(source_digest(PACKAGE_DIR).encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:16]
