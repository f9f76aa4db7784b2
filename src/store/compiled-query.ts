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

/**
 * Prepares a compiled read to run at once on a database's own connection. The runner answers
 * undefined when it may not run now; the caller then goes through Kysely.
 */
export type DirectReader = (
  sql: string,
) => ((parameters: readonly unknown[]) => unknown[] | undefined) | undefined;

const directReaders = new WeakMap<Kysely<Database>, DirectReader>();

/**
 * Lets the queries of `compiledOnce` skip Kysely's per-query machinery (its connection queue and
 * the promises around it) on a database whose driver reads synchronously: SQLite, where that
 * machinery costs more than the small reads every request makes.
 */
export function allowDirectReads(db: Kysely<Database>, reader: DirectReader): void {
  directReaders.set(db, reader);
}

interface Kept<R> {
  readonly compiled: CompiledQuery<R>;
  /** For each parameter of the compiled query, the name of the value that goes there, or undefined for a constant. */
  readonly slots: readonly (string | undefined)[];
  readonly direct: ReturnType<DirectReader>;
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
      query = { compiled, slots, direct: directReaders.get(db)?.(compiled.sql) };
      shapes.set(shape, query);
    }
    const { compiled, slots, direct } = query;
    const parameters = slots.map((name, i) => {
      if (name === undefined) return compiled.parameters[i];
      if (!(name in values)) throw new Error(`A compiled query runs without its value '${name}'.`);
      return values[name];
    });
    const rows = direct?.(parameters);
    if (rows !== undefined) return rows as R[];
    return (await db.executeQuery<R>({ ...compiled, parameters })).rows;
  };
}
