import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import { SluiceError } from '../errors.js';

/** Where the previous page ended: rows are ordered by (created_at, id). */
export interface PageCursor {
  readonly createdAt: string;
  readonly id: string;
}

/**
 * The condition "after this cursor" for keyset pagination on (created_at, id): stable under
 * inserts, unlike offsets.
 */
export function afterCursor<DB, TB extends keyof DB>(
  eb: ExpressionBuilder<DB, TB>,
  after: PageCursor,
): Expression<SqlBool> {
  const e = eb as unknown as ExpressionBuilder<{ t: { created_at: string; id: string } }, 't'>;
  return e.or([
    e('created_at', '>', after.createdAt),
    e.and([e('created_at', '=', after.createdAt), e('id', '>', after.id)]),
  ]);
}

/** The opaque cursor handed to clients for the row a page ended on. */
export function encodeCursor(row: { readonly created_at: string; readonly id: string }): string {
  return Buffer.from(JSON.stringify([row.created_at, row.id])).toString('base64url');
}

/** Reads a cursor a client sent back; one this server did not give out is a 400. */
export function decodeCursor(cursor: string | undefined): PageCursor | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'string' && typeof id === 'string') return { createdAt, id };
  } catch {
    // fall through to the error below
  }
  throw new SluiceError(
    'validation_failed',
    'The cursor is not one this server gave out; start again without it.',
    { field: 'cursor' },
  );
}

/**
 * A page from rows read with one more than `limit` (that extra row says whether another page
 * follows): the first `limit` rows made items, and the cursor of the last of them.
 */
export function keysetPage<Row extends { readonly created_at: string; readonly id: string }, Item>(
  rows: readonly Row[],
  limit: number,
  toItem: (row: Row) => Item,
): { items: Item[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map(toItem), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}
