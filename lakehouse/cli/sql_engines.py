"""The engines behind ``lakehouse sql``: DuckDB over the Iceberg tables, or Trino.

Both run reads only. DuckDB (embedded) sees every table of the catalog as a view at its current
snapshot; its own parser says what a statement is, and only queries and EXPLAIN pass (a COPY,
ATTACH or EXPORT could write files). Trino (platform) runs the statement as the lakehouse's
service account, whose token ``lakehouse.trino_auth`` fetches; sqlglot's Trino parser says
what it is, and only queries, SHOW, DESCRIBE and EXPLAIN of those pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lakehouse.settings import Settings


class QueryError(RuntimeError):
    """The query failed or was refused; the message is one line naming why."""


@dataclass(frozen=True)
class QueryResult:
    engine: str
    columns: list[str]
    rows: Sequence[Sequence[Any]]


def run_query(settings: Settings, sql: str) -> QueryResult:
    """Run ``sql`` on the engine the settings' analytics layer is built with."""
    if settings.analytics_target == "trino":
        return run_trino(settings, sql)
    return run_duckdb(settings, sql)


def run_duckdb(settings: Settings, sql: str) -> QueryResult:
    import duckdb

    from lakehouse.analytics.duckdb_iceberg import expose_table, load_iceberg_extension
    from lakehouse.catalog import build_catalog

    connection = duckdb.connect(":memory:")
    try:
        statements = _parsed(connection, sql)
        refused = [
            statement.type.name
            for statement in statements
            if statement.type not in (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN)
        ]
        if refused:
            raise QueryError(f"DuckDB: only queries run here (read-only), not {refused[0]}")
        load_iceberg_extension(connection)
        catalog = build_catalog(settings, create_namespaces=False)
        for namespace in catalog.list_namespaces():
            for identifier in catalog.list_tables(namespace):
                table = catalog.load_table(identifier)
                expose_table(connection, ".".join(namespace), identifier[-1], table)
        try:
            cursor = connection.execute(sql)
        except duckdb.Error as error:
            hint = (
                " (`lakehouse tables` lists them)"
                if isinstance(error, duckdb.CatalogException)
                else ""
            )
            raise QueryError(f"DuckDB: {_first_line(error)}{hint}") from None
        columns = [column[0] for column in cursor.description or []]
        return QueryResult("duckdb", columns, cursor.fetchall())
    finally:
        connection.close()


def _parsed(connection: Any, sql: str) -> list[Any]:
    import duckdb

    try:
        statements: list[Any] = connection.extract_statements(sql)
    except duckdb.Error as error:
        raise QueryError(f"DuckDB: {_first_line(error)}") from None
    if not statements:
        raise QueryError("no statement given")
    return statements


def run_trino(settings: Settings, sql: str) -> QueryResult:
    import trino.exceptions

    from lakehouse.platform_access import trino_errors_named
    from lakehouse.trino_auth import connect

    statement = _single_read(sql)
    with trino_errors_named(settings), connect(settings) as connection:
        cursor = connection.cursor()
        try:
            cursor.execute(statement)
            rows = cursor.fetchall()
        except trino.exceptions.TrinoQueryError as error:
            raise QueryError(f"Trino: {error.message}") from None
        columns = [column[0] for column in cursor.description or []]
    return QueryResult("trino", columns, rows)


READ_COMMANDS = ("SHOW", "DESCRIBE", "EXPLAIN")


def _single_read(sql: str) -> str:
    """The one statement of ``sql`` (Trino runs one per request) if it only reads."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    try:
        statements = [item for item in sqlglot.parse(sql, read="trino") if item is not None]
    except ParseError as error:
        detail = _first_line(error)
        raise QueryError(f"Trino: cannot parse the query (sqlglot: {detail})") from None
    if len(statements) != 1:
        raise QueryError(f"Trino runs one statement at a time, got {len(statements)}")
    statement = statements[0]
    if not _reads(statement, exp):
        kind = statement.this if isinstance(statement, exp.Command) else statement.key
        raise QueryError(f"Trino: only queries run here (read-only), not {str(kind).upper()}")
    return sql.strip().rstrip(";")


def _reads(statement: Any, exp: Any) -> bool:
    if isinstance(statement, exp.Query | exp.Values | exp.Describe | exp.Show):
        return True
    if not isinstance(statement, exp.Command) or str(statement.this).upper() not in READ_COMMANDS:
        return False
    if str(statement.this).upper() != "EXPLAIN":
        return True
    # EXPLAIN ANALYZE runs its statement: that one must read too.
    words = str(statement.expression.this if statement.expression else "").split(None, 1)
    if words and words[0].upper() == "ANALYZE":
        import sqlglot

        rest = words[1] if len(words) > 1 else ""
        rest = rest.split(None, 1)[1] if rest.upper().startswith("VERBOSE") else rest
        inner = sqlglot.parse_one(rest, read="trino") if rest else None
        return inner is not None and _reads(inner, exp)
    return True


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
