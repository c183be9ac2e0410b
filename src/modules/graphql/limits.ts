import {
  type ASTVisitor,
  type FieldNode,
  type GraphQLAbstractType,
  GraphQLError,
  type GraphQLField,
  type GraphQLOutputType,
  type GraphQLSchema,
  type GraphQLType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
  /** Field selections an operation may make, fragments expanded. */
  maxFields: number;
  /** Aliased fields an operation may have (each alias can repeat a costly field). */
  maxAliases: number;
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

function isList(type: GraphQLType): boolean {
  let inner = type;
  while ('ofType' in inner && inner.ofType) {
    if (inner.constructor.name === 'GraphQLList') return true;
    inner = inner.ofType as GraphQLType;
  }
  return false;
}

/** Unions and interfaces (structurally: they resolve a concrete type). */
function isAbstract(type: GraphQLType): type is GraphQLAbstractType {
  return (
    'resolveType' in type &&
    (type.constructor.name === 'GraphQLUnionType' || type.constructor.name === 'GraphQLInterfaceType')
  );
}

function fieldsOf(type: GraphQLType | undefined | null): Record<string, GraphQLField<unknown, unknown>> {
  return type && 'getFields' in type && !('ofType' in type)
    ? (type.getFields() as Record<string, GraphQLField<unknown, unknown>>)
    : {};
}

/**
 * How many items each introspection list holds in this schema, on average over every type (or
 * field): `types × fields` is then the number of fields the schema has. Introspection is priced
 * like any other query, by about what it returns, so it cannot be used to get past the cost limit.
 */
function introspectionListSizes(schema: GraphQLSchema): Map<string, number> {
  const types = Object.values(schema.getTypeMap());
  const mean = (counts: number[]) =>
    counts.length === 0 ? 0 : Math.ceil(counts.reduce((a, b) => a + b, 0) / counts.length);
  const fields = types.flatMap((type) => Object.values(fieldsOf(type)));
  const isInput = (type: GraphQLType) => type.constructor.name === 'GraphQLInputObjectType';
  return new Map([
    ['__Schema.types', types.length],
    ['__Schema.directives', schema.getDirectives().length],
    ['__Type.fields', mean(types.map((type) => (isInput(type) ? 0 : Object.keys(fieldsOf(type)).length)))],
    [
      '__Type.inputFields',
      mean(types.map((type) => (isInput(type) ? Object.keys(fieldsOf(type)).length : 0))),
    ],
    ['__Type.enumValues', mean(types.map((type) => ('getValues' in type ? type.getValues().length : 0)))],
    [
      '__Type.interfaces',
      mean(types.map((type) => ('getInterfaces' in type ? type.getInterfaces().length : 0))),
    ],
    [
      '__Type.possibleTypes',
      mean(types.map((type) => (isAbstract(type) ? schema.getPossibleTypes(type).length : 0))),
    ],
    ['__Field.args', mean(fields.map((field) => field.args?.length ?? 0))],
    ['__Directive.args', mean(schema.getDirectives().map((directive) => directive.args.length))],
  ]);
}

/** The most list and non-null wrappers around any field's or argument's type ([Product!]! is 3). */
function deepestWrapping(schema: GraphQLSchema): number {
  const wrappers = (type: GraphQLType) => {
    let count = 0;
    for (let inner = type; 'ofType' in inner && inner.ofType; inner = inner.ofType as GraphQLType) count += 1;
    return count;
  };
  const fields = Object.values(schema.getTypeMap()).flatMap((type) => Object.values(fieldsOf(type)));
  return Math.max(
    0,
    ...fields.flatMap((field) => [
      wrappers(field.type as GraphQLType),
      ...(field.args ?? []).map((arg) => wrappers(arg.type)),
    ]),
  );
}

interface Measure {
  depth: number;
  cost: number;
}

/** Thrown inside the measurement once an operation is over a count: nothing more needs measuring. */
class OverLimit extends Error {}

/**
 * One validation rule for every guard rail, so an expensive query is refused before any resolver
 * runs:
 * - depth counts nested field selections of the API's own types;
 * - cost counts every field once per item it may be fetched for: a field's `first` argument (or its
 *   default) multiplies what is below it, and introspection lists by their real size in the schema;
 * - fields and aliases are counted with fragments expanded, and counting stops at the limit, so a
 *   fragment that spreads another many times over cannot make the check itself expensive.
 * With `introspection` false, `__schema` and `__type` are refused (`__typename` stays allowed).
 */
export function queryLimitsRule(
  limits: QueryLimits & { introspection: boolean },
  variables: Record<string, unknown> | undefined,
) {
  return (context: ValidationContext): ASTVisitor => {
    const schema = context.getSchema();
    const listSizes = introspectionListSizes(schema);
    const maxWrapping = deepestWrapping(schema);
    let fields = 0;
    let aliases = 0;

    const count = (node: FieldNode) => {
      fields += 1;
      if (node.alias) aliases += 1;
      if (fields > limits.maxFields || aliases > limits.maxAliases) throw new OverLimit();
    };

    // `wrapped`: how many `ofType` links enclose this selection (type references nest by them).
    const measure = (
      selectionSet: SelectionSetNode,
      type: GraphQLType,
      seen: Set<string>,
      wrapped = 0,
    ): Measure => {
      let depth = 0;
      let cost = 0;
      for (const selection of selectionSet.selections) {
        let inner: Measure;
        if (selection.kind === Kind.FIELD) {
          inner = measureField(selection, type, seen, wrapped);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const fragmentType = selection.typeCondition
            ? (schema.getType(selection.typeCondition.name.value) ?? type)
            : type;
          inner = measure(selection.selectionSet, fragmentType, seen, wrapped);
        } else {
          const name = selection.name.value;
          const fragment = context.getFragment(name);
          // A fragment spread inside itself is reported by the standard NoFragmentCycles rule.
          if (!fragment || seen.has(name)) continue;
          const fragmentType = schema.getType(fragment.typeCondition.name.value) ?? type;
          inner = measure(fragment.selectionSet, fragmentType, new Set([...seen, name]), wrapped);
        }
        depth = Math.max(depth, inner.depth);
        cost += inner.cost;
      }
      return { depth, cost };
    };

    const measureField = (
      node: FieldNode,
      parent: GraphQLType,
      seen: Set<string>,
      wrapped: number,
    ): Measure => {
      count(node);
      const name = node.name.value;
      // No type of this schema is wrapped deeper: past that, ofType answers null and costs nothing more.
      const ofType = name === 'ofType' && String(parent) === '__Type';
      if (ofType && wrapped >= maxWrapping) return { depth: 0, cost: 1 };
      const introspection = name.startsWith('__') || String(parent).startsWith('__');
      const field =
        name === '__schema'
          ? { type: schema.getType('__Schema'), args: [] }
          : name === '__type'
            ? { type: schema.getType('__Type'), args: [] }
            : fieldsOf(parent)[name];
      if (!field?.type || !node.selectionSet) return { depth: introspection ? 0 : 1, cost: 1 };
      const inner = measure(
        node.selectionSet,
        namedType(field.type as GraphQLOutputType),
        seen,
        ofType ? wrapped + 1 : wrapped,
      );
      const times = introspection
        ? isList(field.type as GraphQLType)
          ? (listSizes.get(`${String(parent)}.${name}`) ?? 1)
          : 1
        : multiplier(node, field as GraphQLField<unknown, unknown>);
      // Introspection's type references nest by design (ofType { ofType { … } }); its depth is not
      // the API's, so only its cost is measured.
      return { depth: introspection ? inner.depth : 1 + inner.depth, cost: 1 + inner.cost * times };
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

    const report = (
      operation: OperationDefinitionNode,
      message: string,
      extensions: Record<string, unknown>,
    ) => context.reportError(new GraphQLError(message, { nodes: [operation], extensions }));

    return {
      Field(node) {
        if (!limits.introspection && (node.name.value === '__schema' || node.name.value === '__type')) {
          context.reportError(
            new GraphQLError('Introspection is turned off on this server', {
              nodes: [node],
              extensions: { code: 'INTROSPECTION_DISABLED' },
            }),
          );
        }
      },
      OperationDefinition(operation) {
        const root =
          operation.operation === 'query'
            ? schema.getQueryType()
            : operation.operation === 'mutation'
              ? schema.getMutationType()
              : schema.getSubscriptionType();
        if (!root) return;
        fields = 0;
        aliases = 0;
        let measured: Measure;
        try {
          measured = measure(operation.selectionSet, root, new Set());
        } catch (error) {
          if (!(error instanceof OverLimit)) throw error;
          if (aliases > limits.maxAliases) {
            return report(operation, `The query uses more than ${limits.maxAliases} aliases`, {
              code: 'QUERY_TOO_MANY_ALIASES',
              maxAliases: limits.maxAliases,
            });
          }
          return report(operation, `The query selects more than ${limits.maxFields} fields`, {
            code: 'QUERY_TOO_MANY_FIELDS',
            maxFields: limits.maxFields,
          });
        }
        const { depth, cost } = measured;
        if (depth > limits.maxDepth) {
          report(operation, `The query is nested ${depth} levels deep; the limit is ${limits.maxDepth}`, {
            code: 'QUERY_TOO_DEEP',
            depth,
            maxDepth: limits.maxDepth,
          });
        }
        if (cost > limits.maxCost) {
          report(operation, `The query would cost ${cost}; the limit is ${limits.maxCost}`, {
            code: 'QUERY_TOO_COMPLEX',
            cost,
            maxCost: limits.maxCost,
          });
        }
      },
    };
  };
}
