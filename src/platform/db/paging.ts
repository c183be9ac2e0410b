import { type SelectQueryBuilder, sql } from 'kysely';

/**
 * One page of a filtered query, newest first (`created_at`, then `id`), with the total the filter
 * matches: the rows and the count run side by side from the same filtered query.
 */
export async function newestFirstPage<DB, TB extends keyof DB, Row>(
  filtered: SelectQueryBuilder<DB, TB, object>,
  select: (query: SelectQueryBuilder<DB, TB, object>) => SelectQueryBuilder<DB, TB, Row>,
  page: { offset: number; limit: number },
): Promise<{ rows: Row[]; total: number }> {
  const [rows, count] = await Promise.all([
    select(filtered)
      .orderBy(sql`created_at`, 'desc')
      .orderBy(sql`id`, 'desc')
      .offset(page.offset)
      .limit(page.limit)
      .execute(),
    filtered.select(sql<number>`count(*)::int`.as('total')).executeTakeFirstOrThrow(),
  ]);
  return { rows: rows as Row[], total: (count as { total: number }).total };
}
