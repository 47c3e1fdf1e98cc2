"""A hot single-row ORM query compiled to SQL once per database connection.

Django compiles a queryset's SQL on every evaluation; for a select_related of three wide tables that compilation
cost more CPU than PostgreSQL's work (profiled on the redemption path). `CompiledFirst` builds the queryset once
with a sentinel in place of the looked-up value, keeps the SQL, the column converters and the row layout, and
afterwards runs only the statement and builds the instances as the queryset would (Model.from_db, the
select_related populators, the annotations).
"""

import hashlib
import re
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators

_SENTINEL = "\x00compiled-first-sentinel\x00"


class _Prepared:
    def __init__(self, queryset: QuerySet, connection):
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()  # also fills compiler.select, klass_info and annotation_col_map
        positions = [i for i, param in enumerate(params) if param == _SENTINEL]
        if len(positions) != 1:
            raise ValueError("The queryset must use its value exactly once, unchanged, as a parameter.")
        self.connection = connection
        self.sql, self.params, self.position = sql, list(params), positions[0]
        self.compiler = compiler
        self.converters = compiler.get_converters([s[0] for s in compiler.select[:compiler.col_count]])
        klass_info = compiler.klass_info
        self.model = klass_info["model"]
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self.slice = slice(start, end)
        self.init_list = [column[0].target.attname for column in compiler.select[start:end]]
        self.populators = get_related_populators(klass_info, compiler.select, connection.alias)
        self.annotations = dict(compiler.annotation_col_map or {})


class CompiledFirst:
    """`CompiledFirst(lambda value: Model.objects.filter(field=value))`; `.get(v)` is the first row or None.

    The queryset must be a plain model queryset (select_related and annotations allowed) whose value appears
    once as a query parameter, unchanged (an exact lookup). The compiled form is kept per thread and per
    connection object, since Django's connections are per thread.
    """

    def __init__(self, build: Callable[[str], QuerySet], using: str = DEFAULT_DB_ALIAS, *, prepare: bool = False):
        self.build = build
        self.using = using
        self.prepare = prepare  # on PostgreSQL: planned once per session too (execute_prepared)
        self._local = threading.local()

    def _prepared(self) -> _Prepared:
        connection = connections[self.using]
        prepared = getattr(self._local, "prepared", None)
        if prepared is None or prepared.connection is not connection:
            prepared = _Prepared(self.build(_SENTINEL).order_by()[:1], connection)
            self._local.prepared = prepared
        return prepared

    def get(self, value) -> Model | None:
        prepared = self._prepared()
        params = list(prepared.params)
        params[prepared.position] = value
        with prepared.connection.cursor() as cursor:
            if self.prepare:
                execute_prepared(cursor, prepared.sql, params)
            else:
                cursor.execute(prepared.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        if prepared.converters:
            row = next(prepared.compiler.apply_converters([row], prepared.converters))
        obj = prepared.model.from_db(prepared.connection.alias, prepared.init_list, row[prepared.slice])
        for populator in prepared.populators:
            populator.populate(row, obj)
        for name, position in prepared.annotations.items():
            setattr(obj, name, row[position])
        return obj


# Server-side prepared statements. Django's psycopg backend binds parameters client-side, so PostgreSQL parses and
# plans every statement again: for the redemption's code look-up that was 0.34 ms of planning against 0.09 ms of
# execution. A statement PREPAREd once per session (PREPARE is not undone by a ROLLBACK) is only executed after.
_prepared_in: "weakref.WeakKeyDictionary[object, set[str]]" = weakref.WeakKeyDictionary()
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s|%%")


def execute_prepared(cursor, sql: str, params: Sequence | Mapping, types: Mapping[str, str] | Sequence[str] = ()):
    """cursor.execute(sql, params) as a prepared statement on PostgreSQL (elsewhere: as it is).

    `sql` uses %s or %(name)s placeholders and %% for a literal %. `types` (SQL types by name or by position)
    are needed where PostgreSQL cannot infer a parameter's type from its use (e.g. INSERT ... SELECT $1); without
    them it infers every one. One `sql` text has one `types`: the conversion is kept by the text."""
    connection = cursor.db
    if connection.vendor != "postgresql":
        cursor.execute(sql, params)
        return
    converted = _converted.get(sql)
    if converted is None:
        converted = _converted[sql] = _convert(sql, types)
    name, prepare, names = converted
    raw = connection.connection
    done = _prepared_in.get(raw)
    if done is None:
        done = _prepared_in[raw] = set()
    if name not in done:
        cursor.execute(prepare)
        done.add(name)
    values = [params[key] for key in names] if isinstance(params, Mapping) else list(params)
    cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(values))})" if values else f"EXECUTE {name}", values)


_converted: dict[str, tuple[str, str, list[str]]] = {}


def _convert(sql: str, types) -> tuple[str, str, list[str]]:
    """(statement name, its PREPARE, the parameters' names or positions in $n order) for `sql`."""
    names: list[str] = []

    def positional(match: re.Match) -> str:
        if match.group(0) == "%%":
            return "%"
        key = match.group(1)
        if key is None:
            names.append(str(len(names)))
            return f"${len(names)}"
        if key not in names:
            names.append(key)
        return f"${names.index(key) + 1}"

    body = _PLACEHOLDER.sub(positional, sql)
    declared = [types[key] for key in names] if isinstance(types, Mapping) and types else list(types)
    name = "p_" + hashlib.sha1(f"{declared}{body}".encode(), usedforsecurity=False).hexdigest()[:24]
    signature = f" ({', '.join(declared)})" if declared else ""
    positions = names if names and not names[0].isdigit() else [int(key) for key in names]
    return name, f"PREPARE {name}{signature} AS {body}", positions
