"""Formula evaluation: what a cell holding ``=...`` reads as (its effective value).

Not a spreadsheet engine — enough of Google Sheets' formula language for what
sheets-crm and its tests write: numbers, string literals (``"Acme"``), TRUE and
FALSE, cell references (``A1``, ``$B$2``, ``'Contact Plan'!B2``, ranges inside
functions), ``+ - * / ^ &``, comparisons (``= <> < > <= >=``), unary minus,
``%``, and the functions in :data:`FUNCTIONS` (TODAY, NOW, IF, ISBLANK, N, AND,
OR, NOT, IFERROR, DATE, MIN, MAX, SUM, ROUND, ABS, INT, LEN, COUNTA). Dates are
day serials, so ``=TODAY()-X2`` is a number of days; results that are dates
(``=TODAY()``, ``=TODAY()+1``, a reference to a date cell) carry an implied
DATE format, as Sheets gives them.

Coercions follow Sheets: a blank is 0 in arithmetic, "" in ``&`` and equal to
both in comparisons; TRUE is 1; a text that reads as a number is one; anything
else in arithmetic is ``#VALUE!``. An unknown function is ``#NAME?``, a syntax
error ``#ERROR!``, a reference loop or a missing tab ``#REF!``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.a1 import col_to_letters, letters_to_col

if TYPE_CHECKING:  # pragma: no cover
    from .models import Sheet, Spreadsheet

__all__ = ["FUNCTIONS", "FormulaContext", "Result", "evaluate", "shift_formula"]

EPOCH = dt.date(1899, 12, 30)
DATE_TYPES = {"DATE", "TIME", "DATE_TIME"}
MAX_DEPTH = 64  # references followed through other formulas before giving up (#REF!)


# -- values --------------------------------------------------------------------------------------------------


class DateSerial(float):
    """A number that is a date (or date-time): arithmetic keeps or drops the date-ness like Sheets."""


class _Blank:
    """An empty cell: 0 in arithmetic, "" in text, FALSE as a condition."""

    def __repr__(self) -> str:
        return "BLANK"


BLANK = _Blank()


@dataclass(frozen=True)
class FormulaError(Exception):
    """A Sheets error value (``#VALUE!``...); raised to unwind, returned as the result."""

    type: str
    message: str


Value = float | str | bool | _Blank | FormulaError
Range = list[Value]

ERRORS = {
    "NAME": "Unknown function or name in formula.",
    "VALUE": "Function expects a number value but got a text.",
    "DIVIDE_BY_ZERO": "Function DIVIDE parameter 2 cannot be zero.",
    "REF": "Reference does not exist.",
    "ERROR": "Formula parse error.",
    "NUM": "Result is not a number.",
    "N_A": "Wrong number of arguments.",
}


def _error(kind: str, message: str | None = None) -> FormulaError:
    return FormulaError(kind, message or ERRORS[kind])


@dataclass
class FormulaContext:
    """Where a formula sits: references without a tab name point at ``sheet``; TODAY() is in the
    spreadsheet's time zone."""

    spreadsheet: Spreadsheet
    sheet: Sheet
    depth: int = 0

    def deeper(self, sheet: Sheet) -> FormulaContext:
        if self.depth >= MAX_DEPTH:
            raise _error("REF", "Circular dependency detected.")
        return FormulaContext(self.spreadsheet, sheet, self.depth + 1)


@dataclass
class Result:
    """An effective value (``{"numberValue": 3}``) and the number format the formula implies, if any."""

    value: dict[str, Any]
    number_format: dict[str, str] | None = None


# -- tokens --------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<string>"(?:[^"]|"")*")
    | (?P<ref>(?:(?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?)(?![\w(])
    | (?P<name>[A-Za-z_][\w.]*)
    | (?P<op><>|<=|>=|[-+*/^&=<>%(),])
    )""",
    re.VERBOSE,
)


@dataclass
class _Token:
    kind: str
    text: str


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise _error("ERROR")
        kind = m.lastgroup or "op"
        out.append(_Token(kind, m.group(kind)))
        pos = m.end()
    return out


# -- parsing (to a small tree of tuples) ------------------------------------------------------------------------

Node = tuple[Any, ...]

# Binary operators by precedence, lowest first (Sheets: comparison < & < + - < * / < ^).
_LEVELS: list[set[str]] = [{"=", "<>", "<", ">", "<=", ">="}, {"&"}, {"+", "-"}, {"*", "/"}, {"^"}]


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, text: str | None = None) -> _Token:
        tok = self.peek()
        if tok is None or (text is not None and tok.text != text):
            raise _error("ERROR")
        self.pos += 1
        return tok

    def at_op(self, ops: set[str]) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "op" and tok.text in ops

    def parse(self) -> Node:
        node = self.binary(0)
        if self.peek() is not None:
            raise _error("ERROR")
        return node

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.at_op(_LEVELS[level]):
            op = self.take().text
            node = ("bin", op, node, self.binary(level + 1))
        return node

    def unary(self) -> Node:
        if self.at_op({"-", "+"}):
            op = self.take().text
            operand = self.unary()
            return ("neg", operand) if op == "-" else operand
        node = self.primary()
        while self.at_op({"%"}):
            self.take()
            node = ("pct", node)
        return node

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "number":
            return ("num", float(tok.text))
        if tok.kind == "string":
            return ("str", tok.text[1:-1].replace('""', '"'))
        if tok.kind == "ref":
            return ("ref", tok.text)
        if tok.kind == "name":
            return self.name(tok.text)
        if tok.text == "(":
            node = self.binary(0)
            self.take(")")
            return node
        raise _error("ERROR")

    def name(self, text: str) -> Node:
        upper = text.upper()
        if not self.at_op({"("}):
            if upper in {"TRUE", "FALSE"}:
                return ("bool", upper == "TRUE")
            return ("badname", text)
        self.take("(")
        args: list[Node] = []
        if not self.at_op({")"}):
            args.append(self.binary(0))
            while self.at_op({","}):
                self.take(",")
                args.append(self.binary(0))
        self.take(")")
        return ("call", upper, args)


# -- evaluation ----------------------------------------------------------------------------------------------


def _to_number(v: Value) -> float:
    if isinstance(v, FormulaError):
        raise v
    if isinstance(v, _Blank):
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, float):
        return v
    text = v.strip()
    if text == "":
        return 0.0
    if not _NUMBER_TEXT.fullmatch(text):
        raise _error("VALUE", f"Function expects a number value but '{v}' is a text and cannot be coerced to a number.")
    return float(text.replace(",", ""))


_NUMBER_TEXT = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


def _to_text(v: Value) -> str:
    if isinstance(v, FormulaError):
        raise v
    if isinstance(v, _Blank):
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return _general(v)
    return v


def _general(v: float) -> str:
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.10f}".rstrip("0").rstrip(".")


def _to_bool(v: Value) -> bool:
    if isinstance(v, FormulaError):
        raise v
    if isinstance(v, _Blank):
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        return v != 0
    if v.upper() in {"TRUE", "FALSE"}:
        return v.upper() == "TRUE"
    raise _error("VALUE", f"Function IF parameter 1 expects boolean values. But '{v}' is a text and cannot be coerced.")


def _rank(v: Value) -> tuple[int, Any]:
    """Sheets' ordering for comparisons: numbers < texts (case-insensitive) < booleans."""
    if isinstance(v, bool):
        return (2, v)
    if isinstance(v, float):
        return (0, v)
    assert isinstance(v, str)
    return (1, v.casefold())


def _compare(op: str, a: Value, b: Value) -> bool:
    for v in (a, b):
        if isinstance(v, FormulaError):
            raise v
    if isinstance(a, _Blank):
        a = "" if isinstance(b, str) else (False if isinstance(b, bool) else 0.0)
    if isinstance(b, _Blank):
        b = "" if isinstance(a, str) else (False if isinstance(a, bool) else 0.0)
    ra, rb = _rank(a), _rank(b)
    return {
        "=": ra == rb,
        "<>": ra != rb,
        "<": ra < rb,
        ">": ra > rb,
        "<=": ra <= rb,
        ">=": ra >= rb,
    }[op]


def _arith(op: str, a: Value, b: Value) -> float:
    x, y = _to_number(a), _to_number(b)
    if op == "+":
        out = x + y
    elif op == "-":
        out = x - y
    elif op == "*":
        out = x * y
    elif op == "/":
        if y == 0:
            raise _error("DIVIDE_BY_ZERO")
        out = x / y
    else:
        try:
            out = math.pow(x, y)
        except (OverflowError, ValueError):
            raise _error("NUM") from None
    # Date-ness: date ± days stays a date; date - date is a number of days.
    a_date, b_date = isinstance(a, DateSerial), isinstance(b, DateSerial)
    if op == "+" and a_date != b_date or op == "-" and a_date and not b_date:
        return DateSerial(out)
    return out


def _binary(op: str, a: Value, b: Value) -> Value:
    if op == "&":
        return _to_text(a) + _to_text(b)
    if op in _LEVELS[0]:
        return _compare(op, a, b)
    return _arith(op, a, b)


class _Evaluator:
    def __init__(self, ctx: FormulaContext | None) -> None:
        self.ctx = ctx

    def value(self, node: Node) -> Value:
        """A node's value as a scalar (a range in scalar position is its first cell)."""
        v = self.eval(node)
        if isinstance(v, list):
            return v[0] if v else BLANK
        return v

    def eval(self, node: Node) -> Value | Range:
        kind = node[0]
        if kind in {"num", "str", "bool"}:
            return node[1]  # type: ignore[no-any-return]
        if kind == "ref":
            return self.reference(node[1])
        if kind == "neg":
            return -_to_number(self.value(node[1]))
        if kind == "pct":
            return _to_number(self.value(node[1])) / 100
        if kind == "bin":
            return _binary(node[1], self.value(node[2]), self.value(node[3]))
        if kind == "call":
            return self.call(node[1], node[2])
        raise _error("NAME", f"Unknown range name: '{node[1]}'.")

    def call(self, name: str, args: list[Node]) -> Value:
        fn = FUNCTIONS.get(name)
        if fn is None:
            raise _error("NAME", f"Unknown function: '{name}'.")
        return fn(self, args)

    # -- references --------------------------------------------------------------------------------------------
    def reference(self, text: str) -> Value | Range:
        if self.ctx is None:
            raise _error("REF", "A reference cannot be resolved here.")
        sheet, ref = self._sheet_of(text)
        start, _, end = ref.replace("$", "").partition(":")
        r0, c0 = _cell(start)
        if not end:
            return self.cell_value(sheet, r0, c0)
        r1, c1 = _cell(end)
        return [
            self.cell_value(sheet, r, c)
            for r in range(min(r0, r1), max(r0, r1) + 1)
            for c in range(min(c0, c1), max(c0, c1) + 1)
        ]

    def _sheet_of(self, text: str) -> tuple[Sheet, str]:
        assert self.ctx is not None
        if "!" not in text:
            return self.ctx.sheet, text
        title, _, ref = text.rpartition("!")
        if title.startswith("'"):
            title = title[1:-1].replace("''", "'")
        sheet = self.ctx.spreadsheet.find_sheet(title)
        if sheet is None:
            raise _error("REF", f"Unresolved sheet name '{title}'.")
        return sheet, ref

    def cell_value(self, sheet: Sheet, r: int, c: int) -> Value:
        assert self.ctx is not None
        if r >= sheet.row_count or c >= sheet.column_count:
            raise _error("REF", "Reference is outside the grid.")
        cell = sheet.get(r, c) or {}
        user = cell.get("userEnteredValue")
        if not user:
            return BLANK
        if "formulaValue" in user:
            inner = _Evaluator(self.ctx.deeper(sheet))
            return inner.value(parse(user["formulaValue"]))
        if "numberValue" in user:
            number = float(user["numberValue"])
            fmt = ((cell.get("userEnteredFormat") or {}).get("numberFormat") or {}).get("type")
            return DateSerial(number) if fmt in DATE_TYPES else number
        if "boolValue" in user:
            return bool(user["boolValue"])
        if "errorValue" in user:
            err = user["errorValue"]
            return FormulaError(err.get("type", "ERROR"), err.get("message", ""))
        return str(user.get("stringValue", ""))

    def today(self) -> DateSerial:
        day = self.ctx.spreadsheet.today() if self.ctx is not None else dt.date.today()
        return DateSerial((day - EPOCH).days)

    def now(self) -> DateSerial:
        moment = self.ctx.spreadsheet.now() if self.ctx is not None else dt.datetime.now()
        delta = moment.replace(tzinfo=None) - dt.datetime(1899, 12, 30)
        return DateSerial(delta.days + delta.seconds / 86400)


def _cell(label: str) -> tuple[int, int]:
    m = re.fullmatch(r"([A-Za-z]{1,3})(\d+)", label)
    if m is None or int(m.group(2)) < 1:
        raise _error("REF")
    return int(m.group(2)) - 1, letters_to_col(m.group(1))


_ENDPOINT = re.compile(r"(\$?)([A-Za-z]{1,3})(\$?)(\d+)")


def _shift_endpoint(m: re.Match[str], rows: int, cols: int) -> str:
    col_fixed, letters, row_fixed, digits = m.groups()
    col = letters_to_col(letters) + (0 if col_fixed else cols)
    row = int(digits) + (0 if row_fixed else rows)
    if col < 0 or row < 1:
        return "#REF!"
    return f"{col_fixed}{col_to_letters(col)}{row_fixed}{row}"


def shift_formula(formula: str, rows: int, cols: int) -> str:
    """``formula`` as it reads ``rows`` down and ``cols`` right of where it was written: relative
    references move, ``$``-fixed parts and string literals do not. Google does this when one
    formula is repeated over a range (``repeatCell``: "the formula's ranges will automatically
    increment for each field in the range", Sheets API reference) and when cells are pasted
    (``copyPaste``, like a copy and paste in the editor). Text that does not tokenise is returned as is."""
    if not formula.startswith("=") or (rows == 0 and cols == 0):
        return formula
    out: list[str] = ["="]
    pos, text = 0, formula[1:]
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            return formula
        piece = m.group(0)
        if m.lastgroup == "ref":
            head, bang, refs = piece.rpartition("!")
            refs = _ENDPOINT.sub(lambda e: _shift_endpoint(e, rows, cols), refs)
            piece = head + bang + refs
        out.append(piece)
        pos = m.end()
    return "".join(out) + text[pos:]


def parse(formula: str) -> Node:
    """Parse ``=...`` text into a tree (``#ERROR!`` for a syntax error)."""
    text = formula[1:] if formula.startswith("=") else formula
    return _Parser(_tokens(text)).parse()


# -- functions ------------------------------------------------------------------------------------------------

Function = Callable[[_Evaluator, list[Node]], Value]


def _arity(name: str, args: list[Node], low: int, high: int) -> None:
    if not low <= len(args) <= high:
        raise _error(
            "N_A",
            f"Wrong number of arguments to {name}. Expected between {low} and {high} arguments, but got {len(args)}.",
        )


def _flat(ev: _Evaluator, args: list[Node]) -> Iterator[Value]:
    for node in args:
        v = ev.eval(node)
        yield from (v if isinstance(v, list) else [v])


def _numbers(ev: _Evaluator, args: list[Node]) -> list[float]:
    """Numbers among the arguments; in ranges texts and blanks are skipped, as SUM/MIN/MAX do."""
    out = []
    for node in args:
        v = ev.eval(node)
        if isinstance(v, list):
            for item in v:
                if isinstance(item, FormulaError):
                    raise item
                if isinstance(item, float) and not isinstance(item, bool):
                    out.append(item)
        else:
            out.append(_to_number(v))
    return out


def _if(ev: _Evaluator, args: list[Node]) -> Value:
    _arity("IF", args, 2, 3)
    if _to_bool(ev.value(args[0])):
        return ev.value(args[1])
    return ev.value(args[2]) if len(args) == 3 else False


def _isblank(ev: _Evaluator, args: list[Node]) -> Value:
    _arity("ISBLANK", args, 1, 1)
    v = ev.eval(args[0])
    return isinstance(v[0] if isinstance(v, list) and v else v, _Blank)


def _n(ev: _Evaluator, args: list[Node]) -> Value:
    _arity("N", args, 1, 1)
    v = ev.value(args[0])
    if isinstance(v, FormulaError):
        raise v
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    return v if isinstance(v, float) else 0.0


def _iferror(ev: _Evaluator, args: list[Node]) -> Value:
    _arity("IFERROR", args, 1, 2)
    try:
        v = ev.value(args[0])
        if isinstance(v, FormulaError):
            raise v
        return v
    except FormulaError:
        return ev.value(args[1]) if len(args) == 2 else BLANK


def _date(ev: _Evaluator, args: list[Node]) -> Value:
    _arity("DATE", args, 3, 3)
    y, m, d = (int(_to_number(ev.value(a))) for a in args)
    y += 1900 if y < 1900 else 0
    first = dt.date(y + (m - 1) // 12, (m - 1) % 12 + 1, 1)
    return DateSerial((first - EPOCH).days + d - 1)


def _round(ev: _Evaluator, args: list[Node]) -> Value:
    _arity("ROUND", args, 1, 2)
    x = _to_number(ev.value(args[0]))
    places = int(_to_number(ev.value(args[1]))) if len(args) == 2 else 0
    scaled = abs(x) * 10**places
    out = math.floor(scaled + 0.5) / 10**places  # half away from zero, like Sheets
    return math.copysign(out, x)


def _fixed(name: str, count: int, body: Callable[..., Value]) -> Function:
    """A function of exactly ``count`` scalar arguments."""

    def fn(ev: _Evaluator, args: list[Node]) -> Value:
        _arity(name, args, count, count)
        return body(ev, *(ev.value(a) for a in args))

    return fn


FUNCTIONS: dict[str, Function] = {
    "TODAY": _fixed("TODAY", 0, lambda ev: ev.today()),
    "NOW": _fixed("NOW", 0, lambda ev: ev.now()),
    "IF": _if,
    "ISBLANK": _isblank,
    "N": _n,
    "IFERROR": _iferror,
    "AND": lambda ev, args: all([_to_bool(v) for v in _flat(ev, args)]),
    "OR": lambda ev, args: any([_to_bool(v) for v in _flat(ev, args)]),
    "NOT": _fixed("NOT", 1, lambda ev, v: not _to_bool(v)),
    "DATE": _date,
    "MIN": lambda ev, args: min(_numbers(ev, args), default=0.0),
    "MAX": lambda ev, args: max(_numbers(ev, args), default=0.0),
    "SUM": lambda ev, args: float(sum(_numbers(ev, args))),
    "ROUND": _round,
    "ABS": _fixed("ABS", 1, lambda ev, v: abs(_to_number(v))),
    "INT": _fixed("INT", 1, lambda ev, v: float(math.floor(_to_number(v)))),
    "LEN": _fixed("LEN", 1, lambda ev, v: float(len(_to_text(v)))),
    "COUNTA": lambda ev, args: float(sum(1 for v in _flat(ev, args) if not isinstance(v, _Blank))),
}


# -- entry point ------------------------------------------------------------------------------------------------


def _tidy(value: float) -> float | int:
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


def evaluate(formula: str, ctx: FormulaContext | None = None, *, locale: str = "en_US") -> Result:
    """The effective value of ``formula`` (``"=IF(A2="","",TODAY()-A2)"``) where ``ctx`` says it sits.

    Without a context, references are ``#REF!`` (nothing to point at) and TODAY() is the machine's date.
    """
    try:
        ev = _Evaluator(ctx)
        v = ev.value(parse(formula))
    except FormulaError as err:
        v = err
    except RecursionError:
        v = _error("REF", "Circular dependency detected.")
    if isinstance(v, FormulaError):
        return Result({"errorValue": {"type": v.type, "message": v.message}})
    if isinstance(v, bool):
        return Result({"boolValue": v})
    if isinstance(v, _Blank):
        return Result({"numberValue": 0})  # =A1 of an empty A1 shows 0
    if isinstance(v, str):
        return Result({"stringValue": v})
    if math.isnan(v) or math.isinf(v):
        return Result({"errorValue": {"type": "NUM", "message": ERRORS["NUM"]}})
    implied = {"type": "DATE", "pattern": _date_pattern(locale)} if isinstance(v, DateSerial) else None
    return Result({"numberValue": _tidy(float(v))}, implied)


def _date_pattern(locale: str) -> str:
    from .cellvalues import default_pattern  # cellvalues imports this module

    return default_pattern("DATE", locale)
