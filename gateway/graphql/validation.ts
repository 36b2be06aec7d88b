// Validation rules beyond the spec's. They run with the spec's rules on queries and mutations (mercurius
// `validationRules`) and on subscription documents (the plugin validates those itself), so what they refuse is
// reported as GRAPHQL_VALIDATION_FAILED like any other invalid document.
import {
  GraphQLError,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type ASTVisitor,
  type FieldNode,
  type GraphQLNamedType,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

export interface ComplexityLimits {
  /** Nested selection levels (`{ a { b } }` is 2). */
  maxDepth: number;
  /** Fields the document may resolve, each counted once per item of the lists around it. */
  maxCost: number;
  /** Items assumed for a list without a literal `first`/`last` (a variable, or no argument at all). */
  assumedListSize: number;
}

export const DEFAULT_COMPLEXITY_LIMITS: ComplexityLimits = { maxDepth: 12, maxCost: 25_000, assumedListSize: 20 };

interface Measure {
  depth: number;
  cost: number;
}

const PAGE_ARGUMENTS = new Set(['first', 'last']);

/**
 * An operation type the schema does not have (a mutation before any module defines one) is refused here; graphql-js
 * 16 only finds out while executing, which would surface as an internal error (graphql-js 17 adds this rule).
 */
export const KnownOperationTypesRule: ValidationRule = (context) => ({
  OperationDefinition(operation) {
    if (context.getSchema().getRootType(operation.operation) === undefined) {
      context.reportError(new GraphQLError(`This schema has no ${operation.operation} operations`, { nodes: operation }));
    }
  },
});

/** Depth and cost limits; introspection is exempt, its size is the schema's. */
export function complexityRule(limits: ComplexityLimits): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const schema = context.getSchema();

    /** The literal page size of a paginated field, the assumed size for a variable one, undefined if unpaged. */
    function pageSize(field: FieldNode): number | undefined {
      const value = field.arguments?.find((argument) => PAGE_ARGUMENTS.has(argument.name.value))?.value;
      if (value === undefined) return undefined;
      return value.kind === Kind.INT ? Math.max(0, Number(value.value)) : limits.assumedListSize;
    }

    function measure(
      selectionSet: SelectionSetNode,
      parent: GraphQLNamedType | undefined,
      /** Inside a paginated field: its edges/nodes list is the page already counted. */
      paginated: boolean,
      fragmentsOnPath: ReadonlySet<string>,
    ): Measure {
      let depth = 0;
      let cost = 0;
      const add = (inner: Measure, extraDepth: number) => {
        depth = Math.max(depth, inner.depth + extraDepth);
        cost += inner.cost;
      };
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          const name = selection.name.value;
          if (name.startsWith('__')) continue;
          // Unknown fields are reported by the spec's rules; here they count as leaves.
          const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
          const list = definition !== undefined && isListType(getNullableType(definition.type));
          cost += 1;
          depth = Math.max(depth, 1);
          if (selection.selectionSet === undefined) continue;
          const page = pageSize(selection);
          const items = page ?? (list && !paginated ? limits.assumedListSize : 1);
          const type = definition && getNamedType(definition.type);
          const inner = measure(selection.selectionSet, type, page !== undefined, fragmentsOnPath);
          add({ depth: inner.depth, cost: inner.cost * items }, 1);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
          add(measure(selection.selectionSet, type ?? undefined, paginated, fragmentsOnPath), 0);
        } else {
          add(measureFragment(selection.name.value, paginated, fragmentsOnPath), 0);
        }
      }
      return { depth, cost };
    }

    // Memoised: a document that spreads each fragment twice into the next would otherwise cost exponential time.
    const fragmentMeasures = new Map<string, Measure>();
    function measureFragment(name: string, paginated: boolean, fragmentsOnPath: ReadonlySet<string>): Measure {
      const key = `${name}/${paginated}`;
      const known = fragmentMeasures.get(key);
      if (known !== undefined) return known;
      const fragment = context.getFragment(name);
      // Cycles are reported by NoFragmentCyclesRule; stop following them here.
      if (!fragment || fragmentsOnPath.has(name)) return { depth: 0, cost: 0 };
      const type = schema.getType(fragment.typeCondition.name.value) ?? undefined;
      const measured = measure(fragment.selectionSet, type, paginated, new Set([...fragmentsOnPath, name]));
      fragmentMeasures.set(key, measured);
      return measured;
    }

    return {
      OperationDefinition(operation) {
        const root = schema.getRootType(operation.operation);
        const { depth, cost } = measure(operation.selectionSet, root ?? undefined, false, new Set());
        const name = operation.name?.value ?? 'anonymous operation';
        const refuse = (message: string) => context.reportError(new GraphQLError(message, { nodes: operation }));
        if (depth > limits.maxDepth) refuse(`${name} is nested ${depth} levels deep; at most ${limits.maxDepth} allowed`);
        if (cost > limits.maxCost) {
          const fields = Math.round(cost);
          refuse(`${name} may resolve about ${fields} fields; at most ${limits.maxCost} allowed (ask for smaller pages)`);
        }
        return false;
      },
    };
  };
}
