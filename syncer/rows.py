"""Model instances from rows read with a plain statement, on the paths where the ORM's query
building cost several times the query itself (a few hundred microseconds of CPU per query
against a few tens: measured on the paths every stock write and its echo take)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Model


def model_select(model: type[Model], fields: Sequence[str]) -> str:
    """`SELECT <fields> FROM <model's table>`: add the WHERE clause."""
    return f"SELECT {', '.join(fields)} FROM {model._meta.db_table}"


def model_from_row[M: Model](model: type[M], fields: Sequence[str], row: Sequence[Any]) -> M:
    """An instance of `model` as the ORM would have read it with `.only(*fields)`: each value
    through its field's own conversion (an encrypted field decrypts, say); the fields not read
    are read when touched."""
    read = dict(zip(fields, row, strict=True))
    # from_db takes the values in the model's field order.
    names, values = [], []
    for field in model._meta.concrete_fields:
        if field.attname not in read:
            continue
        value = read[field.attname]
        convert = getattr(field, "from_db_value", None)
        names.append(field.attname)
        values.append(convert(value, None, connection) if convert is not None else value)
    return model.from_db(connection.alias, names, values)
