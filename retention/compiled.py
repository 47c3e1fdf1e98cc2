"""A hot single-row ORM query compiled to SQL once per database connection.

Django compiles a queryset's SQL on every evaluation; for a select_related of three wide tables that compilation
cost more CPU than PostgreSQL's work (profiled on the redemption path). `CompiledFirst` builds the queryset once
with a sentinel in place of the looked-up value, keeps the SQL, the column converters and the row layout, and
afterwards runs only the statement and builds the instances as the queryset would (Model.from_db, the
select_related populators, the annotations).
"""

import threading
from collections.abc import Callable

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

    def __init__(self, build: Callable[[str], QuerySet], using: str = DEFAULT_DB_ALIAS):
        self.build = build
        self.using = using
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
