"""Compare two GraphQL schemas structurally, both ways.

A schema is reduced to facts: each named type and its kind, each field with its type and
deprecation reason, each argument with its type and default, each enum value. Root types
are named by their role ("<query>", "<mutation>"), so a schema whose roots are
RootQueryType/RootMutationType compares equal to one that writes Query/Mutation; the
root names are checked on their own. Descriptions are not compared.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
)
from graphql.pyutils import Undefined

Fact = tuple[Any, ...]


def _roles(schema: GraphQLSchema) -> dict[str, str]:
    roles = {}
    for role, root in (("<query>", schema.query_type), ("<mutation>", schema.mutation_type),
                       ("<subscription>", schema.subscription_type)):
        if root is not None:
            roles[root.name] = role
    return roles


def facts(schema: GraphQLSchema) -> set[Fact]:
    roles = _roles(schema)
    found: set[Fact] = set()
    for name, type_ in schema.type_map.items():
        if name.startswith("__"):
            continue
        type_name = roles.get(name, name)
        found.add(("type", type_name, type(type_).__name__))
        if isinstance(type_, GraphQLEnumType):
            found.update(("enum value", type_name, value) for value in type_.values)
        if isinstance(type_, GraphQLUnionType):
            found.update(("union member", type_name, member.name) for member in type_.types)
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            found.update(("implements", type_name, i.name) for i in type_.interfaces)
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in type_.fields.items():
                if isinstance(type_, GraphQLInputObjectType):
                    found.add(("field", type_name, field_name, str(field.type), None, _default(field.default_value)))
                    continue
                found.add(("field", type_name, field_name, str(field.type), field.deprecation_reason))
                for arg_name, arg in field.args.items():
                    found.add(("arg", type_name, field_name, arg_name, str(arg.type), _default(arg.default_value)))
    return found


def _default(value: Any) -> str | None:
    return None if value is Undefined else repr(value)


def difference(expected: GraphQLSchema, actual: GraphQLSchema) -> tuple[set[Fact], set[Fact]]:
    """(facts of `expected` that `actual` lacks or gets wrong, facts only `actual` has)."""
    want, have = facts(expected), facts(actual)
    return want - have, have - want


def count_by_kind(found: set[Fact]) -> dict[str, int]:
    return dict(Counter(fact[0] for fact in found))
