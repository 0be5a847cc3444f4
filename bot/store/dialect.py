"""SQL for both backends: table modules write SQLite's SQL; PostgreSQL gets it translated here.

How a store module writes SQL that runs on both (SQLite and PostgreSQL):

- Statements: `?` placeholders, as sqlite3 has them. They become `$1, $2, …`.
- `IFNULL(a, b)` or `COALESCE(a, b)`; `x IS ?` / `x IS NOT ?` compare with a parameter that may
  be NULL (they become `IS [NOT] DISTINCT FROM`).
- Upserts: `INSERT … ON CONFLICT (columns) DO NOTHING` or `DO UPDATE SET c = excluded.c`, which
  both speak; `INSERT OR IGNORE INTO` also works (it becomes `… ON CONFLICT DO NOTHING`).
  `INSERT OR REPLACE` and `REPLACE INTO` do not: say which conflict and what to update.
- `Written.lastrowid` after an INSERT is the new row's INTEGER PRIMARY KEY on both (PostgreSQL
  answers it with `RETURNING`). Ids only ever grow, but PostgreSQL may skip numbers (an INSERT
  that conflicts uses one up): never expect the next id. `Written.rowcount` counts the rows
  written, as on SQLite.
- Values: int, str, bytes, float and None. Pass each parameter as the column's type (an int
  for an INTEGER column, a str for a TEXT one): PostgreSQL does not convert between them.
  Timestamps are ISO 8601 TEXT (`bot.clock.stamp()`), compared as text. No booleans: 0 and 1 in an
  INTEGER column.
- Functions both have: COALESCE/IFNULL, LOWER, UPPER, LENGTH, COUNT, MIN, MAX, SUM, `||`.
  Not SQLite-only ones (`datetime()`, `strftime()`, `json_extract()`, `rowid`, `GLOB`).
- Claiming rows for one instance of several: end the SELECT with `db.skip_locked` (PostgreSQL's
  `FOR UPDATE SKIP LOCKED`, nothing on SQLite), inside `db.transaction()`.
- Write operators and function names in capitals or lowercase, as you like; keep table and
  column names lowercase and unquoted.

Migrations (bot/store/schema.py), one list for both:

- Types: INTEGER (a 64-bit BIGINT on PostgreSQL: Telegram ids do not fit 32 bits), TEXT, REAL
  (DOUBLE PRECISION), BLOB (BYTEA). A column `INTEGER PRIMARY KEY` (with or without
  AUTOINCREMENT) numbers its rows itself on both (an identity column on PostgreSQL).
- Plain DDL both speak: CREATE TABLE/INDEX (partial indexes too), ALTER TABLE … ADD COLUMN and
  RENAME TO, DROP TABLE/INDEX, INSERT … SELECT. Not `PRAGMA`, and no SQLite-only table
  rebuild tricks (`sqlite_master`, `WITHOUT ROWID`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

#: string literals, quoted names and comments: never rewritten
_LITERAL = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)

_IFNULL = re.compile(r"\bIFNULL\s*\(", re.IGNORECASE)
_IS_NOT_PARAMETER = re.compile(r"\bIS\s+NOT\s+\?", re.IGNORECASE)
_IS_PARAMETER = re.compile(r"\bIS\s+\?", re.IGNORECASE)
_OR_IGNORE = re.compile(r"^(\s*INSERT)\s+OR\s+IGNORE\b", re.IGNORECASE)
_OR_REPLACE = re.compile(r"^\s*(INSERT\s+OR\s+REPLACE|REPLACE\s+INTO)\b", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_INSERT_INTO = re.compile(r"^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+(\w+)", re.IGNORECASE)

_ROW_ID = re.compile(r"\bINTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?\b", re.IGNORECASE)
_TYPES = {
    re.compile(r"\bINTEGER\b", re.IGNORECASE): "BIGINT",
    re.compile(r"\bBLOB\b", re.IGNORECASE): "BYTEA",
    re.compile(r"\bREAL\b", re.IGNORECASE): "DOUBLE PRECISION",
}
_PRAGMA = re.compile(r"\bPRAGMA\b", re.IGNORECASE)


class NotPortable(ValueError):
    """SQL a store module wrote that only SQLite understands (see this module's docstring)."""


def _rewrite_code(sql: str, rewrite: Callable[[str], str]) -> str:
    """Apply `rewrite` to the parts of `sql` outside literals, quoted names and comments."""
    parts: list[str] = []
    last = 0
    for literal in _LITERAL.finditer(sql):
        parts.append(rewrite(sql[last : literal.start()]))
        parts.append(literal.group())
        last = literal.end()
    parts.append(rewrite(sql[last:]))
    return "".join(parts)


@functools.lru_cache(maxsize=1024)
def postgres_statement(sql: str) -> str:
    """One statement of a table module, in PostgreSQL's dialect."""
    if _OR_REPLACE.match(sql):
        raise NotPortable(f"INSERT OR REPLACE is SQLite's only; use ON CONFLICT: {sql[:60]}")
    ignore = bool(_OR_IGNORE.match(sql))
    numbers = iter(range(1, 10_000))

    def rewrite(code: str) -> str:
        if _PRAGMA.search(code):
            raise NotPortable(f"PRAGMA is SQLite's only: {sql[:60]}")
        code = _IFNULL.sub("COALESCE(", code)
        code = _IS_NOT_PARAMETER.sub("IS DISTINCT FROM ?", code)
        code = _IS_PARAMETER.sub("IS NOT DISTINCT FROM ?", code)
        return re.sub(r"\?", lambda _: f"${next(numbers)}", code)

    translated = _rewrite_code(sql.strip().rstrip(";"), rewrite)
    if ignore:
        translated = _OR_IGNORE.sub(r"\1", translated)
        returning = _RETURNING.search(translated)
        at = returning.start() if returning else len(translated)
        translated = f"{translated[:at].rstrip()} ON CONFLICT DO NOTHING {translated[at:]}"
    return translated.strip()


def inserted_table(sql: str) -> str | None:
    """The table an INSERT writes to (lowercase), when the statement is one without its own
    RETURNING."""
    found = _INSERT_INTO.match(sql)
    if found is None or _RETURNING.search(sql):
        return None
    return found.group(1).lower()


@functools.lru_cache(maxsize=64)
def postgres_schema(script: str) -> str:
    """A migration script in PostgreSQL's dialect."""

    def rewrite(code: str) -> str:
        if _PRAGMA.search(code):
            raise NotPortable("a migration may not use PRAGMA")
        code = _ROW_ID.sub("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", code)
        for pattern, replacement in _TYPES.items():
            code = pattern.sub(replacement, code)
        return _IFNULL.sub("COALESCE(", code)

    return _rewrite_code(script, rewrite)
