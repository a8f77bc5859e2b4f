"""The whitelist condition language of `filter` steps, the optimizer and quality rules.

A condition is parsed by a small hand-written recursive-descent parser into a private tree
and then either evaluated with vectorized pandas operations or translated into a SQLAlchemy
expression. Nothing is ever handed to `eval`, `DataFrame.query`/`DataFrame.eval` or built
into SQL text, so a condition can only compare columns with literals.

Grammar (keywords are case-insensitive)::

    condition  := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" or_expr ")" | predicate
    predicate  := operand ("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=") operand
                | column ["not"] "in" "(" literal ("," literal)* ")"
                | column ["not"] "between" operand "and" operand
                | column "is" ["not"] "null"
                | column ["not"] "like" string
                | column ["not"] ("matches" | "~") string
    operand    := column | literal
    column     := identifier ([A-Za-z_][A-Za-z0-9_.]*) | `backquoted name` (`` for a `)
    literal    := 'string' | "string" | int | float | true | false | null

Strings understand the escapes \\\\ \\' \\" \\n \\t \\r; any other backslash is kept, so
regexes read naturally ('\\d+'). In a `like` pattern `%` matches any run of characters,
`_` one character and a backslash makes the next character literal ('100\\%').

Semantics are those of a SQL WHERE clause: a comparison with a null operand is unknown,
`and`/`or`/`not` follow three-valued (Kleene) logic and only rows that are true are kept.
`like` is case-sensitive; `matches` searches with Python's `re` (unanchored, like `~` in
PostgreSQL). On a non-string column both work on the string form of non-null values.
"""

from datasetgen_assets.pipeline.condition.frame import evaluate
from datasetgen_assets.pipeline.condition.sql import to_sqlalchemy
from datasetgen_assets.pipeline.condition.syntax import (
    Condition,
    ConditionSyntaxError,
    ConditionTypeError,
    check_columns,
    parse_condition,
)

__all__ = [
    "Condition",
    "ConditionSyntaxError",
    "ConditionTypeError",
    "check_columns",
    "evaluate",
    "parse_condition",
    "to_sqlalchemy",
]
