"""Static analysis of a flow's source: `inspect` for the server, `lint` for users.

`python -m hero_tracing inspect FILE` prints one JSON object: the workflow's
name, description, inputs and outputs as `main`'s signature and `@flow(...)`
declare them, and warnings; `lint FILE` prints the warnings as
`FILE:LINE:COL: message` with a hint, and exits 1 when there are any or the
file cannot be parsed. The warnings are calls whose value differs on every
run (the clock, randomness) in the arguments of a step, whose key would then
change at each replay.

Invariants:
* The source is read with `ast` alone: user code is never imported or
  executed, so inspecting a file has no side effects.
* `ast` loads only here, when a file is inspected.
"""

import os
import sys

_FIELD_TYPES = {"str": "str", "int": "int", "float": "float", "bool": "bool",
                "list": "list", "dict": "dict", "List": "list", "Dict": "dict"}

# Calls whose value differs on every run (SPEC section 5), by qualified name;
# every function of `random` and `secrets` counts too. The short spellings
# (`datetime.now`, `date.today`) are what a name that no import resolves
# leaves, and are flagged as well.
_NONDETERMINISTIC = frozenset({
    "time.time", "time.time_ns", "time.monotonic", "time.monotonic_ns",
    "time.perf_counter", "time.perf_counter_ns",
    "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today",
    "datetime.date.today", "datetime.now", "datetime.utcnow", "datetime.today",
    "date.today", "uuid.uuid1", "uuid.uuid4", "os.urandom",
})


class _Module:
    """What static analysis knows of one flow source."""

    def __init__(self, ast, tree):
        self.ast = ast
        self.tree = tree
        # Local name -> qualified name, from every import in the file.
        self.aliases = {}
        # Names that denote hero_tracing's `flow`, and the module itself.
        # `flow` counts without an import too, so that a file that gets it
        # through a star import is still checked.
        self.flow_names = {"flow"}
        self.sdk_names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    top = alias.name.partition(".")[0]
                    self.aliases[alias.asname or top] = alias.name if alias.asname else top
                    if alias.name == "hero_tracing":
                        self.sdk_names.add(alias.asname or top)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                    if node.module == "hero_tracing" and alias.name == "flow":
                        self.flow_names.add(alias.asname or alias.name)
        # Step functions: decorated with `@flow`, or bound as `x = flow(f)`.
        self.steps = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if any(self.is_flow(_decorator_callee(ast, decorator))
                       for decorator in node.decorator_list):
                    self.steps.add(node.name)
            elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                  and self.is_flow(_decorator_callee(ast, node.value.func))):
                self.steps.update(target.id for target in node.targets
                                  if isinstance(target, ast.Name))

    def is_flow(self, node):
        ast = self.ast
        if isinstance(node, ast.Name):
            return node.id in self.flow_names
        return (isinstance(node, ast.Attribute) and node.attr == "flow"
                and isinstance(node.value, ast.Name) and node.value.id in self.sdk_names)

    def qualified(self, node):
        """The dotted name a callee denotes, imports resolved, or None."""
        ast = self.ast
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))

    def step_of(self, call):
        """(label, workflow name or None) when `call` calls a step, else None."""
        ast = self.ast
        func = call.func
        if isinstance(func, ast.Name) and func.id in self.steps:
            return func.id, None
        if isinstance(func, ast.Attribute) and func.attr == "invoke" and self.is_flow(func.value):
            first = call.args[0] if call.args else None
            name = first.value if isinstance(first, ast.Constant) else "..."
            return f"{ast.unparse(func)}({ast.unparse(first) if first else ''})", str(name)
        return None

    def main(self):
        """The last top-level `def main`, as Python would bind it, or None."""
        found = None
        for node in self.tree.body:
            if isinstance(node, (self.ast.FunctionDef, self.ast.AsyncFunctionDef)) \
                    and node.name == "main":
                found = node
        return found

    def warnings(self):
        ast = self.ast
        found = []
        for call in ast.walk(self.tree):
            if not isinstance(call, ast.Call):
                continue
            step = self.step_of(call)
            if step is None:
                continue
            label, workflow = step
            for argument in call.args + [keyword.value for keyword in call.keywords]:
                for culprit in self.calls_in(argument):
                    found.append(_warning(ast, culprit, label, workflow))
        return sorted(found, key=lambda warning: (warning["line"], warning["col"]))

    def calls_in(self, node):
        """Non-deterministic calls evaluated as part of the expression `node`.

        A nested step call is a step of its own, with a memoized output, and a
        lambda's body is not evaluated by the call: neither is searched.
        """
        ast = self.ast
        if isinstance(node, ast.Lambda):
            return
        if isinstance(node, ast.Call):
            if self.step_of(node) is not None:
                return
            name = self.qualified(node.func)
            if name and (name in _NONDETERMINISTIC
                         or name.startswith(("random.", "secrets."))):
                yield node
        for child in ast.iter_child_nodes(node):
            yield from self.calls_in(child)


def _decorator_callee(ast, decorator):
    return decorator.func if isinstance(decorator, ast.Call) else decorator


def _warning(ast, call, label, workflow):
    text = ast.unparse(call)
    if len(text) > 60:
        text = f"{ast.unparse(call.func)}(...)"
    if workflow is None:
        where = f"step `{label}`"
        hint = f"call `{text}` inside the body of `{label}` instead"
    else:
        where = f"`{label}`"
        hint = (f"call `{text}` inside the flow `{workflow}` instead, "
                "or inside a step whose result you pass in")
    return {"line": call.lineno, "col": call.col_offset + 1,
            "message": f"`{text}` in the arguments of {where} is not deterministic: "
                       "a replay computes a new value, so the step's key changes "
                       "and it runs again",
            "hint": hint}


