import { sql } from 'kysely';
import type { Db } from '../../platform/db/index.ts';

type ReviewTables = {
  reviews: {
    id: string;
    product_id: string;
    user_id: string;
    rating: number;
    title: string | null;
    body: string;
    created_at: Date;
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
}

const tables = (executor: Db) => executor.withTables<ReviewTables>();

/** All SQL of the reviews module. */
export const reviewStore = {
  /** Inserts the review unless this user already reviewed the product (returns false then). */
  async insert(executor: Db, review: ReviewRow): Promise<boolean> {
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
      })
      .onConflict((conflict) => conflict.columns(['product_id', 'user_id']).doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted !== undefined;
  },

  listByProduct(executor: Db, productId: string, offset: number, limit: number): Promise<ReviewRow[]> {
    return tables(executor)
      .selectFrom('reviews')
      .select([
        'id',
        'product_id as productId',
        'user_id as userId',
        'rating',
        'title',
        'body',
        'created_at as createdAt',
      ])
      .where('product_id', '=', productId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .offset(offset)
      .limit(limit)
      .execute();
  },

  /** The newest `limit` reviews of each product, in one query (batched GraphQL field loads). */
  async latestByProducts(executor: Db, productIds: readonly string[], limit: number): Promise<ReviewRow[]> {
    if (productIds.length === 0) return [];
    const result = await sql<ReviewRow>`select id, "productId", "userId", rating, title, body, "createdAt"
      from (select id, product_id as "productId", user_id as "userId", rating, title, body,
              created_at as "createdAt",
              row_number() over (partition by product_id order by created_at desc, id desc) as position
            from reviews where product_id in (${sql.join(productIds)})) ranked
      where position <= ${limit}
      order by "productId", position`.execute(executor);
    return result.rows;
  },

  async countByProduct(executor: Db, productId: string): Promise<number> {
    const result = await sql<{ total: number }>`select count(*)::int as total from reviews
      where product_id = ${productId}`.execute(executor);
    return result.rows[0].total;
  },
};
