import { type SelectQueryBuilder, sql } from 'kysely';

export interface PageOrder {
  /** The time column rows are ordered by; `id` (a UUIDv7) breaks ties in the same direction. */
  by: 'created_at' | 'at';
  direction: 'asc' | 'desc';
}

const NEWEST_FIRST: PageOrder = { by: 'created_at', direction: 'desc' };

/**
 * One page of a filtered query with the total the filter matches: the rows and the count run side
 * by side from the same filtered query, so a list and its total cannot disagree on the filter.
 */
export async function pageOf<DB, TB extends keyof DB, Row>(
  filtered: SelectQueryBuilder<DB, TB, object>,
  select: (query: SelectQueryBuilder<DB, TB, object>) => SelectQueryBuilder<DB, TB, Row>,
  page: { offset: number; limit: number },
  order: PageOrder = NEWEST_FIRST,
): Promise<{ rows: Row[]; total: number }> {
  const [rows, count] = await Promise.all([
    select(filtered)
      .orderBy(sql.ref(order.by), order.direction)
      .orderBy(sql`id`, order.direction)
      .offset(page.offset)
      .limit(page.limit)
      .execute(),
    filtered.select(sql<number>`count(*)::int`.as('total')).executeTakeFirstOrThrow(),
  ]);
  return { rows: rows as Row[], total: (count as { total: number }).total };
}
