"""What Numerai's API accepts beyond the GraphQL spec, and nothing more.

Real clients rely on two things the live API allows and graphql-core (rightly) refuses:

- String and ID variables are interchangeable: numerapi declares `$modelId: String` (and
  `String!`) for `ID` arguments in `model_upload`, `upload_predictions`,
  `modelid_to_modelname` and `diagnostics`, numerai-cli does the same, and the live API
  answers them. The replacement for graphql-core's VariablesInAllowedPositionRule below
  allows exactly that swap (same list and non-null wrappers rules as the spec otherwise);
  an Int where an ID is expected, a nullable variable where a non-null one is required
  without a default, and every other rule stay graphql-core's, with its messages.
- snake_case names: Numerai's server converts names, so numerapi's `get_account` still
  asks for `apiTokens { public_id }`. Only the names a real client is seen sending are
  accepted (SNAKE_CASE_FIELDS, each with its source); the document is rewritten to the
  schema's name, aliased to the client's, so the answer uses the key the client asked for.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLSchema,
    GraphQLType,
    NameNode,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    is_input_object_type,
    is_list_type,
    is_non_null_type,
    is_nullable_type,
    specified_rules,
    type_from_ast,
    visit,
)
from graphql.validation import ValidationRule, VariablesInAllowedPositionRule
from graphql.validation.rules.variables_in_allowed_position import allowed_variable_usage

INTERCHANGEABLE = frozenset({"String", "ID"})

# (type, snake_case name the client sends) -> the schema's field name.
SNAKE_CASE_FIELDS: dict[tuple[str, str], str] = {
    ("ApiToken", "public_id"): "publicId",  # numerapi 3.1.1 Api.get_account
}


def _as_named(type_: GraphQLType, named: GraphQLNamedType) -> GraphQLType:
    """`type_` with its named type replaced by `named`, wrappers kept."""
    if is_non_null_type(type_):
        return GraphQLNonNull(_as_named(type_.of_type, named))  # type: ignore[union-attr, arg-type]
    if is_list_type(type_):
        return GraphQLList(_as_named(type_.of_type, named))  # type: ignore[union-attr]
    return named


def numerai_variable_type(var_type: GraphQLType, location_type: GraphQLType) -> GraphQLType:
    """The variable's type as Numerai sees it in that position: a String is an ID and vice versa."""
    var_named, location_named = get_named_type(var_type), get_named_type(location_type)
    if var_named.name != location_named.name and {var_named.name, location_named.name} == INTERCHANGEABLE:
        return _as_named(var_type, location_named)
    return var_type


class NumeraiVariablesInAllowedPositionRule(VariablesInAllowedPositionRule):
    """graphql-core's rule, with String and ID variables interchangeable."""

    def leave_operation_definition(self, operation: OperationDefinitionNode, *_args: Any) -> None:
        schema = self.context.schema
        for usage in self.context.get_recursive_variable_usages(operation):
            node, location_type = usage.node, usage.type
            var_name = node.name.value
            var_def = usage.fragment_variable_definition or self.var_def_map.get(var_name)
            if not var_def or not location_type:
                continue
            var_type = type_from_ast(schema, var_def.type)
            if var_type is None:
                continue
            seen_as = numerai_variable_type(var_type, location_type)
            if not allowed_variable_usage(schema, seen_as, var_def.default_value, location_type,
                                          usage.default_value):
                self.report_error(GraphQLError(
                    f"Variable '${var_name}' of type '{var_type}' used in position expecting type "
                    f"'{location_type}'.", [var_def, node]))
            parent = usage.parent_type
            if is_input_object_type(parent) and parent.is_one_of and is_nullable_type(var_type):  # type: ignore[union-attr]
                self.report_error(GraphQLError(
                    f"Variable '${var_name}' is of type '{var_type}' but must be non-nullable to be used for "
                    f"OneOf Input Object '{parent}'.", [var_def, node]))


NUMERAI_RULES: tuple[type[ValidationRule], ...] = tuple(
    NumeraiVariablesInAllowedPositionRule if rule is VariablesInAllowedPositionRule else rule
    for rule in specified_rules
)


class _SnakeCaseFields(Visitor):
    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info

    def enter_field(self, node: FieldNode, *_args: Any) -> FieldNode | None:
        parent = self.type_info.get_parent_type()
        name = SNAKE_CASE_FIELDS.get((parent.name, node.name.value)) if parent else None
        if name is None:
            return None
        return replace(node, alias=node.alias or NameNode(value=node.name.value), name=NameNode(value=name))


def accept_snake_case(schema: GraphQLSchema, document: DocumentNode) -> DocumentNode:
    """`document` with the snake_case names of SNAKE_CASE_FIELDS asked under the schema's names."""
    type_info = TypeInfo(schema)
    return visit(document, TypeInfoVisitor(type_info, _SnakeCaseFields(type_info)))
