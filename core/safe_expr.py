"""A small, safe expression language for LambdaLR / MultiplicativeLR factors and CyclicLR scale_fn.

The text is parsed with Python's `ast` and every node is checked against a whitelist; the tree
is then turned into nested Python closures. User text is never passed to eval, exec or compile.

Allowed: numbers, the variables the caller names (e.g. `epoch`, `step`), the constants `pi` and
`e`, `+ - * / ** %`, unary `-`/`+`, comparisons (`<` ... `!=`, true = 1), `a if cond else b`, and
the functions min, max, abs, exp, log, sqrt, cos, sin, floor, ceil. Everything else is refused
with a message that says what is not allowed.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

MAX_LENGTH = 300  # characters: enough for any schedule formula, short enough to stay cheap
MAX_NODES = 200
MAX_DEPTH = 40
MAX_EXPONENT = 1000.0  # a literal exponent beyond this is almost surely a mistake (or an attack)

CONSTANTS = {"pi": math.pi, "e": math.e}
# name -> (function, fewest args, most args)
FUNCTIONS: dict[str, tuple[Callable[..., float], int, int]] = {
    "min": (min, 2, 8), "max": (max, 2, 8), "abs": (abs, 1, 1), "exp": (math.exp, 1, 1),
    "log": (math.log, 1, 2), "sqrt": (math.sqrt, 1, 1), "cos": (math.cos, 1, 1),
    "sin": (math.sin, 1, 1), "floor": (math.floor, 1, 1), "ceil": (math.ceil, 1, 1),
}
_MATH_FUNCS = {"exp", "log", "sqrt", "cos", "sin", "floor", "ceil"}  # need `math.` in Python

_BINOPS: dict[type, tuple[str, Callable[[float, float], float]]] = {
    ast.Add: ("+", lambda a, b: a + b), ast.Sub: ("-", lambda a, b: a - b),
    ast.Mult: ("*", lambda a, b: a * b), ast.Div: ("/", lambda a, b: a / b),
    ast.Mod: ("%", lambda a, b: a % b), ast.Pow: ("**", lambda a, b: math.pow(a, b)),
}
_COMPARE: dict[type, Callable[[float, float], bool]] = {
    ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b, ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
}
# Friendly names for what people try most often.
_REFUSED: dict[type, str] = {
    ast.Attribute: "attribute access (`a.b`)", ast.Subscript: "indexing (`a[i]`)",
    ast.Lambda: "`lambda` (write only the expression of the variable)",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "generator expressions",
    ast.BoolOp: "`and` / `or` (nest `a if cond else b` instead)",
    ast.NamedExpr: "assignment (`:=`)", ast.Starred: "`*` unpacking",
    ast.List: "lists", ast.Tuple: "tuples", ast.Dict: "dicts", ast.Set: "sets",
    ast.JoinedStr: "f-strings", ast.Await: "`await`", ast.Yield: "`yield`",
    ast.Slice: "slices",
}

Fn = Callable[[dict[str, float]], float]


@dataclass(frozen=True)
class SafeExpr:
    """A checked expression: call it with the variables' values to get a float."""

    source: str
    variables: tuple[str, ...]
    used: frozenset[str]  # variables the expression actually reads
    python: str  # equivalent Python source using `math.` (for the code snippet)
    _fn: Fn = field(repr=False, compare=False)

    def __call__(self, **values: float) -> float:
        """Evaluate; ValueError (naming the variables' values) on any arithmetic failure."""
        env = {k: float(v) for k, v in values.items()}
        where = ", ".join(f"{k}={v:g}" for k, v in values.items())
        try:
            out = float(self._fn(env))
        except ZeroDivisionError:
            raise ValueError(f"division by zero at {where}") from None
        except OverflowError:
            raise ValueError(f"a number grew too large at {where}") from None
        except (ValueError, TypeError) as exc:
            raise ValueError(f"math error at {where} ({exc})") from None
        if not math.isfinite(out):
            raise ValueError(f"the result is {out} at {where}")
        return out

    @property
    def is_constant(self) -> bool:
        """True when the expression reads no variable."""
        return not self.used

    def as_lambda(self, arg: str) -> str:
        """Python source `lambda <arg>: ...` with every variable renamed to `arg`."""
        tree = ast.parse(self.python, mode="eval")
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in self.variables:
                node.id = arg
        return f"lambda {arg}: {ast.unparse(tree)}"


