/**
 * Dependency order of declared services: the levels `up` starts (each
 * level's services together, once every service of the levels before is
 * ready), the order `down` stops (dependents first, highest instance
 * first) and the closure of some names with what they depend on.
 *
 * Every function takes the graph as services with a `name` (the name they
 * run under, `worker.2`), a `declared` name and the declared names they
 * depend on: a dependency on `worker` is on every instance of it.
 *
 * @module
 */

/**
 * A node of the dependency graph.
 *
 * @example
 * ```ts
 * import type { OrderNode } from "./order.ts";
 * const node: OrderNode = { name: "worker.2", declared: "worker", instance: 2, dependsOn: ["db"] };
 * console.log(node.name);
 * ```
 */
export interface OrderNode {
  /** The name it runs under (`worker.2`). */
  name: string;
  /** The declared name (`worker`). */
  declared: string;
  /** The instance number, for numbered names. */
  instance?: number;
  /** The declared names it needs ready first. */
  dependsOn: readonly string[];
}

/**
 * A cycle in a graph of names -> names it depends on, as the path that
 * closes it (`["a", "b", "a"]`), or `undefined` when there is none.
 *
 * @example
 * ```ts
 * import { findCycle } from "./order.ts";
 * findCycle(new Map([["a", ["b"]], ["b", ["a"]]])); // ["a", "b", "a"]
 * findCycle(new Map([["a", ["b"]], ["b", []]])); // undefined
 * ```
 */
export function findCycle(graph: Map<string, readonly string[]>): string[] | undefined {
  const done = new Set<string>();
  const visit = (name: string, path: string[]): string[] | undefined => {
    const at = path.indexOf(name);
    if (at >= 0) return [...path.slice(at), name];
    if (done.has(name)) return undefined;
    for (const dep of graph.get(name) ?? []) {
      const cycle = visit(dep, [...path, name]);
      if (cycle) return cycle;
    }
    done.add(name);
    return undefined;
  };
  for (const name of graph.keys()) {
    const cycle = visit(name, []);
    if (cycle) return cycle;
  }
  return undefined;
}

/**
 * The start levels: level 0 holds what depends on nothing, level N what
 * depends only on levels below N. Each level lists names in the order
 * given. The graph must be acyclic (validation makes sure).
 *
 * @example
 * ```ts
 * import { startLevels } from "./order.ts";
 * startLevels([
 *   { name: "web", declared: "web", dependsOn: ["db"] },
 *   { name: "db", declared: "db", dependsOn: [] },
 *   { name: "cron", declared: "cron", dependsOn: [] },
 * ]); // [["db", "cron"], ["web"]]
 * ```
 */
export function startLevels(nodes: readonly OrderNode[]): string[][] {
  const depth = new Map<string, number>();
  const byDeclared = (declared: string) => nodes.filter((n) => n.declared === declared);
  const levelOf = (node: OrderNode): number => {
    const known = depth.get(node.name);
    if (known !== undefined) return known;
    depth.set(node.name, 0); // a cycle (never validated) stops here
    let level = 0;
    for (const dep of node.dependsOn) {
      for (const d of byDeclared(dep)) level = Math.max(level, levelOf(d) + 1);
    }
    depth.set(node.name, level);
    return level;
  };
  const levels: string[][] = [];
  for (const node of nodes) (levels[levelOf(node)] ??= []).push(node.name);
  return levels.filter((l) => l !== undefined);
}

/**
 * The order `down` stops in: the start levels reversed (dependents before
 * what they depend on), and within a level higher instances first.
 *
 * @example
 * ```ts
 * import { stopOrder } from "./order.ts";
 * stopOrder([
 *   { name: "db", declared: "db", dependsOn: [] },
 *   { name: "web.1", declared: "web", instance: 1, dependsOn: ["db"] },
 *   { name: "web.2", declared: "web", instance: 2, dependsOn: ["db"] },
 * ]); // ["web.2", "web.1", "db"]
 * ```
 */
export function stopOrder(nodes: readonly OrderNode[]): string[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  return startLevels(nodes).reverse().flatMap((level) =>
    [...level].sort((a, b) => (byName.get(b)!.instance ?? 0) - (byName.get(a)!.instance ?? 0))
  );
}

/**
 * The names `names` select (declared names select every instance; an
 * instance name selects itself) plus everything they depend on,
 * transitively, in the order of `nodes`. An unknown name is returned in
 * `unknown`.
 *
 * @example
 * ```ts
 * import { dependencyClosure } from "./order.ts";
 * const nodes = [
 *   { name: "db", declared: "db", dependsOn: [] },
 *   { name: "web", declared: "web", dependsOn: ["db"] },
 *   { name: "cron", declared: "cron", dependsOn: [] },
 * ];
 * dependencyClosure(nodes, ["web"]); // { names: ["db", "web"], unknown: [] }
 * ```
 */
export function dependencyClosure(
  nodes: readonly OrderNode[],
  names: readonly string[],
): { names: string[]; unknown: string[] } {
  const chosen = new Set<string>();
  const unknown: string[] = [];
  const add = (node: OrderNode) => {
    if (chosen.has(node.name)) return;
    chosen.add(node.name);
    for (const dep of node.dependsOn) {
      for (const d of nodes) if (d.declared === dep) add(d);
    }
  };
  for (const name of names) {
    const hits = nodes.filter((n) => n.name === name || n.declared === name);
    if (hits.length === 0) unknown.push(name);
    hits.forEach(add);
  }
  return { names: nodes.filter((n) => chosen.has(n.name)).map((n) => n.name), unknown };
}
