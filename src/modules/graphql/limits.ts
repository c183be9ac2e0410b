import {
  type ASTVisitor,
  type FieldNode,
  GraphQLError,
  type GraphQLField,
  type GraphQLOutputType,
  type GraphQLType,
  Kind,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
}

/**
 * Structural checks instead of graphql's isObjectType/getNamedType: those use instanceof, and the
 * schema may come from the other (CommonJS or ESM) copy of graphql that mercurius loaded.
 */
function namedType(type: GraphQLType): GraphQLType {
  let named = type;
  while ('ofType' in named && named.ofType) named = named.ofType as GraphQLType;
  return named;
}

function fieldsOf(type: GraphQLType | undefined | null): Record<string, GraphQLField<unknown, unknown>> {
  return type && 'getFields' in type && !('ofType' in type)
    ? (type.getFields() as Record<string, GraphQLField<unknown, unknown>>)
    : {};
}

interface Measure {
  depth: number;
  cost: number;
}

/**
 * One validation rule for both guard rails, so an expensive query is refused before any resolver
 * runs. Depth counts nested field selections; cost counts every field once per item it may be
 * fetched for, where a field's `first` argument (or its default) multiplies what is below it.
 * Introspection fields (`__schema`, `__type`) are not measured: tools must be able to read the schema.
 */
export function queryLimitsRule(limits: QueryLimits, variables: Record<string, unknown> | undefined) {
  return (context: ValidationContext): ASTVisitor => {
    const measure = (selectionSet: SelectionSetNode, type: GraphQLType, seen: Set<string>): Measure => {
      let depth = 0;
      let cost = 0;
      for (const selection of selectionSet.selections) {
        let inner: Measure;
        if (selection.kind === Kind.FIELD) {
          inner = measureField(selection, type, seen);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          inner = measure(selection.selectionSet, type, seen);
        } else {
          const name = selection.name.value;
          const fragment = context.getFragment(name);
          // A fragment spread inside itself is reported by the standard NoFragmentCycles rule.
          if (!fragment || seen.has(name)) continue;
          const fragmentType = context.getSchema().getType(fragment.typeCondition.name.value) ?? type;
          inner = measure(fragment.selectionSet, fragmentType, new Set([...seen, name]));
        }
        depth = Math.max(depth, inner.depth);
        cost += inner.cost;
      }
      return { depth, cost };
    };

    const measureField = (node: FieldNode, parent: GraphQLType, seen: Set<string>): Measure => {
      if (node.name.value.startsWith('__')) return { depth: 0, cost: 0 };
      const field = fieldsOf(parent)[node.name.value];
      if (!field || !node.selectionSet) return { depth: 1, cost: 1 };
      const inner = measure(node.selectionSet, namedType(field.type as GraphQLOutputType), seen);
      return { depth: 1 + inner.depth, cost: 1 + inner.cost * multiplier(node, field) };
    };

    const multiplier = (node: FieldNode, field: GraphQLField<unknown, unknown>): number => {
      const definition = field.args.find((arg) => arg.name === 'first');
      if (!definition) return 1;
      const given = node.arguments?.find((arg) => arg.name.value === 'first')?.value;
      const value =
        given === undefined
          ? definition.defaultValue
          : given.kind === Kind.INT
            ? Number(given.value)
            : given.kind === Kind.VARIABLE
              ? variables?.[given.name.value]
              : undefined;
      return typeof value === 'number' && value > 0 ? value : 1;
    };

    return {
      OperationDefinition(operation) {
        const root =
          operation.operation === 'query'
            ? context.getSchema().getQueryType()
            : operation.operation === 'mutation'
              ? context.getSchema().getMutationType()
              : context.getSchema().getSubscriptionType();
        if (!root) return;
        const { depth, cost } = measure(operation.selectionSet, root, new Set());
        if (depth > limits.maxDepth) {
          context.reportError(
            new GraphQLError(`The query is nested ${depth} levels deep; the limit is ${limits.maxDepth}`, {
              nodes: [operation],
              extensions: { code: 'QUERY_TOO_DEEP', depth, maxDepth: limits.maxDepth },
            }),
          );
        }
        if (cost > limits.maxCost) {
          context.reportError(
            new GraphQLError(`The query would cost ${cost}; the limit is ${limits.maxCost}`, {
              nodes: [operation],
              extensions: { code: 'QUERY_TOO_COMPLEX', cost, maxCost: limits.maxCost },
            }),
          );
        }
      },
    };
  };
}
