import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * Stands for a value in a query built once: `p<string>('hash')`. The value is given at each run.
 * Typed as whatever the builder needs there; only this file ever sees what it really is.
 */
export type Placeholder = <T = string>(name: string) => T;

/** The text a placeholder is while the query is compiled: no value a caller passes looks like it. */
const MARK = '\u0000sluice-placeholder:';

const placeholder: Placeholder = <T>(name: string) => `${MARK}${name}\u0000` as unknown as T;

interface Kept<R> {
  readonly compiled: CompiledQuery<R>;
  /** For each parameter of the compiled query, the name of the value that goes there, or undefined for a constant. */
  readonly slots: readonly (string | undefined)[];
}

/**
 * A query built and compiled once per database and shape, then run with new values. Kysely
 * builds and compiles a query on every call, which for the small queries every request makes
 * (the token, the workspace, the list's stamp) costs several times what running them does.
 * `build` must take every value that varies from its placeholder function; `shape`, which it is
 * given too, names what else changes the query's text (how many ids an `in` lists, whether a
 * cursor is there).
 */
export function compiledOnce<R>(
  build: (db: Kysely<Database>, p: Placeholder, shape: string) => Compilable<R>,
): (db: Kysely<Database>, shape: string, values: Readonly<Record<string, unknown>>) => Promise<R[]> {
  const kept = new WeakMap<Kysely<Database>, Map<string, Kept<R>>>();
  return async (db, shape, values) => {
    let shapes = kept.get(db);
    if (!shapes) {
      shapes = new Map();
      kept.set(db, shapes);
    }
    let query = shapes.get(shape);
    if (!query) {
      const compiled = build(db, placeholder, shape).compile();
      const slots = compiled.parameters.map((parameter) =>
        typeof parameter === 'string' && parameter.startsWith(MARK)
          ? parameter.slice(MARK.length, -1)
          : undefined,
      );
      query = { compiled, slots };
      shapes.set(shape, query);
    }
    const { compiled, slots } = query;
    const parameters = slots.map((name, i) => {
      if (name === undefined) return compiled.parameters[i];
      if (!(name in values)) throw new Error(`A compiled query runs without its value '${name}'.`);
      return values[name];
    });
    return (await db.executeQuery<R>({ ...compiled, parameters })).rows;
  };
}