def compile_expr(text: str, variables: tuple[str, ...] = ("epoch", "step")) -> SafeExpr:
    """Check `text` against the whitelist and build its evaluator (ValueError if refused)."""
    if not isinstance(text, str):
        raise ValueError("the expression must be text")
    text = text.strip()
    if not text:
        raise ValueError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"the expression is {len(text)} characters long; the limit is "
                         f"{MAX_LENGTH}")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        col = f" (column {exc.offset})" if exc.offset else ""
        raise ValueError(f"not a valid expression{col}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ValueError("the expression is nested too deeply") from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise ValueError(f"the expression has {nodes} parts; the limit is {MAX_NODES}")
    used: set[str] = set()
    fn = _build(tree.body, variables, used, 0)
    return SafeExpr(text, tuple(variables), frozenset(used), _to_python(tree, variables), fn)


def _build(node: ast.AST, variables: tuple[str, ...], used: set[str], depth: int) -> Fn:
    """The evaluator of one whitelisted node (recursive); refuses anything else."""
    if depth > MAX_DEPTH:
        raise ValueError(f"the expression is nested more than {MAX_DEPTH} levels deep")
    d = depth + 1
    if isinstance(node, ast.Constant):
        return _constant(node.value)
    if isinstance(node, ast.Name):
        return _name(node.id, variables, used)
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            op = {ast.FloorDiv: "//", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|",
                  ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>"}.get(type(node.op), "?")
            hint = " (use floor(a / b))" if op == "//" else ""
            raise ValueError(f"the operator {op} is not allowed{hint}; allowed: + - * / ** %")
        if isinstance(node.op, ast.Pow):
            _check_exponent(node.right)
        left, right = _build(node.left, variables, used, d), _build(node.right, variables, used, d)
        op_fn = _BINOPS[type(node.op)][1]
        return lambda env: op_fn(left(env), right(env))
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ValueError("only unary - and + are allowed (`not` and `~` are not)")
        inner = _build(node.operand, variables, used, d)
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        return lambda env: sign * inner(env)
    if isinstance(node, ast.Compare):
        return _compare(node, variables, used, d)
    if isinstance(node, ast.IfExp):
        test, a, b = (_build(n, variables, used, d) for n in (node.test, node.body, node.orelse))
        return lambda env: a(env) if test(env) != 0 else b(env)
    if isinstance(node, ast.Call):
        return _call(node, variables, used, d)
    what = _REFUSED.get(type(node), f"`{type(node).__name__}`")
    raise ValueError(f"not allowed: {what}")


def _constant(value: object) -> Fn:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        what = "text (strings)" if isinstance(value, (str, bytes)) else repr(value)
        raise ValueError(f"{what} is not allowed; only numbers")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError("a number in the expression is too large") from None
    return lambda env: number


def _name(name: str, variables: tuple[str, ...], used: set[str]) -> Fn:
    if name in variables:
        used.add(name)
        return lambda env: env[name]
    if name in CONSTANTS:
        value = CONSTANTS[name]
        return lambda env: value
    if name in FUNCTIONS:
        raise ValueError(f"{name} is a function: call it, e.g. {name}(...)")
    allowed = ", ".join((*variables, *CONSTANTS))
    if name.startswith("_"):
        raise ValueError(f"the name {name!r} is not allowed (allowed names: {allowed})")
    raise ValueError(f"unknown name {name!r}; allowed names: {allowed}")


def _check_exponent(node: ast.AST) -> None:
    """Refuse a literal exponent so big that the power can only overflow or be a typo."""
    value = node
    negate = False
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, (ast.USub, ast.UAdd)):
        negate, value = isinstance(value.op, ast.USub), value.operand
    if isinstance(value, ast.Constant) and isinstance(value.value, (int, float)) \
            and not isinstance(value.value, bool):
        if abs(value.value) > MAX_EXPONENT:  # no float(): a long int literal would overflow
            sign = "-" if negate else ""
            shown = f"{value.value:g}" if abs(value.value) < 1e300 else "a huge number"
            raise ValueError(f"the exponent {sign}{shown} is too large (limit "
                             f"{MAX_EXPONENT:g})")


def _compare(node: ast.Compare, variables: tuple[str, ...], used: set[str], d: int) -> Fn:
    for op in node.ops:
        if type(op) not in _COMPARE:
            raise ValueError("only < <= > >= == != comparisons are allowed (not `in`, `is`)")
    parts = [_build(n, variables, used, d) for n in (node.left, *node.comparators)]
    ops = [_COMPARE[type(op)] for op in node.ops]

    def run(env: dict[str, float]) -> float:
        values = [p(env) for p in parts]
        return float(all(op(a, b) for op, (a, b) in zip(ops, pairwise(values), strict=True)))
    return run


def _call(node: ast.Call, variables: tuple[str, ...], used: set[str], d: int) -> Fn:
    if isinstance(node.func, ast.Attribute):
        raise ValueError("not allowed: attribute access (`a.b`); call the listed functions "
                         "by name, e.g. cos(x)")
    if not isinstance(node.func, ast.Name):
        raise ValueError("only the listed functions may be called, by name (e.g. cos(x))")
    name = node.func.id
    if name not in FUNCTIONS:
        raise ValueError(f"the function {name!r} is not allowed; allowed: "
                         f"{', '.join(FUNCTIONS)}")
    if node.keywords:
        raise ValueError(f"{name}() takes no keyword arguments")
    func, lo, hi = FUNCTIONS[name]
    if not lo <= len(node.args) <= hi:
        count = str(lo) if lo == hi else f"{lo} to {hi}"
        raise ValueError(f"{name}() takes {count} argument(s), got {len(node.args)}")
    args = [_build(a, variables, used, d) for a in node.args]
    return lambda env: float(func(*(a(env) for a in args)))


def _to_python(tree: ast.Expression, variables: tuple[str, ...]) -> str:
    """Equivalent Python source: math functions and constants get their `math.` prefix."""
    class Prefix(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id in _MATH_FUNCS or node.id in CONSTANTS:
                return ast.Attribute(ast.Name("math", ast.Load()), node.id, ast.Load())
            return node

    copy = ast.parse(ast.unparse(tree), mode="eval")  # never mutate the checked tree
    return ast.unparse(ast.fix_missing_locations(Prefix().visit(copy)))
