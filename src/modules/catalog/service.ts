import { sql } from 'kysely';
import type { Static } from 'typebox';
import { Value } from 'typebox/value';
import type { Cache } from '../../platform/cache/index.ts';
import { runDetached } from '../../platform/context.ts';
import { type Db, jsonValue, transact } from '../../platform/db/index.ts';
import { badRequest, conflict, DomainError, notFound } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { applyMergePatch } from '../../platform/merge-patch.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import type { InventoryService } from '../inventory/index.ts';
import { CSV_COLUMNS, csvLine, exportLines, type ImportError, parseImport } from './csv.ts';
import { preconditionFailed, preconditionRequired, productArchived, unknownCategories } from './errors.ts';
import { decodeCursor, encodeCursor, type ListQuery, listSignature, parseSort } from './listing.ts';
import { createReadModel, type Rendered } from './read-model.ts';
import { entityTags, listTemplate, productTemplate } from './render.ts';
import {
  type CollectionInputSchema,
  type CollectionSchema,
  ProductInput,
  type ProductInputT,
} from './schemas.ts';
import {
  type CollectionMembership,
  type CollectionRow,
  type FacetKind,
  type Money,
  type NewVariant,
  type ProductFilter,
  type ProductRow,
  catalogStore as store,
} from './store.ts';

export interface CatalogDeps {
  db: Db;
  /** Shared cache of rendered products and list pages (in-process LRU, or Redis). */
  cache: Cache;
  inventory: Pick<InventoryService, 'createItems' | 'renameSku' | 'availability' | 'onStockChange'>;
  metrics: Metrics;
  logger: Logger;
  storeCurrency: string;
  /** The shop's languages; the first is its own. */
  locales: readonly string[];
  /** Pricing owns the tax classes: a variant may only name one that exists (400 TAX_CLASS_UNKNOWN). */
  taxClasses: { assertKnown(codes: readonly string[], executor: Db): Promise<void> };
}

/** One change staff make to many products at once (`POST /v1/products/bulk`). */
export type BulkChange =
  | { kind: 'archive' }
  | { kind: 'restore' }
  /** Every price of every variant up or down by this percentage, to the minor unit. */
  | { kind: 'reprice'; percent: number }
  /** Every variant's price in this currency. */
  | { kind: 'price'; amount: Money };

export interface CheckoutVariant {
  variantId: string;
  sku: string;
  productId: string;
  productName: string;
  price: Money;
  /** Prices in other currencies than the store's. */
  prices: Money[];
  archived: boolean;
  /** The product's categories and every category above them. */
  categorySlugs: string[];
  /** The collections it is in, by hand or by their rules. */
  collectionSlugs: string[];
  taxClass: string;
}

export type CollectionInput = Static<typeof CollectionInputSchema>;
export type Collection = Static<typeof CollectionSchema>;

const collectionJson = (row: CollectionRow): Collection => ({
  slug: row.slug,
  name: row.name,
  description: row.description,
  ...(row.rules ? { rules: row.rules } : { productIds: row.productIds }),
});

export interface ImportReport {
  created: number;
  updated: number;
  errors: ImportError[];
}

export interface ImportJob {
  id: string;
  status: 'running' | 'done' | 'failed';
  dryRun: boolean;
  /** Products handled of the file's products (0 of 0 until the file is read). */
  progress: { done: number; total: number };
  report?: ImportReport;
  error?: string;
}

/** A running job not updated for this long was interrupted (progress is written every 2 %). */
const JOB_STALE_MS = 10 * 60_000;

/** Products read per statement while exporting. */
const EXPORT_PAGE = 500;

export interface Category {
  slug: string;
  name: string;
  parentSlug?: string;
}

/** A URL-safe slug from a name: "Crème Brûlée 2" → "creme-brulee-2". */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return slug || 'product';
}

/** A unique violation on a SKU (a concurrent writer won the race) is a conflict, not a failure. */
async function mapSkuConflicts<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const { code, constraint } = error as { code?: string; constraint?: string };
    if (code === '23505' && constraint?.includes('sku')) {
      throw conflict('SKU_TAKEN', 'A SKU of this product is already in use', { cause: error });
    }
    throw error;
  }
}

/** A variant of an input as the store writes it, defaults filled in. */
const variantFields = (variant: ProductInputT['variants'][number], position: number) => ({
  sku: variant.sku,
  priceAmount: variant.price.amount,
  currency: variant.price.currency,
  prices: variant.prices ?? [],
  attributes: variant.attributes ?? {},
  options: variant.options ?? {},
  taxClass: variant.taxClass ?? 'standard',
  position,
});

