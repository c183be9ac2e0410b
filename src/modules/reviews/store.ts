import { type SelectQueryBuilder, sql } from 'kysely';
import { type Db, pageOf } from '../../platform/db/index.ts';

type ReviewTables = {
  reviews: {
    id: string;
    product_id: string;
    user_id: string;
    rating: number;
    title: string | null;
    body: string;
    created_at: Date;
    verified_purchase: boolean;
    hidden_at: Date | null;
    hidden_by: string | null;
    hidden_reason: string | null;
  };
};

export interface ReviewRow {
  id: string;
  productId: string;
  userId: string;
  rating: number;
  title: string | null;
  body: string;
  createdAt: Date;
  verifiedPurchase: boolean;
  hiddenAt: Date | null;
  hiddenReason: string | null;
}

const tables = (executor: Db) => executor.withTables<ReviewTables>();

const columns = [
  'id',
  'product_id as productId',
  'user_id as userId',
  'rating',
  'title',
  'body',
  'created_at as createdAt',
  'verified_purchase as verifiedPurchase',
  'hidden_at as hiddenAt',
  'hidden_reason as hiddenReason',
] as const;

/** What a moderation list shows: every review, or only the visible or the hidden ones. */
export type ReviewStatus = 'visible' | 'hidden';

function byStatus<O>(query: SelectQueryBuilder<ReviewTables, 'reviews', O>, status?: ReviewStatus) {
  if (status === 'visible') return query.where('hidden_at', 'is', null);
  if (status === 'hidden') return query.where('hidden_at', 'is not', null);
  return query;
}

/** All SQL of the reviews module. */
export const reviewStore = {
  /** Every review one user wrote, newest first (their data export). */
  byUser(executor: Db, userId: string): Promise<ReviewRow[]> {
    return tables(executor)
      .selectFrom('reviews')
      .select(columns)
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
  },

  /** Inserts the review unless this user already reviewed the product (returns false then). */
  async insert(executor: Db, review: Omit<ReviewRow, 'hiddenAt' | 'hiddenReason'>): Promise<boolean> {
    const inserted = await tables(executor)
      .insertInto('reviews')
      .values({
        id: review.id,
        product_id: review.productId,
        user_id: review.userId,
        rating: review.rating,
        title: review.title,
        body: review.body,
        created_at: review.createdAt,
        verified_purchase: review.verifiedPurchase,
        hidden_at: null,
        hidden_by: null,
        hidden_reason: null,
      })
      .onConflict((conflict) => conflict.columns(['product_id', 'user_id']).doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted !== undefined;
  },

  byId(executor: Db, id: string): Promise<ReviewRow | undefined> {
    return tables(executor).selectFrom('reviews').select(columns).where('id', '=', id).executeTakeFirst();
  },

  /** A product's visible reviews, newest first, a page at a time, with their total. */
  listByProduct(
    executor: Db,
    productId: string,
    page: { offset: number; limit: number },
  ): Promise<{ rows: ReviewRow[]; total: number }> {
    const query = tables(executor)
      .selectFrom('reviews')
      .where('product_id', '=', productId)
      .where('hidden_at', 'is', null);
    return pageOf(query, (filtered) => filtered.select(columns), page);
  },

  /** Every review, newest first (moderation), with the total of the filter. */
  async list(
    executor: Db,
    filter: { status?: ReviewStatus; productId?: string },
    page: { offset: number; limit: number },
  ): Promise<{ rows: ReviewRow[]; total: number }> {
    let query = byStatus(tables(executor).selectFrom('reviews'), filter.status);
    if (filter.productId) query = query.where('product_id', '=', filter.productId);
    return pageOf(query, (filtered) => filtered.select(columns), page);
  },

  /** The newest `limit` visible reviews of each product, in one query (batched GraphQL field loads). */
  async latestByProducts(executor: Db, productIds: readonly string[], limit: number): Promise<ReviewRow[]> {
    if (productIds.length === 0) return [];
    const result = await sql<ReviewRow>`select id, "productId", "userId", rating, title, body, "createdAt",
        "verifiedPurchase", "hiddenAt", "hiddenReason"
      from (select id, product_id as "productId", user_id as "userId", rating, title, body,
              created_at as "createdAt", verified_purchase as "verifiedPurchase", hidden_at as "hiddenAt",
              hidden_reason as "hiddenReason",
              row_number() over (partition by product_id order by created_at desc, id desc) as position
            from reviews where product_id in (${sql.join(productIds)}) and hidden_at is null) ranked
      where position <= ${limit}
      order by "productId", position`.execute(executor);
    return result.rows;
  },

  /**
   * Hides a visible review in one conditional update (of two moderators at once, one hides it);
   * undefined when it was hidden already or does not exist.
   */
  hide(executor: Db, id: string, by: string, reason: string): Promise<ReviewRow | undefined> {
    return tables(executor)
      .updateTable('reviews')
      .set({ hidden_at: sql<Date>`now()`, hidden_by: by, hidden_reason: reason })
      .where('id', '=', id)
      .where('hidden_at', 'is', null)
      .returning(columns)
      .executeTakeFirst();
  },

  /** Shows a hidden review again; undefined when it was visible already or does not exist. */
  show(executor: Db, id: string): Promise<ReviewRow | undefined> {
    return tables(executor)
      .updateTable('reviews')
      .set({ hidden_at: null, hidden_by: null, hidden_reason: null })
      .where('id', '=', id)
      .where('hidden_at', 'is not', null)
      .returning(columns)
      .executeTakeFirst();
  },
};
