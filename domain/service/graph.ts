// The dependency graph and the walks the topology answers with. An edge `from → to` means `from` calls `to` (it
// depends on it). Upstream of S is what S depends on, transitively; downstream of S is what depends on S, which is
// what breaks when S fails (its blast radius). Graphs may have cycles (A calls B, B calls A): every walk is a
// breadth-first search that visits each service once, so it ends, finds shortest distances, and costs O(V + E).
// Neighbours are kept sorted, so every answer (ties between equally short paths included) is deterministic.

export interface DependencyEdge {
  from: string;
  to: string;
}

/** A service reached by a walk, `distance` edges away from the nearest start. */
export interface Reached {
  service: string;
  distance: number;
}

type Adjacency = ReadonlyMap<string, readonly string[]>;

function adjacency(edges: Iterable<DependencyEdge>, key: 'from' | 'to'): Map<string, string[]> {
  const other = key === 'from' ? 'to' : 'from';
  const map = new Map<string, Set<string>>();
  for (const edge of edges) {
    const set = map.get(edge[key]) ?? new Set<string>();
    set.add(edge[other]);
    map.set(edge[key], set);
  }
  return new Map([...map].map(([name, set]) => [name, [...set].sort()]));
}

/**
 * Breadth-first from `starts` along `next`, up to `depth` edges (unlimited when undefined). The starts themselves are
 * never in the answer, not even when a cycle leads back to them. Nearest first, then by name.
 */
function walk(next: Adjacency, starts: readonly string[], depth: number | undefined): Reached[] {
  const seen = new Set(starts);
  const reached: Reached[] = [];
  let frontier = [...seen];
  for (let distance = 1; frontier.length > 0 && (depth === undefined || distance <= depth); distance++) {
    const level: string[] = [];
    for (const name of frontier) {
      for (const neighbour of next.get(name) ?? []) {
        if (seen.has(neighbour)) continue;
        seen.add(neighbour);
        level.push(neighbour);
      }
    }
    level.sort();
    reached.push(...level.map((service) => ({ service, distance })));
    frontier = level;
  }
  return reached;
}

export class DependencyGraph {
  /** from → the services it calls. */
  readonly #calls: Adjacency;
  /** to → the services calling it. */
  readonly #calledBy: Adjacency;

  constructor(edges: Iterable<DependencyEdge>) {
    const list = [...edges];
    this.#calls = adjacency(list, 'from');
    this.#calledBy = adjacency(list, 'to');
  }

  /** True when `name` is at either end of an edge. */
  has(name: string): boolean {
    return this.#calls.has(name) || this.#calledBy.has(name);
  }

  /** What `name` calls directly, by name. */
  dependsOn(name: string): readonly string[] {
    return this.#calls.get(name) ?? [];
  }

  /** What calls `name` directly, by name. */
  dependents(name: string): readonly string[] {
    return this.#calledBy.get(name) ?? [];
  }

  /** What the services depend on, transitively, up to `depth` edges away (all when undefined). */
  upstream(names: readonly string[], depth?: number): Reached[] {
    return walk(this.#calls, names, depth);
  }

  /** What depends on the services, transitively, up to `depth` edges away (all when undefined). */
  downstream(names: readonly string[], depth?: number): Reached[] {
    return walk(this.#calledBy, names, depth);
  }

  /**
   * A shortest chain of calls from `from` to `to` (both included), or null when `from` does not reach `to`.
   * `[from]` when both are the same service.
   */
  path(from: string, to: string): string[] | null {
    if (from === to) return [from];
    const parent = new Map<string, string>([[from, from]]);
    let frontier = [from];
    while (frontier.length > 0) {
      const level: string[] = [];
      for (const name of frontier) {
        for (const neighbour of this.dependsOn(name)) {
          if (parent.has(neighbour)) continue;
          parent.set(neighbour, name);
          if (neighbour === to) return chain(parent, from, to);
          level.push(neighbour);
        }
      }
      frontier = level;
    }
    return null;
  }
}

function chain(parent: ReadonlyMap<string, string>, from: string, to: string): string[] {
  const path = [to];
  for (let name = to; name !== from; ) {
    name = parent.get(name) as string;
    path.push(name);
  }
  return path.reverse();
}