/** The tax classes a product's variants name besides the standard one. */
const taxClassesOf = (input: ProductInputT) =>
  input.variants.flatMap((variant) =>
    variant.taxClass && variant.taxClass !== 'standard' ? [variant.taxClass] : [],
  );

export function createCatalogService(deps: CatalogDeps) {
  const { db, inventory } = deps;
  const reads = createReadModel({
    cache: deps.cache,
    inventory,
    metrics: deps.metrics,
    logger: deps.logger,
    locales: deps.locales,
  });
  /** undefined for the shop's own language (the untranslated text), else the locale. */
  const translated = (locale: string | undefined) => (locale === deps.locales[0] ? undefined : locale);

  async function resolveCategories(executor: Db, slugs: string[]): Promise<string[]> {
    const found = await store.categoriesBySlugs(executor, slugs);
    if (found.length !== slugs.length) {
      const known = new Set(found.map((category) => category.slug));
      throw unknownCategories(slugs.filter((slug) => !known.has(slug)));
    }
    return found.map((category) => category.id);
  }

  /**
   * Options are the product's axes (Size, Colour): every variant names exactly one listed value of
   * each, and no two variants the same combination, so a shopper's choice finds one variant.
   */
  function checkOptions(input: ProductInputT): void {
    const options = input.options ?? [];
    const names = options.map((option) => option.name);
    const folded = names.map((name) => name.toLowerCase());
    const twice = folded.find((name, index) => folded.indexOf(name) !== index);
    if (twice !== undefined)
      throw badRequest('INVALID_OPTIONS', `The option ${names[folded.indexOf(twice)]} is listed twice`);
    const combinations = new Map<string, string>();
    input.variants.forEach((variant, index) => {
      const chosen = variant.options ?? {};
      const path = `/variants/${index}/options`;
      for (const key of Object.keys(chosen)) {
        if (!names.includes(key))
          throw badRequest(
            'INVALID_OPTIONS',
            `Variant ${variant.sku} names ${key}, which is not an option of the product`,
            {
              errors: [{ path: `${path}/${key}`, message: 'is not an option of the product' }],
            },
          );
      }
      for (const option of options) {
        const value = chosen[option.name];
        if (value === undefined)
          throw badRequest('INVALID_OPTIONS', `Variant ${variant.sku} needs a ${option.name}`, {
            errors: [{ path, message: `must name a ${option.name}` }],
          });
        if (!option.values.includes(value))
          throw badRequest(
            'INVALID_OPTIONS',
            `Variant ${variant.sku}: ${value} is not one of the ${option.name} values (${option.values.join(', ')})`,
            {
              errors: [
                { path: `${path}/${option.name}`, message: `must be one of ${option.values.join(', ')}` },
              ],
            },
          );
      }
      const combination = JSON.stringify(names.map((name) => chosen[name]));
      const other = combinations.get(combination);
      if (options.length > 0 && other !== undefined)
        throw badRequest(
          'INVALID_OPTIONS',
          `Variants ${other} and ${variant.sku} are both ${names.map((name) => chosen[name]).join(' / ')}`,
          { errors: [{ path, message: 'is the same combination as another variant' }] },
        );
      combinations.set(combination, variant.sku);
    });
  }

  function checkVariants(variants: ProductInputT['variants']): void {
    const skus = new Set<string>();
    variants.forEach((variant, index) => {
      if (variant.price.currency !== deps.storeCurrency) {
        throw badRequest('CURRENCY_NOT_SUPPORTED', `Variant prices are in ${deps.storeCurrency}`, {
          errors: [{ path: `/variants/${index}/price/currency`, message: `must be ${deps.storeCurrency}` }],
        });
      }
      const currencies = new Set<string>();
      (variant.prices ?? []).forEach((price, priceIndex) => {
        const path = `/variants/${index}/prices/${priceIndex}/currency`;
        if (price.currency === deps.storeCurrency) {
          throw badRequest(
            'CURRENCY_NOT_SUPPORTED',
            `The ${deps.storeCurrency} price is the variant's price`,
            {
              errors: [{ path, message: `must not be the store currency ${deps.storeCurrency}` }],
            },
          );
        }
        if (currencies.has(price.currency)) {
          throw badRequest('DUPLICATE_CURRENCY', `Variant ${variant.sku} has two ${price.currency} prices`, {
            errors: [{ path, message: 'is priced twice' }],
          });
        }
        currencies.add(price.currency);
      });
      if (skus.has(variant.sku)) {
        throw badRequest('DUPLICATE_SKU', `SKU ${variant.sku} appears twice`, {
          errors: [{ path: `/variants/${index}/sku`, message: 'is used by another variant in the body' }],
        });
      }
      skus.add(variant.sku);
    });
  }

  async function ensureSkusFree(executor: Db, skus: string[], productId?: string): Promise<void> {
    const taken = await store.takenSkus(executor, skus, productId);
    if (taken.length > 0) throw conflict('SKU_TAKEN', `SKUs already in use: ${taken.join(', ')}`);
  }

  /** Inserts under the first free slug of the name; a concurrent taker of that slug makes it retry. */
  async function insertWithUniqueSlug(
    tx: Db,
    product: Omit<Parameters<typeof store.insertProduct>[1], 'slug'>,
  ): Promise<void> {
    const base = slugify(product.name);
    for (let attempt = 0; attempt < 5; attempt++) {
      const taken = new Set(await store.slugsLike(tx, base));
      let slug = base;
      for (let suffix = 2; taken.has(slug); suffix++) slug = `${base}-${suffix}`;
      if (await store.insertProduct(tx, { ...product, slug })) return;
    }
    throw conflict('SLUG_TAKEN', `Could not find a free slug for "${product.name}"; try again`);
  }

  function checkPrecondition(row: ProductRow, ifMatch: string | undefined): void {
    if (ifMatch === undefined) return;
    const hash = productTemplate(row).hash;
    const matches = entityTags(ifMatch).some(
      (tag) => tag === '*' || tag === `"${hash}"` || tag.startsWith(`"${hash}.`),
    );
    if (!matches) throw preconditionFailed();
  }

  async function lockLive(tx: Db, id: string): Promise<ProductRow> {
    const row = await store.productById(tx, id, true);
    if (!row) throw notFound(`Product ${id}`);
    if (row.archivedAt) throw productArchived();
    return row;
  }

  /** Inserts a new product with its variants, categories and stock (under `slug`, or one made from its name). */
  async function insertNew(tx: Db, id: string, input: ProductInputT, slug?: string): Promise<void> {
    checkVariants(input.variants);
    checkOptions(input);
    const categoryIds = await resolveCategories(tx, input.categorySlugs ?? []);
    await deps.taxClasses.assertKnown(taxClassesOf(input), tx);
    await ensureSkusFree(
      tx,
      input.variants.map((variant) => variant.sku),
    );
    const product = {
      id,
      name: input.name,
      description: input.description ?? '',
      priceAmount: Math.min(...input.variants.map((variant) => variant.price.amount)),
      options: input.options ?? [],
      at: new Date(),
    };
    if (slug === undefined) await insertWithUniqueSlug(tx, product);
    else if (!(await store.insertProduct(tx, { ...product, slug })))
      throw conflict('SLUG_TAKEN', `Another product has the slug ${slug}`);
    const variants = input.variants.map((variant, position) => ({
      ...variantFields(variant, position),
      id: uuidv7(),
      stock: variant.stock ?? 0,
    }));
    await store.insertVariants(tx, id, variants);
    await store.replaceVariantPrices(tx, variants);
    await store.setCategories(tx, id, categoryIds);
    await inventory.createItems(
      tx,
      variants.map((variant) => ({ variantId: variant.id, sku: variant.sku, onHand: variant.stock })),
    );
  }

  /** Makes the product exactly `input`: fields, categories and variants (matched by id, then SKU). */
  async function applyInput(tx: Db, row: ProductRow, input: ProductInputT): Promise<void> {
    checkVariants(input.variants);
    checkOptions(input);
    const categoryIds = await resolveCategories(tx, input.categorySlugs ?? []);
    await deps.taxClasses.assertKnown(taxClassesOf(input), tx);
    await ensureSkusFree(
      tx,
      input.variants.map((variant) => variant.sku),
      row.id,
    );
    const existing = await store.variantsOf(tx, row.id);
    const byId = new Map(existing.map((variant) => [variant.id, variant]));
    const bySku = new Map(existing.map((variant) => [variant.sku, variant]));
    const kept = new Set<string>();
    const created: Array<NewVariant & { stock: number; prices: Money[] }> = [];
    const updated: Array<NewVariant & { previousSku: string; prices: Money[] }> = [];
    input.variants.forEach((variant, position) => {
      const match = variant.id ? byId.get(variant.id) : bySku.get(variant.sku);
      if (variant.id && !match) {
        throw badRequest('UNKNOWN_VARIANT', `Variant ${variant.id} is not part of this product`);
      }
      const fields = variantFields(variant, position);
      if (!match) {
        created.push({ ...fields, id: uuidv7(), stock: variant.stock ?? 0 });
        return;
      }
      if (kept.has(match.id)) throw badRequest('DUPLICATE_VARIANT', `Variant ${match.id} appears twice`);
      kept.add(match.id);
      updated.push({ ...fields, id: match.id, previousSku: match.sku });
    });
    const at = new Date();
    const dropped = existing.filter((variant) => !kept.has(variant.id) && !variant.archivedAt);
    await store.archiveVariants(
      tx,
      dropped.map((variant) => variant.id),
      at,
    );
    for (const variant of updated) {
      if (variant.sku !== variant.previousSku) await inventory.renameSku(tx, variant.id, variant.sku);
      await store.updateVariant(tx, variant);
    }
    await store.insertVariants(tx, row.id, created);
    await store.replaceVariantPrices(tx, [...updated, ...created]);
    await inventory.createItems(
      tx,
      created.map((variant) => ({ variantId: variant.id, sku: variant.sku, onHand: variant.stock })),
    );
    await store.setCategories(tx, row.id, categoryIds);
    await store.updateProduct(tx, row.id, {
      name: input.name,
      description: input.description ?? '',
      priceAmount: Math.min(...input.variants.map((variant) => variant.price.amount)),
      options: input.options ?? [],
      at,
    });
  }

  function assertTranslatable(locale: string): void {
    const [own, ...others] = deps.locales;
    if (locale === own)
      throw badRequest('LOCALE_IS_DEFAULT', `${own} is the shop's own language: change the product itself`);
    if (!others.includes(locale))
      throw badRequest(
        'LOCALE_UNSUPPORTED',
        others.length > 0
          ? `The shop is translated into ${others.join(', ')} only (STORE_LOCALES)`
          : 'The shop has one language (STORE_LOCALES names more)',
      );
  }

  /** What `?collection=` selects: 400 for a slug no collection has. */
  async function membershipOf(slug: string): Promise<CollectionMembership> {
    const [found] = await store.collections(db, slug);
    if (!found)
      throw badRequest(
        'COLLECTION_UNKNOWN',
        `There is no collection ${slug}: GET /v1/collections lists them`,
      );
    return { id: found.id, ...(found.rules ? { rules: found.rules } : {}) };
  }

  /** The product as a PUT body, for merge patches to apply to. */
  function asInput(row: ProductRow): ProductInputT {
    return {
      name: row.name,
      description: row.description,
      categorySlugs: row.categories,
      options: row.options,
      variants: row.variants.map((variant) => ({
        id: variant.id,
        sku: variant.sku,
        price: { amount: variant.amount, currency: variant.currency },
        prices: variant.prices,
        attributes: variant.attributes as Record<string, string | number | boolean>,
        options: variant.options,
        taxClass: variant.taxClass,
      })),
    };
  }

  /** The product with a bulk price change applied to its variants. */
  function repriced(
    input: ProductInputT,
    change: Extract<BulkChange, { kind: 'reprice' | 'price' }>,
  ): ProductInputT {
    const variants = input.variants.map((variant) => {
      const prices = variant.prices ?? [];
      if (change.kind === 'reprice') {
        const scale = (price: Money) => ({
          ...price,
          amount: Math.max(0, Math.round((price.amount * (100 + change.percent)) / 100)),
        });
        return { ...variant, price: scale(variant.price), prices: prices.map(scale) };
      }
      const price = change.amount;
      if (variant.price.currency === price.currency) return { ...variant, price: { ...price } };
      // A price in another currency replaces the variant's price in it, or joins its others.
      const others = prices.filter((each) => each.currency !== price.currency);
      return { ...variant, prices: [...others, { ...price }] };
    });
    return { ...input, variants };
  }

  const service = {
    async list(query: ListQuery): Promise<Rendered> {
      const q = query.q?.trim() ? query.q.trim() : undefined;
      const filter: ProductFilter = {
        q,
        category: query.category,
        collection: query.collection,
        option: query.option,
        minPrice: query.minPrice,
        maxPrice: query.maxPrice,
        archived: query.archived,
      };
      if (
        filter.minPrice !== undefined &&
        filter.maxPrice !== undefined &&
        filter.minPrice > filter.maxPrice
      ) {
        throw badRequest('INVALID_PRICE_RANGE', 'minPrice must not be above maxPrice');
      }
      const sort = parseSort(query.sort, q !== undefined);
      const facetKinds = new Set((query.facets ?? '').split(',').filter(Boolean) as FacetKind[]);
      const language = translated(query.locale);
      const signature = listSignature(
        filter,
        sort,
        query.size,
        `${[...facetKinds].sort().join(',')}|${language ?? ''}`,
      );
      const position = query.cursor === undefined ? `page:${query.page}` : `cursor:${query.cursor}`;
      return reads.list(`${signature}:${position}`, async () => {
        if (filter.collection !== undefined) filter.membership = await membershipOf(filter.collection);
        let page = query.page;
        let offset = (page - 1) * query.size;
        let after: unknown[] | undefined;
        if (query.cursor !== undefined) {
          ({ page, after } = decodeCursor(query.cursor, signature, sort));
          offset = 0;
        }
        const [rows, total, facets] = await Promise.all([
          store.listProducts(db, filter, sort, { after, offset, limit: query.size + 1 }, language),
          store.countProducts(db, filter),
          facetKinds.size > 0 ? store.facets(db, filter, facetKinds) : undefined,
        ]);
        const items = rows.slice(0, query.size);
        const nextCursor =
          rows.length > query.size ? encodeCursor(signature, page + 1, sort, items[items.length - 1]) : null;
        return listTemplate(items, {
          page,
          size: query.size,
          total,
          nextCursor,
          ...(facets ? { facets } : {}),
        });
      });
    },

    /** The product in `locale` (one of the shop's; its own language without one). */
    async get(id: string, locale?: string): Promise<Rendered> {
      const language = translated(locale);
      return reads.product(id, language, async () => {
        const row = await store.productById(db, id, false, language);
        if (!row) throw notFound(`Product ${id}`);
        return productTemplate(row);
      });
    },

    async create(input: ProductInputT): Promise<string> {
      const id = uuidv7();
      await mapSkuConflicts(() =>
        transact(db, async (tx) => {
          await insertNew(tx, id, input);
        }),
      );
      await reads.evictProduct(id);
      return id;
    },

    async replace(id: string, input: ProductInputT, ifMatch: string | undefined): Promise<void> {
      if (ifMatch === undefined) throw preconditionRequired();
      await mapSkuConflicts(() =>
        transact(db, async (tx) => {
          const row = await lockLive(tx, id);
          checkPrecondition(row, ifMatch);
          await applyInput(tx, row, input);
        }),
      );
      await reads.evictProduct(id);
    },

    async patch(id: string, patch: Record<string, unknown>, ifMatch: string | undefined): Promise<void> {
      if (ifMatch === undefined) throw preconditionRequired();
      await mapSkuConflicts(() =>
        transact(db, async (tx) => {
          const row = await lockLive(tx, id);
          checkPrecondition(row, ifMatch);
          const merged = applyMergePatch(asInput(row), patch);
          if (!Value.Check(ProductInput, merged)) {
            const errors = [...Value.Errors(ProductInput, merged)].map((issue) => ({
              path: issue.instancePath || '/',
              message: issue.message,
            }));
            throw badRequest('VALIDATION_FAILED', 'The patched product is not valid', { errors });
          }
          await applyInput(tx, row, merged as ProductInputT);
        }),
      );
      await reads.evictProduct(id);
    },

    /** Archives: hidden from listings, still readable by id (past orders show it). Idempotent. */
    async archive(id: string, ifMatch: string | undefined): Promise<void> {
      await transact(db, async (tx) => {
        const row = await store.productById(tx, id, true);
        if (!row) throw notFound(`Product ${id}`);
        if (row.archivedAt) return;
        checkPrecondition(row, ifMatch);
        await store.setArchivedAt(tx, id, new Date());
      });
      await reads.evictProduct(id);
    },

    /** Brings an archived product back to the shelf, as it was. Idempotent. */
    async restore(id: string, ifMatch: string | undefined): Promise<void> {
      await transact(db, async (tx) => {
        const row = await store.productById(tx, id, true);
        if (!row) throw notFound(`Product ${id}`);
        if (!row.archivedAt) return;
        checkPrecondition(row, ifMatch);
        await store.setArchivedAt(tx, id, null);
      });
      await reads.evictProduct(id);
    },

    /**
     * One change to many products at once, all or none (one transaction): archive, restore, a
     * percentage on every price, or one price for every variant in a currency. Products already
     * as asked are left as they are; an unknown one refuses the whole change.
     */
    async bulk(productIds: readonly string[], change: BulkChange): Promise<{ changed: number }> {
      const ids = [...new Set(productIds)];
      const changed = await mapSkuConflicts(() =>
        transact(db, async (tx) => {
          let count = 0;
          for (const id of ids) {
            const row = await store.productById(tx, id, true);
            if (!row) throw notFound(`Product ${id}`);
            if (change.kind === 'archive' || change.kind === 'restore') {
              if (Boolean(row.archivedAt) === (change.kind === 'archive')) continue;
              await store.setArchivedAt(tx, id, change.kind === 'archive' ? new Date() : null);
            } else {
              if (row.archivedAt) throw productArchived();
              await applyInput(tx, row, repriced(asInput(row), change));
            }
            count += 1;
          }
          return count;
        }),
      );
      await Promise.all(ids.map((id) => reads.evictProduct(id)));
      return { changed };
    },

    /** Whether a live (not archived) product exists. */
    async isLive(id: string, executor: Db = db): Promise<boolean> {
      return (await store.productState(executor, id))?.archived === false;
    },

    async exists(id: string): Promise<boolean> {
      return (await store.productState(db, id)) !== undefined;
    },

    /**
     * Adds one rating to a live product's average, inside the caller's transaction (the review's).
     * Returns false when there is no live product. Call `evict` after the transaction commits.
     */
    applyRating: (tx: Db, productId: string, rating: number): Promise<boolean> =>
      store.applyRating(tx, productId, rating),

    /** Takes a rating back out of a product's average, inside the caller's transaction; `evict` after. */
    withdrawRating: (tx: Db, productId: string, rating: number): Promise<void> =>
      store.withdrawRating(tx, productId, rating),

    /** The ids of every variant the product has had (a purchase of any of them is of the product). */
    variantIdsOf: async (productId: string): Promise<string[]> =>
      (await store.variantsOf(db, productId)).map((variant) => variant.id),

    /** Drops cached renderings of a product and every list page, after a change made elsewhere. */
    evict: (productId: string): Promise<void> => reads.evictProduct(productId),

    /** Drops every cached list page (products were added in bulk). */
    evictLists: reads.evictLists,

    /** Prices and names as they are now, for carts and checkout; archived variants are flagged. */
    async variantsForCheckout(variantIds: readonly string[], executor: Db = db): Promise<CheckoutVariant[]> {
      const rows = await store.variantsForCheckout(executor, [...new Set(variantIds)]);
      return rows.map((row) => ({
        variantId: row.variantId,
        sku: row.sku,
        productId: row.productId,
        productName: row.productName,
        price: { amount: row.amount, currency: row.currency },
        prices: jsonValue(row.prices),
        archived: Boolean(row.archived),
        categorySlugs: row.categorySlugs,
        collectionSlugs: row.collectionSlugs,
        taxClass: row.taxClass,
      }));
    },

    /** A category's or a collection's name (and a collection's description) in one of the shop's other languages. */
    async saveTextTranslation(
      kind: 'category' | 'collection',
      slug: string,
      locale: string,
      text: { name: string; description?: string },
    ) {
      assertTranslatable(locale);
      const translation = { locale, name: text.name, description: text.description ?? '' };
      if (!(await store.saveTextTranslation(db, kind, slug, translation)))
        throw notFound(`${kind === 'category' ? 'Category' : 'Collection'} ${slug}`);
      return kind === 'category' ? { locale, name: text.name } : translation;
    },

    async categories(locale?: string): Promise<{ items: Category[] }> {
      const rows = await store.listCategories(db, translated(locale));
      return {
        items: rows.map((row) =>
          row.parentSlug
            ? { slug: row.slug, name: row.name, parentSlug: row.parentSlug }
            : { slug: row.slug, name: row.name },
        ),
      };
    },

    async category(slug: string, locale?: string): Promise<Category> {
      const found = (await this.categories(locale)).items.find((category) => category.slug === slug);
      if (!found) throw notFound(`Category ${slug}`);
      return found;
    },

    /** Every live product as CSV, one row per variant, read a page at a time so memory stays flat. */
    async *exportCsv(): AsyncGenerator<string> {
      yield csvLine(CSV_COLUMNS);
      let after: string | undefined;
      for (;;) {
        const rows = await store.productsAfter(db, after, EXPORT_PAGE);
        if (rows.length === 0) return;
        const available = await inventory.availability(
          rows.flatMap((row) => row.variants.map((variant) => variant.id)),
        );
        yield rows.map((row) => exportLines(row, available)).join('');
        after = rows[rows.length - 1].id;
      }
    },

    /**
     * Creates and replaces products from a CSV file (the export's columns; a product is matched by
     * its slug). Every row is checked first and the writes share one transaction: a file with any
     * mistake, or a dry run, writes nothing.
     */
    async importCsv(
      text: string,
      dryRun: boolean,
      onProgress: (done: number, total: number) => void = () => {},
    ): Promise<ImportReport> {
      const { products, errors } = parseImport(text, deps.storeCurrency);
      if (errors.length > 0) return { created: 0, updated: 0, errors };
      onProgress(0, products.length);
      const report: ImportReport = { created: 0, updated: 0, errors: [] };
      const touched: string[] = [];
      const rollback = new Error('import rolled back');
      await mapSkuConflicts(() =>
        transact(db, async (tx) => {
          // The tables grow inside this one transaction: a plan cached while they were small
          // (a scan of a near-empty table) would be reused for every product, each slower than
          // the last. Planning each statement anew sees their size as it is.
          await sql`set local plan_cache_mode = force_custom_plan`.execute(tx);
          for (const product of products) {
            try {
              // Both paths check the variants and options first, as a create or a replace does.
              const existing = await store.productIdBySlug(tx, product.slug);
              if (existing) {
                await applyInput(tx, await lockLive(tx, existing), product.input);
                report.updated++;
                touched.push(existing);
              } else {
                const id = uuidv7();
                await insertNew(tx, id, product.input, product.slug);
                report.created++;
                touched.push(id);
              }
            } catch (error) {
              if (!(error instanceof DomainError)) throw error;
              report.errors.push({
                row: product.rows[0],
                message: `${product.input.name}: ${error.message}`,
              });
            }
            onProgress(report.created + report.updated + report.errors.length, products.length);
          }
          if (report.errors.length > 0 || dryRun) throw rollback;
        }),
      ).catch((error) => {
        if (error !== rollback) throw error;
      });
      if (report.errors.length > 0) return { created: 0, updated: 0, errors: report.errors };
      if (!dryRun) await reads.evictProducts(touched);
      return report;
    },

    /**
     * Runs an import in the background and answers its job at once; `job(id)` follows it. Progress
     * is written outside the import's transaction (after it, on PGlite's one connection).
     */
    async startImport(text: string, dryRun: boolean, createdBy?: string): Promise<ImportJob> {
      const id = uuidv7();
      await store.insertImportJob(db, { id, dryRun, ...(createdBy ? { createdBy } : {}) });
      let written = 0;
      // The last count, written again with the end: a progress write still in flight on another
      // connection may land after the job is done, and is then ignored.
      const latest = { done: 0, total: 0 };
      const progress = (done: number, total: number) => {
        latest.done = done;
        latest.total = total;
        // At most one write per 2 % of the file, so progress costs little beside the import.
        if (done !== total && done - written < Math.max(1, total / 50)) return;
        written = done;
        runDetached(() => {
          store.updateImportJob(db, id, { done, total }).catch((error) => {
            deps.logger.warn({ err: error, jobId: id }, 'import progress not recorded');
          });
        });
      };
      runDetached(() => {
        service
          .importCsv(text, dryRun, progress)
          .then((report) => store.updateImportJob(db, id, { status: 'done', report, ...latest }))
          .catch(async (error) => {
            deps.logger.error({ err: error, jobId: id }, 'import failed');
            const reason =
              error instanceof DomainError
                ? error.message
                : 'The import stopped on an error on our side; nothing was written';
            await store.updateImportJob(db, id, { status: 'failed', error: reason });
          })
          .catch((error) =>
            deps.logger.error({ err: error, jobId: id }, 'import job not finished in the database'),
          );
      });
      return { id, status: 'running', dryRun, progress: { done: 0, total: 0 } };
    },

    async job(id: string): Promise<ImportJob> {
      const row = await store.importJob(db, id);
      if (!row) throw notFound(`Job ${id}`);
      // A job whose process ended mid-way is never updated again; its transaction rolled back.
      const stale = row.status === 'running' && Date.now() - new Date(row.updatedAt).getTime() > JOB_STALE_MS;
      const report = jsonValue(row.report);
      return {
        id: row.id,
        status: stale ? 'failed' : row.status,
        dryRun: row.dryRun,
        progress: { done: row.done, total: row.total },
        ...(report ? { report } : {}),
        ...(stale ? { error: 'The import was interrupted; nothing was written. Start it again.' } : {}),
        ...(row.error ? { error: row.error } : {}),
      };
    },

    /** Every translation of the product (staff edit them; shoppers read them by Accept-Language). */
    async translations(productId: string) {
      if (!(await store.productState(db, productId))) throw notFound(`Product ${productId}`);
      return { items: await store.translations(db, productId) };
    },

    async saveTranslation(productId: string, locale: string, text: { name: string; description?: string }) {
      assertTranslatable(locale);
      if (!(await store.productState(db, productId))) throw notFound(`Product ${productId}`);
      const translation = { locale, name: text.name, description: text.description ?? '' };
      await store.saveTranslation(db, { productId, ...translation });
      await reads.evictProduct(productId);
      return translation;
    },

    async deleteTranslation(productId: string, locale: string): Promise<void> {
      assertTranslatable(locale);
      if (!(await store.deleteTranslation(db, productId, locale)))
        throw notFound(`The ${locale} translation of product ${productId}`);
      await reads.evictProduct(productId);
    },

    async collections(locale?: string): Promise<{ items: Collection[] }> {
      return { items: (await store.collections(db, undefined, translated(locale))).map(collectionJson) };
    },

    async collection(slug: string, locale?: string): Promise<Collection> {
      const [found] = await store.collections(db, slug, translated(locale));
      if (!found) throw notFound(`Collection ${slug}`);
      return collectionJson(found);
    },

    /** Creates (`insert`) or replaces a collection; its products and rules are checked first. */
    async saveCollection(input: CollectionInput, mode: 'insert' | 'replace'): Promise<Collection> {
      const productIds = input.productIds ?? [];
      if (input.rules && productIds.length > 0)
        throw badRequest(
          'INVALID_COLLECTION',
          'A collection lists its products or has rules that pick them, not both',
        );
      const rules = input.rules;
      if (rules?.minPrice !== undefined && rules.maxPrice !== undefined && rules.minPrice > rules.maxPrice)
        throw badRequest('INVALID_PRICE_RANGE', 'The lowest price must not be above the highest');
      const saved = await transact(db, async (tx) => {
        if (
          rules?.category !== undefined &&
          (await store.categoriesBySlugs(tx, [rules.category])).length === 0
        )
          throw unknownCategories([rules.category]);
        const known = new Set(await store.existingProductIds(tx, productIds));
        const missing = productIds.filter((id) => !known.has(id));
        if (missing.length > 0)
          throw badRequest('UNKNOWN_PRODUCT', `There is no product ${missing.join(', ')}`);
        const collection = {
          id: uuidv7(),
          slug: input.slug,
          name: input.name,
          description: input.description ?? '',
          ...(rules && Object.keys(rules).length > 0 ? { rules } : {}),
          productIds,
        };
        const id = await store.saveCollection(tx, collection, mode);
        if (!id && mode === 'insert')
          throw conflict('COLLECTION_EXISTS', `There is already a collection ${input.slug}`);
        if (!id) throw notFound(`Collection ${input.slug}`);
        return collection;
      });
      await reads.evictLists();
      return collectionJson(saved);
    },

    async deleteCollection(slug: string): Promise<void> {
      if (!(await store.deleteCollection(db, slug))) throw notFound(`Collection ${slug}`);
      await reads.evictLists();
    },

    async createCategory(input: Category): Promise<Category> {
      let parentId: string | null = null;
      if (input.parentSlug !== undefined) {
        const [parent] = await store.categoriesBySlugs(db, [input.parentSlug]);
        if (!parent) throw unknownCategories([input.parentSlug]);
        parentId = parent.id;
      }
      const created = await store.insertCategory(db, {
        id: uuidv7(),
        slug: input.slug,
        name: input.name,
        parentId,
      });
      if (!created) throw conflict('CATEGORY_EXISTS', `A category with slug ${input.slug} exists`);
      await reads.evictLists();
      return input;
    },
  };
  return service;
}

export type CatalogService = ReturnType<typeof createCatalogService>;
