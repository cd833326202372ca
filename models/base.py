"""Declarative base, shared column types and the one-declaration-per-field helper.

A report field is declared once, on its model column, with `field(...)`: its label, input kind, limits and
choices live in the column's `info`. Modals, validation and the report read them from there, so adding a
field is a model change plus a migration.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import JSON, Date, DateTime, Integer, MetaData, Numeric, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, MappedColumn, mapped_column

# Alembic needs stable constraint names, above all for SQLite batch migrations.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always returns timezone-aware datetimes (SQLite would drop tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware datetime (UTC is stored)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Choice(enum.StrEnum):
    """A choice stored as its short value, shown with a label (and emoji where the template has one)."""

    label: str

    def __new__(cls, value: str, label: str = "") -> Choice:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value.replace("_", " ").capitalize()
        return member

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m.label) for m in cls]


Kind = Literal[
    "text", "multiline", "int", "decimal", "money", "percent", "date", "select", "user", "users", "channel",
    "bool", "url",
]


@dataclass(frozen=True)
class FieldSpec:
    """What a form and the validation need to know about one column."""

    name: str
    label: str
    kind: Kind
    required: bool = False
    max_length: int | None = None
    choices: type[Choice] | None = None
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    hint: str | None = None
    placeholder: str | None = None


_SQL_TYPES: dict[str, Any] = {
    "multiline": Text,
    "int": Integer,
    "decimal": Numeric(12, 2),
    "money": Numeric(14, 2),
    "percent": Numeric(5, 2),
    "date": Date,
    "bool": None,  # given explicitly by the model (Boolean)
}


def field(
    label: str,
    kind: Kind = "text",
    *,
    required: bool = False,
    max_length: int | None = None,
    choices: type[Choice] | None = None,
    min_value: float | int | None = None,
    max_value: float | int | None = None,
    hint: str | None = None,
    placeholder: str | None = None,
    type_: Any = None,
    **column_kwargs: Any,
) -> MappedColumn[Any]:
    """A column that carries its form and validation metadata in `info`.

    Text kinds get a length limit (also the modal's max_length); percentages are bounded to 0–100.
    """
    if kind in ("text", "url", "select", "user", "channel") and max_length is None:
        max_length = {"text": 200, "url": 500, "select": 32, "user": 32, "channel": 32}[kind]
    if kind == "multiline" and max_length is None:
        max_length = 3000
    if kind == "percent":
        min_value = 0 if min_value is None else min_value
        max_value = 100 if max_value is None else max_value
    if type_ is None:
        type_ = String(max_length) if kind in ("text", "url", "select", "user", "channel") else _SQL_TYPES.get(kind)
    info = {
        "field": FieldSpec(
            name="",  # filled in by form_fields(), which knows the attribute name
            label=label,
            kind=kind,
            required=required,
            max_length=max_length,
            choices=choices,
            min_value=None if min_value is None else Decimal(str(min_value)),
            max_value=None if max_value is None else Decimal(str(max_value)),
            hint=hint,
            placeholder=placeholder,
        )
    }
    column_kwargs.setdefault("nullable", not required)
    args = (type_,) if type_ is not None else ()
    return mapped_column(*args, info=info, **column_kwargs)


def form_fields(model: type[Base]) -> list[FieldSpec]:
    """The declared fields of a model, in declaration order."""
    specs: list[FieldSpec] = []
    for attr in model.__mapper__.column_attrs:
        column = attr.columns[0]
        spec = column.info.get("field")
        if spec is not None:
            specs.append(FieldSpec(**{**spec.__dict__, "name": attr.key}))
    return specs


def field_spec(model: type[Base], name: str) -> FieldSpec:
    for spec in form_fields(model):
        if spec.name == name:
            return spec
    raise KeyError(f"{model.__name__}.{name} is not a declared field")


FieldValue = str | int | bool | Decimal | date | list[str] | None
