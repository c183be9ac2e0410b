import { type Db, transact } from '../../platform/db/index.ts';
import { conflict, notFound } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { CatalogModule } from '../catalog/index.ts';
import { purchaseRequired } from './errors.ts';
import { type ReviewRow, type ReviewStatus, reviewStore as store } from './store.ts';

export interface Review {
  id: string;
  productId: string;
  userId: string;
  rating: number;
  title?: string;
  body: string;
  /** Written by someone who bought the product (every review since buyers alone may write one). */
  verifiedPurchase: boolean;
  /** Staff hid it: it is in no listing and not in the product's rating (staff views only). */
  hidden?: { at: string; reason: string };
  createdAt: string;
}

export interface PurchaseChecker {
  /** Whether the user has a paid order (confirmed or shipped) with any of these variants. */
  hasBought(userId: string, variantIds: readonly string[]): Promise<boolean>;
}

const toReview = (row: ReviewRow): Review => ({
  id: row.id,
  productId: row.productId,
  userId: row.userId,
  rating: row.rating,
  ...(row.title === null ? {} : { title: row.title }),
  body: row.body,
  verifiedPurchase: row.verifiedPurchase,
  ...(row.hiddenAt ? { hidden: { at: row.hiddenAt.toISOString(), reason: row.hiddenReason ?? '' } } : {}),
  createdAt: row.createdAt.toISOString(),
});

export function createReviewService(deps: {
  db: Db;
  catalog: Pick<CatalogModule, 'applyRating' | 'withdrawRating' | 'evict' | 'exists' | 'variantIdsOf'>;
  orders: PurchaseChecker;
}) {
  const { db, catalog, orders } = deps;

  async function find(id: string): Promise<ReviewRow> {
    const row = await store.byId(db, id);
    if (!row) throw notFound('Review');
    return row;
  }

  return {
    /**
     * Adds the user's review and the product's new rating in one transaction: the rating update
     * also locks the product row and refuses an archived or absent product; a second review by the
     * same user rolls both back. Only someone who bought the product may review it.
     */
    async create(
      productId: string,
      userId: string,
      input: { rating: number; title?: string; body: string },
    ): Promise<Review> {
      if (!(await catalog.exists(productId))) throw notFound(`Product ${productId}`);
      if (!(await orders.hasBought(userId, await catalog.variantIdsOf(productId)))) {
        throw purchaseRequired();
      }
      const row = {
        id: uuidv7(),
        productId,
        userId,
        rating: input.rating,
        title: input.title ?? null,
        body: input.body,
        createdAt: new Date(),
        verifiedPurchase: true,
      };
      await transact(db, async (tx) => {
        if (!(await catalog.applyRating(tx, productId, input.rating))) throw notFound(`Product ${productId}`);
        if (!(await store.insert(tx, row))) {
          throw conflict('REVIEW_EXISTS', 'You have already reviewed this product');
        }
      });
      await catalog.evict(productId);
      return toReview({ ...row, hiddenAt: null, hiddenReason: null });
    },

    /** A visible review; staff see hidden ones too. */
    async get(id: string, staff: boolean): Promise<Review> {
      const row = await find(id);
      if (row.hiddenAt && !staff) throw notFound('Review');
      return toReview(row);
    },

    async list(productId: string, page: number, size: number) {
      if (!(await catalog.exists(productId))) throw notFound(`Product ${productId}`);
      const { rows, total } = await store.listByProduct(db, productId, {
        offset: (page - 1) * size,
        limit: size,
      });
      return { items: rows.map(toReview), page, size, total };
    },

    /** Staff: every review newest first, to moderate. */
    async moderationList(query: { page: number; size: number; status?: ReviewStatus; productId?: string }) {
      const { rows, total } = await store.list(
        db,
        { status: query.status, productId: query.productId },
        { offset: (query.page - 1) * query.size, limit: query.size },
      );
      return { items: rows.map(toReview), page: query.page, size: query.size, total };
    },

    /** Staff hide a review: out of every listing and out of the product's rating, in one transaction. */
    async hide(id: string, by: string, reason: string): Promise<Review> {
      const hidden = await transact(db, async (tx) => {
        const row = await store.hide(tx, id, by, reason);
        if (row) await catalog.withdrawRating(tx, row.productId, row.rating);
        return row;
      });
      if (!hidden) {
        await find(id);
        throw conflict('REVIEW_HIDDEN', 'This review is hidden already');
      }
      await catalog.evict(hidden.productId);
      return toReview(hidden);
    },

    /** Staff show a hidden review again, and its rating counts again. */
    async show(id: string): Promise<Review> {
      const shown = await transact(db, async (tx) => {
        const row = await store.show(tx, id);
        if (row) await catalog.applyRating(tx, row.productId, row.rating);
        return row;
      });
      if (!shown) {
        await find(id);
        throw conflict('REVIEW_VISIBLE', 'This review is not hidden');
      }
      await catalog.evict(shown.productId);
      return toReview(shown);
    },

    /** The newest `first` visible reviews of each product, keyed by product id; one query for any number. */
    /** Every review the user wrote, hidden ones too, newest first. */
    async byUser(userId: string): Promise<Review[]> {
      return (await store.byUser(db, userId)).map(toReview);
    },

    async latestByProducts(productIds: readonly string[], first: number): Promise<Map<string, Review[]>> {
      const rows = await store.latestByProducts(db, [...new Set(productIds)], first);
      const byProduct = new Map<string, Review[]>(productIds.map((id) => [id, []]));
      for (const row of rows) byProduct.get(row.productId)?.push(toReview(row));
      return byProduct;
    },
  };
}

export type ReviewService = ReturnType<typeof createReviewService>;