def _parse(path):
    """(module, None) or (None, failure) for the file at `path`."""
    import ast

    try:
        with open(path, "rb") as file:
            source = file.read()
    except OSError as exc:
        return None, {"ok": False, "error": f"cannot read {path}: {exc.strerror}",
                      "line": None, "col": None}
    try:
        tree = ast.parse(source, filename=os.path.basename(path))
    except SyntaxError as exc:
        return None, {"ok": False,
                      "error": f"{type(exc).__name__}: {exc.msg} ({exc.filename}, "
                               f"line {exc.lineno}, column {exc.offset})",
                      "line": exc.lineno, "col": exc.offset}
    except ValueError as exc:
        return None, {"ok": False, "error": str(exc), "line": None, "col": None}
    return _Module(ast, tree), None


def _field_type(ast, node):
    """The FlowField type an annotation denotes."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return "any"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _optional_type(ast, [node.left, node.right])
    if isinstance(node, ast.Subscript):
        outer = _last_name(ast, node.value)
        if outer == "Optional":
            return _field_type(ast, node.slice)
        if outer == "Union":
            members = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return _optional_type(ast, members)
        node = node.value
    return _FIELD_TYPES.get(_last_name(ast, node), "any")


def _optional_type(ast, members):
    """The type of `X | None` or `Union[X, None]`; `any` for a real union."""
    members = [member for member in members
               if not (isinstance(member, ast.Constant) and member.value is None)]
    return _field_type(ast, members[0]) if len(members) == 1 else "any"


def _last_name(ast, node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _literal(ast, json, node):
    """A default value as JSON data, or None when it is not a plain literal."""
    try:
        value = ast.literal_eval(node)
        json.dumps(value, allow_nan=False)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return value


def _inspect(path):
    import json

    module, failure = _parse(path)
    if failure is not None:
        return failure
    ast = module.ast
    main = module.main()
    if main is None:
        return {"ok": False,
                "error": "no function named `main`: a flow needs a root "
                         "`@flow def main(...)`",
                "line": None, "col": None}
    refused = _retry_refused(module)
    if refused is not None:
        return refused
    args = main.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + args.defaults
    inputs = [{"name": arg.arg, "type": _field_type(ast, arg.annotation),
               "required": default is None,
               "default": None if default is None else _literal(ast, json, default)}
              for arg, default in zip(positional + args.kwonlyargs,
                                      defaults + args.kw_defaults)]
    outputs = []
    # `@flow(name="...")` on main names the workflow (SPEC §6).
    name = None
    for decorator in main.decorator_list:
        if isinstance(decorator, ast.Call) and module.is_flow(decorator.func):
            for keyword in decorator.keywords:
                if keyword.arg == "outputs":
                    outputs = _output_fields(ast, keyword.value)
                elif keyword.arg == "name" and isinstance(keyword.value, ast.Constant) \
                        and isinstance(keyword.value.value, str):
                    name = keyword.value.value
    description = (ast.get_docstring(module.tree) or "").strip()
    return {"ok": True, "name": name, "any_keyword": args.kwarg is not None,
            "description": description.partition("\n")[0],
            "inputs": inputs, "outputs": outputs, "warnings": module.warnings()}


def _retry_refused(module):
    """The first `@flow(retries=...)` whose literal policy `@flow` refuses, as
    an analysis failure: refused at save, before any play of it is stored,
    rather than when a run loads the file. Values that are not literals are
    left for `@flow` to check at run time."""
    from ._flow import _Retry

    ast = module.ast
    names = ("retries", "retry_delay_s", "backoff", "max_delay_s")
    for node in ast.walk(module.tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in node.decorator_list:
            if not (isinstance(decorator, ast.Call) and module.is_flow(decorator.func)):
                continue
            given = {k.arg: k.value for k in decorator.keywords if k.arg in names}
            try:
                policy = {key: ast.literal_eval(value) for key, value in given.items()}
            except ValueError:
                continue
            if not policy.get("retries"):
                continue
            try:
                _Retry(policy["retries"], policy.get("retry_delay_s", 1.0),
                       policy.get("backoff", 2.0), policy.get("max_delay_s", 300.0),
                       (Exception,))
            except ValueError as problem:
                return {"ok": False, "error": f"step `{node.name}`: {problem}",
                        "line": decorator.lineno, "col": decorator.col_offset + 1}
    return None


def _output_fields(ast, node):
    """`outputs=["a", "b"]` or `outputs={"a": "str"}` as FlowFields."""
    if isinstance(node, (ast.List, ast.Tuple)):
        fields = [(element, "any") for element in node.elts]
    elif isinstance(node, ast.Dict):
        fields = [(key, _field_type(ast, value)) for key, value in zip(node.keys, node.values)]
    else:
        return []
    return [{"name": name.value, "type": kind, "required": True, "default": None}
            for name, kind in fields
            if isinstance(name, ast.Constant) and isinstance(name.value, str)]


def _lint(path):
    module, failure = _parse(path)
    if failure is not None:
        print(f"{path}:{failure['line'] or 1}:{failure['col'] or 1}: {failure['error']}")
        return 1
    warnings = module.warnings()
    for warning in warnings:
        print(f"{path}:{warning['line']}:{warning['col']}: {warning['message']}\n"
              f"  hint: {warning['hint']}")
    if not warnings:
        sys.stderr.write(f"{path}: no issues\n")
    return 1 if warnings else 0

