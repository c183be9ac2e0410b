import { type Generated, type GeneratedAlways, type Kysely, type RawBuilder, sql } from 'kysely';
import { type Db, jsonValue } from '../../platform/db/index.ts';

type CatalogTables = {
  catalog_categories: {
    id: string;
    slug: string;
    name: string;
    parent_id: string | null;
    created_at: Generated<Date>;
  };
  catalog_products: {
    id: string;
    slug: string;
    name: string;
    description: string;
    price_amount: number;
    rating_count: Generated<number>;
    rating_sum: Generated<number>;
    rating_average: GeneratedAlways<string>;
    search: GeneratedAlways<string>;
    options: Generated<string>;
    version: Generated<number>;
    created_at: Date;
    updated_at: Date;
    archived_at: Date | null;
  };
  catalog_variants: {
    id: string;
    product_id: string;
    sku: string;
    price_amount: number;
    currency: string;
    attributes: string;
    tax_class: string;
    options: Generated<string>;
    position: number;
    archived_at: Date | null;
  };
  catalog_product_categories: { product_id: string; category_id: string };
  catalog_variant_prices: { variant_id: string; currency: string; amount: number };
  catalog_collections: {
    id: string;
    slug: string;
    name: string;
    description: string;
    rule_category: string | null;
    rule_min_price: number | null;
    rule_max_price: number | null;
    created_at: Generated<Date>;
  };
  catalog_product_translations: {
    product_id: string;
    locale: string;
    name: string;
    description: string;
    updated_at: Generated<Date>;
  };
  catalog_import_jobs: {
    id: string;
    status: 'running' | 'done' | 'failed';
    dry_run: boolean;
    done: Generated<number>;
    total: Generated<number>;
    report: string | null;
    error: string | null;
    created_by: string | null;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  catalog_collection_products: { collection_id: string; product_id: string; position: number };
  catalog_product_images: {
    id: string;
    product_id: string;
    content_type: string;
    width: number;
    height: number;
    bytes: number;
    alt: string;
    position: number;
    created_at: Generated<Date>;
  };
};

export interface Money {
  amount: number;
  currency: string;
}

export type SortKey = 'price' | 'name' | 'createdAt' | 'rating' | 'relevance';
export interface SortTerm {
  key: SortKey;
  desc: boolean;
}

/** What puts a product in a collection: its list, or its rules. */
export interface CollectionMembership {
  id: string;
  rules?: CollectionRules;
}

export interface CollectionRules {
  category?: string;
  minPrice?: number;
  maxPrice?: number;
}

export interface CollectionRow {
  id: string;
  slug: string;
  name: string;
  description: string;
  rules?: CollectionRules;
  /** The manual list, in order; empty for a collection of rules. */
  productIds: string[];
}

export type FacetKind = 'category' | 'price' | 'option';
export interface Facets {
  category?: Array<{ value: string; count: number }>;
  price?: Array<{ min: number; max: number | null; count: number }>;
  option?: Array<{ name: string; value: string; count: number }>;
}
/** Price bands of the facet, in minor units of the store currency: [min, max) with the last open. */
export const PRICE_BANDS: ReadonlyArray<readonly [number, number | null]> = [
  [0, 2500],
  [2500, 5000],
  [5000, 10_000],
  [10_000, 20_000],
  [20_000, 50_000],
  [50_000, null],
];

export interface ProductFilter {
  q?: string;
  category?: string;
  /** A variant option's value the product must have a live variant with: `{name: 'Size', value: 'M'}`. */
  option?: { name: string; value: string };
  /** The collection's slug; `membership` is what it resolved to. */
  collection?: string;
  membership?: CollectionMembership;
  minPrice?: number;
  maxPrice?: number;
  /** Staff's view of what was archived, instead of the live shelf. */
  archived?: boolean;
}

/** An image as a product read shows it; `url` is where its renditions are served. */
export interface ProductImage {
  id: string;
  url: string;
  width: number;
  height: number;
  alt: string;
}

export interface ImageRow {
  id: string;
  productId: string;
  contentType: string;
  width: number;
  height: number;
  bytes: number;
  alt: string;
  position: number;
}

export interface VariantRow {
  id: string;
  sku: string;
  amount: number;
  currency: string;
  /** Prices in other currencies than the store's, by currency code. */
  prices: Money[];
  attributes: Record<string, unknown>;
  /** Its value of each of the product's options. */
  options: Record<string, string>;
  taxClass: string;
}

/** An option of a product (Size) and the values its variants choose from (S, M, L), in order. */
export interface ProductOption {
  name: string;
  values: string[];
}

export interface ProductRow {
  id: string;
  name: string;
  slug: string;
  description: string;
  priceAmount: number;
  ratingAverage: number;
  ratingCount: number;
  createdAt: Date;
  updatedAt: Date;
  archivedAt: Date | null;
  version: number;
  categories: string[];
  options: ProductOption[];
  /** In display order: the first is the main image. */
  images: ProductImage[];
  variants: VariantRow[];
  /** Full-text rank; present only when the query searched. */
  rank?: number;
}

export interface NewProduct {
  id: string;
  slug: string;
  name: string;
  description: string;
  priceAmount: number;
  options: ProductOption[];
  at: Date;
}

export interface NewVariant {
  id: string;
  sku: string;
  priceAmount: number;
  currency: string;
  attributes: Record<string, unknown>;
  options: Record<string, string>;
  taxClass: string;
  position: number;
}

export interface CheckoutVariantRow {
  variantId: string;
  sku: string;
  productId: string;
  productName: string;
  amount: number;
  currency: string;
  prices: Money[] | string;
  archived: boolean | number;
  categorySlugs: string[];
  collectionSlugs: string[];
  taxClass: string;
}

/** The product's categories and every category above them: what a promotion's target is matched against. */
const productCategorySlugs = sql<string[]>`array(with recursive up (id, slug, parent_id) as (
    select c.id, c.slug, c.parent_id from catalog_product_categories pc
      join catalog_categories c on c.id = pc.category_id where pc.product_id = p.id
  union
    select c.id, c.slug, c.parent_id from catalog_categories c join up on c.id = up.parent_id)
  select slug from up order by slug)`;

/**
 * The collections the product is in: listed by hand, or matched by every rule a collection has
 * (its category among the product's categories and those above them, its price range).
 */
const productCollectionSlugs = sql<string[]>`array(select c.slug from catalog_collections c where
    exists (select 1 from catalog_collection_products cp where cp.collection_id = c.id and cp.product_id = p.id)
    or ((c.rule_category is not null or c.rule_min_price is not null or c.rule_max_price is not null)
      and (c.rule_min_price is null or p.price_amount >= c.rule_min_price)
      and (c.rule_max_price is null or p.price_amount <= c.rule_max_price)
      and (c.rule_category is null or c.rule_category = any(${productCategorySlugs})))
  order by c.slug)`;

const tsQuery = (q: string) => sql`websearch_to_tsquery('english', ${q})`;
/**
 * The query is similar to a word sequence of the name (pg_trgm's `<%`, word similarity at least
 * 0.6): "jackt" and "jack" both find "Waterproof jacket".
 */
const nameResembles = (q: string) => sql`lower(${q}) <% lower(p.name)`;

/** A variant's other-currency prices as a JSON array, ordered by currency. */
const variantPrices = sql<Money[] | string>`coalesce((select json_agg(json_build_object('amount', vp.amount,
  'currency', vp.currency) order by vp.currency) from catalog_variant_prices vp where vp.variant_id = v.id), '[]')`;

/** The product's name and description in `locale` where translated; the shop's own without one. */
function localisedText(locale: string | undefined) {
  if (locale === undefined) return sql`p.name, p.description`;
  const translated = (column: string) =>
    sql`coalesce((select t.${sql.ref(column)} from catalog_product_translations t
      where t.product_id = p.id and t.locale = ${locale}), p.${sql.ref(column)}) as ${sql.ref(column)}`;
  return sql`${translated('name')}, ${translated('description')}`;
}

/** The one projection of a product: its categories and live variants come in the same statement. */
const productColumns = (
  locale?: string,
) => sql`p.id, ${localisedText(locale)}, p.slug, p.price_amount as "priceAmount",
  p.rating_average::float8 as "ratingAverage", p.rating_count as "ratingCount",
  p.created_at as "createdAt", p.updated_at as "updatedAt", p.archived_at as "archivedAt", p.version, p.options,
  coalesce((select json_agg(c.slug order by c.slug) from catalog_product_categories pc
    join catalog_categories c on c.id = pc.category_id where pc.product_id = p.id), '[]') as categories,
  coalesce((select json_agg(json_build_object('id', i.id, 'url', '/v1/images/' || i.id, 'width', i.width,
    'height', i.height, 'alt', i.alt) order by i.position, i.id)
    from catalog_product_images i where i.product_id = p.id), '[]') as images,
  coalesce((select json_agg(json_build_object('id', v.id, 'sku', v.sku, 'amount', v.price_amount,
    'currency', v.currency, 'prices', ${variantPrices}, 'attributes', v.attributes, 'options', v.options, 'taxClass', v.tax_class) order by v.position)
    from catalog_variants v where v.product_id = p.id and v.archived_at is null), '[]') as variants`;

function sortExpression(key: SortKey | 'id', q: string | undefined): RawBuilder<unknown> {
  switch (key) {
    case 'price':
      return sql`p.price_amount`;
    case 'name':
      return sql`p.name`;
    case 'createdAt':
      return sql`p.created_at`;
    case 'rating':
      return sql`p.rating_average`;
    case 'relevance':
      // The full-text score, and how closely a whole word of the name resembles the query:
      // "jackt" is nearer "jacket" than "jackfruit", which `<%` lets through as well.
      return sql`(ts_rank(p.search, ${tsQuery(q ?? '')}) + strict_word_similarity(lower(${q ?? ''}), lower(p.name)))::real`;
    case 'id':
      return sql`p.id`;
  }
}

function cursorValue(key: SortKey | 'id', value: unknown): RawBuilder<unknown> {
  switch (key) {
    case 'price':
      return sql`${value}::bigint`;
    case 'name':
      return sql`${value}::text collate "C"`;
    case 'createdAt':
      return sql`${value}::timestamptz`;
    case 'rating':
      return sql`${value}::numeric`;
    case 'relevance':
      return sql`${value}::real`;
    case 'id':
      return sql`${value}::uuid`;
  }
}

/** A price range and a category (with every category below it): a shopper's filters and a collection's rules. */
function ruleConditions(rules: CollectionRules): RawBuilder<unknown>[] {
  const conditions: RawBuilder<unknown>[] = [];
  if (rules.minPrice !== undefined) conditions.push(sql`p.price_amount >= ${rules.minPrice}`);
  if (rules.maxPrice !== undefined) conditions.push(sql`p.price_amount <= ${rules.maxPrice}`);
  if (rules.category !== undefined) {
    conditions.push(sql`p.id in (select pc.product_id from catalog_product_categories pc where pc.category_id in (
      with recursive tree as (
        select id from catalog_categories where slug = ${rules.category}
        union all
        select c.id from catalog_categories c join tree on c.parent_id = tree.id
      ) select id from tree))`);
  }
  return conditions;
}

function filterConditions(filter: ProductFilter): RawBuilder<unknown>[] {
  const conditions = [filter.archived ? sql`p.archived_at is not null` : sql`p.archived_at is null`];
  // Words match name and description, a name also with typos; a query that is a SKU (in any case)
  // finds its product. The SKU lookup is an uncorrelated sub-select: the planner ORs the indexes.
  if (filter.q !== undefined)
    conditions.push(sql`(p.search @@ ${tsQuery(filter.q)} or ${nameResembles(filter.q)} or p.id = any(array(
      select v.product_id from catalog_variants v
      where lower(v.sku) = lower(${filter.q}) and v.archived_at is null)))`);
  conditions.push(...ruleConditions(filter));
  if (filter.option)
    conditions.push(sql`p.id in (select v.product_id from catalog_variants v
      where v.options ->> ${filter.option.name} = ${filter.option.value} and v.archived_at is null)`);
  if (filter.membership?.rules) conditions.push(...ruleConditions(filter.membership.rules));
  else if (filter.membership)
    conditions.push(sql`p.id in (select cp.product_id from catalog_collection_products cp
      where cp.collection_id = ${filter.membership.id})`);
  return conditions;
}

/**
 * Rows after the cursor in the given order. With every key in one direction this is a row
 * comparison the B-tree can seek to; mixed directions expand to (a > x) or (a = x and b < y) ….
 */
function afterCursor(terms: Array<{ key: SortKey | 'id'; desc: boolean }>, values: unknown[], q?: string) {
  const expressions = terms.map((term) => sortExpression(term.key, q));
  const params = terms.map((term, index) => cursorValue(term.key, values[index]));
  if (terms.every((term) => term.desc === terms[0].desc)) {
    const operator = terms[0].desc ? sql`<` : sql`>`;
    return sql`(${sql.join(expressions)}) ${operator} (${sql.join(params)})`;
  }
  const alternatives = terms.map((term, index) => {
    const equal = terms.slice(0, index).map((_, before) => sql`${expressions[before]} = ${params[before]}`);
    const beyond = sql`${expressions[index]} ${term.desc ? sql`<` : sql`>`} ${params[index]}`;
    return sql`(${sql.join([...equal, beyond], sql` and `)})`;
  });
  return sql`(${sql.join(alternatives, sql` or `)})`;
}

function parseRow(row: ProductRow): ProductRow {
  // PGlite may return json columns as text; node-postgres parses them.
  if (typeof row.categories === 'string') row.categories = JSON.parse(row.categories);
  if (typeof row.variants === 'string') row.variants = JSON.parse(row.variants);
  if (typeof row.images === 'string') row.images = JSON.parse(row.images);
  if (typeof row.options === 'string') row.options = JSON.parse(row.options);
  return row;
}

/** All SQL of the catalog module. Every function takes the executor: a pool or a transaction. */
export const catalogStore = {
  tables: (executor: Db): Kysely<CatalogTables> => executor.withTables<CatalogTables>(),

  async listProducts(
    executor: Db,
    filter: ProductFilter,
    sort: SortTerm[],
    page: { after?: unknown[]; offset: number; limit: number },
    locale?: string,
  ): Promise<ProductRow[]> {
    const terms = [...sort, { key: 'id' as const, desc: sort[sort.length - 1].desc }];
    const conditions = filterConditions(filter);
    if (page.after) conditions.push(afterCursor(terms, page.after, filter.q));
    const order = terms.map(
      (term) => sql`${sortExpression(term.key, filter.q)} ${sql.raw(term.desc ? 'desc' : 'asc')}`,
    );
    const rank =
      filter.q === undefined ? sql`` : sql`, ${sortExpression('relevance', filter.q)}::float8 as rank`;
    const result = await sql<ProductRow>`select ${productColumns(locale)}${rank}
      from catalog_products p where ${sql.join(conditions, sql` and `)}
      order by ${sql.join(order)} limit ${page.limit} offset ${page.offset}`.execute(executor);
    return result.rows.map(parseRow);
  },

  /**
   * Counts of the matching products per category, price band and option value, in one statement
   * over the same conditions as the list (the page and sort aside). The matches are looked up as
   * an array of ids, so the planner walks the product indexes instead of hashing whole tables.
   */
  async facets(executor: Db, filter: ProductFilter, kinds: ReadonlySet<FacetKind>): Promise<Facets> {
    const bands = PRICE_BANDS.map(([min, max]) => sql`(${min}::bigint, ${max}::bigint)`);
    const parts: RawBuilder<unknown>[] = [];
    if (kinds.has('category'))
      parts.push(sql`select 'category' as kind, c.slug as name, null::text as value, null::bigint as min,
          null::bigint as max, count(*)::int as count
        from catalog_product_categories pc join catalog_categories c on c.id = pc.category_id
        where pc.product_id = any(array(select id from matched)) group by c.slug`);
    if (kinds.has('price'))
      parts.push(sql`select 'price', null, null, b.min, b.max, count(m.id)::int
        from (values ${sql.join(bands)}) as b (min, max)
        join matched m on m.price_amount >= b.min and (b.max is null or m.price_amount < b.max)
        group by b.min, b.max`);
    if (kinds.has('option'))
      parts.push(sql`select 'option', o.key, o.value, null, null, count(distinct v.product_id)::int
        from catalog_variants v cross join lateral jsonb_each_text(v.options) as o (key, value)
        where v.product_id = any(array(select id from matched)) and v.archived_at is null
        group by o.key, o.value`);
    const result = await sql<{
      kind: FacetKind;
      name: string | null;
      value: string | null;
      min: string | number | null;
      max: string | number | null;
      count: number;
    }>`with matched as (select p.id, p.price_amount from catalog_products p
        where ${sql.join(filterConditions(filter), sql` and `)})
      ${sql.join(parts, sql` union all `)}`.execute(executor);
    const facets: Facets = {};
    const byCount = <T extends { count: number }>(a: T, b: T) => b.count - a.count;
    for (const kind of kinds) {
      const rows = result.rows.filter((row) => row.kind === kind);
      if (kind === 'category')
        facets.category = rows.map((row) => ({ value: row.name!, count: row.count })).sort(byCount);
      if (kind === 'price')
        facets.price = rows
          .map((row) => ({
            min: Number(row.min),
            max: row.max === null ? null : Number(row.max),
            count: row.count,
          }))
          .sort((a, b) => a.min - b.min);
      if (kind === 'option')
        facets.option = rows
          .map((row) => ({ name: row.name!, value: row.value!, count: row.count }))
          .sort((a, b) => a.name.localeCompare(b.name) || byCount(a, b) || a.value.localeCompare(b.value));
    }
    return facets;
  },

  async countProducts(executor: Db, filter: ProductFilter): Promise<number> {
    const result = await sql<{ total: number }>`select count(*)::int as total from catalog_products p
      where ${sql.join(filterConditions(filter), sql` and `)}`.execute(executor);
    return result.rows[0].total;
  },

  async productById(
    executor: Db,
    id: string,
    forUpdate = false,
    locale?: string,
  ): Promise<ProductRow | undefined> {
    const lock = forUpdate ? sql` for update of p` : sql``;
    const result = await sql<ProductRow>`select ${productColumns(locale)} from catalog_products p
      where p.id = ${id}${lock}`.execute(executor);
    return result.rows[0] && parseRow(result.rows[0]);
  },

  /** Live products after `afterId` in id order, a page at a time (the export walks them all). */
  async productsAfter(executor: Db, afterId: string | undefined, limit: number): Promise<ProductRow[]> {
    const after = afterId === undefined ? sql`` : sql` and p.id > ${afterId}`;
    const result = await sql<ProductRow>`select ${productColumns()} from catalog_products p
      where p.archived_at is null${after} order by p.id limit ${limit}`.execute(executor);
    return result.rows.map(parseRow);
  },

  async productIdBySlug(executor: Db, slug: string): Promise<string | undefined> {
    const row = await catalogStore
      .tables(executor)
      .selectFrom('catalog_products')
      .select('id')
      .where('slug', '=', slug)
      .executeTakeFirst();
    return row?.id;
  },

  async productState(executor: Db, id: string): Promise<{ archived: boolean } | undefined> {
    const row = await catalogStore
      .tables(executor)
      .selectFrom('catalog_products')
      .select((eb) => eb('archived_at', 'is not', null).as('archived'))
      .where('id', '=', id)
      .executeTakeFirst();
    return row && { archived: Boolean(row.archived) };
  },

  async isEmpty(executor: Db): Promise<boolean> {
    const row = await catalogStore
      .tables(executor)
      .selectFrom('catalog_products')
      .select('id')
      .limit(1)
      .execute();
    return row.length === 0;
  },

  /** Inserts the product under `slug`, or does nothing when the slug is taken (returns false). */
  async insertProduct(executor: Db, product: NewProduct): Promise<boolean> {
    const inserted = await catalogStore
      .tables(executor)
      .insertInto('catalog_products')
      .values({
        id: product.id,
        slug: product.slug,
        name: product.name,
        description: product.description,
        price_amount: product.priceAmount,
        options: JSON.stringify(product.options),
        created_at: product.at,
        updated_at: product.at,
      })
      .onConflict((conflict) => conflict.column('slug').doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted !== undefined;
  },

  async slugsLike(executor: Db, base: string): Promise<string[]> {
    const rows = await catalogStore
      .tables(executor)
      .selectFrom('catalog_products')
      .select('slug')
      .where((eb) => eb.or([eb('slug', '=', base), eb('slug', 'like', `${base}-%`)]))
      .execute();
    return rows.map((row) => row.slug);
  },

  async updateProduct(
    executor: Db,
    id: string,
    fields: { name: string; description: string; priceAmount: number; options: ProductOption[]; at: Date },
  ): Promise<void> {
    await catalogStore
      .tables(executor)
      .updateTable('catalog_products')
      .set((eb) => ({
        name: fields.name,
        description: fields.description,
        price_amount: fields.priceAmount,
        options: JSON.stringify(fields.options),
        updated_at: fields.at,
        version: eb('version', '+', 1),
      }))
      .where('id', '=', id)
      .execute();
  },

  /** Archives the product (`archivedAt` a time) or restores it (null); either is a new version. */
  async setArchivedAt(executor: Db, id: string, archivedAt: Date | null): Promise<void> {
    const now = new Date();
    await catalogStore
      .tables(executor)
      .updateTable('catalog_products')
      .set((eb) => ({ archived_at: archivedAt, updated_at: now, version: eb('version', '+', 1) }))
      .where('id', '=', id)
      .execute();
  },

  async applyRating(executor: Db, productId: string, rating: number): Promise<boolean> {
    const result = await catalogStore
      .tables(executor)
      .updateTable('catalog_products')
      .set((eb) => ({ rating_sum: eb('rating_sum', '+', rating), rating_count: eb('rating_count', '+', 1) }))
      .where('id', '=', productId)
      .where('archived_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  /** Takes one rating back out of a product's average (its review was hidden), archived or not. */
  async withdrawRating(executor: Db, productId: string, rating: number): Promise<void> {
    await catalogStore
      .tables(executor)
      .updateTable('catalog_products')
      .set((eb) => ({ rating_sum: eb('rating_sum', '-', rating), rating_count: eb('rating_count', '-', 1) }))
      .where('id', '=', productId)
      .where('rating_count', '>', 0)
      .execute();
  },

  /** Every variant of a product, archived ones too (a replacement may bring one back). */
  variantsOf(executor: Db, productId: string) {
    return catalogStore
      .tables(executor)
      .selectFrom('catalog_variants')
      .select(['id', 'sku', 'archived_at as archivedAt'])
      .where('product_id', '=', productId)
      .execute();
  },

  async takenSkus(executor: Db, skus: string[], exceptProductId?: string): Promise<string[]> {
    if (skus.length === 0) return [];
    let query = catalogStore
      .tables(executor)
      .selectFrom('catalog_variants')
      .select('sku')
      .where('sku', 'in', skus);
    if (exceptProductId) query = query.where('product_id', '<>', exceptProductId);
    return (await query.execute()).map((row) => row.sku);
  },

  async insertVariants(executor: Db, productId: string, variants: NewVariant[]): Promise<void> {
    if (variants.length === 0) return;
    await catalogStore
      .tables(executor)
      .insertInto('catalog_variants')
      .values(
        variants.map((variant) => ({
          id: variant.id,
          product_id: productId,
          sku: variant.sku,
          price_amount: variant.priceAmount,
          currency: variant.currency,
          attributes: JSON.stringify(variant.attributes),
          options: JSON.stringify(variant.options),
          tax_class: variant.taxClass,
          position: variant.position,
        })),
      )
      .execute();
  },

  async updateVariant(executor: Db, variant: NewVariant): Promise<void> {
    await catalogStore
      .tables(executor)
      .updateTable('catalog_variants')
      .set({
        sku: variant.sku,
        price_amount: variant.priceAmount,
        currency: variant.currency,
        attributes: JSON.stringify(variant.attributes),
        options: JSON.stringify(variant.options),
        tax_class: variant.taxClass,
        position: variant.position,
        archived_at: null,
      })
      .where('id', '=', variant.id)
      .execute();
  },

  /** Makes these variants' other-currency prices exactly the given ones. */
  async replaceVariantPrices(
    executor: Db,
    variants: ReadonlyArray<{ id: string; prices: readonly Money[] }>,
  ): Promise<void> {
    if (variants.length === 0) return;
    const tables = catalogStore.tables(executor);
    await tables
      .deleteFrom('catalog_variant_prices')
      .where(
        'variant_id',
        'in',
        variants.map((variant) => variant.id),
      )
      .execute();
    const rows = variants.flatMap((variant) =>
      variant.prices.map((price) => ({
        variant_id: variant.id,
        currency: price.currency,
        amount: price.amount,
      })),
    );
    if (rows.length > 0) await tables.insertInto('catalog_variant_prices').values(rows).execute();
  },

  async archiveVariants(executor: Db, ids: string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await catalogStore
      .tables(executor)
      .updateTable('catalog_variants')
      .set({ archived_at: at })
      .where('id', 'in', ids)
      .execute();
  },

  async setCategories(executor: Db, productId: string, categoryIds: string[]): Promise<void> {
    const tables = catalogStore.tables(executor);
    await tables.deleteFrom('catalog_product_categories').where('product_id', '=', productId).execute();
    if (categoryIds.length === 0) return;
    await tables
      .insertInto('catalog_product_categories')
      .values(categoryIds.map((categoryId) => ({ product_id: productId, category_id: categoryId })))
      .execute();
  },

  categoriesBySlugs(executor: Db, slugs: string[]) {
    if (slugs.length === 0) return Promise.resolve([]);
    return catalogStore
      .tables(executor)
      .selectFrom('catalog_categories')
      .select(['id', 'slug'])
      .where('slug', 'in', slugs)
      .execute();
  },

  /** Every category with its parent's slug; names in `locale` where translated. */
  async listCategories(executor: Db, locale?: string) {
    const name =
      locale === undefined
        ? sql`c.name`
        : sql`coalesce((select t.name from catalog_category_translations t
            where t.category_id = c.id and t.locale = ${locale}), c.name)`;
    const result = await sql<{ slug: string; name: string; parentSlug: string | null }>`select c.slug,
        ${name} as name, parent.slug as "parentSlug"
      from catalog_categories c left join catalog_categories parent on parent.id = c.parent_id
      order by c.slug`.execute(executor);
    return result.rows;
  },

  /** A category's or a collection's text in `locale`; false when no such slug exists. */
  async saveTextTranslation(
    executor: Db,
    kind: 'category' | 'collection',
    slug: string,
    text: { locale: string; name: string; description: string },
  ): Promise<boolean> {
    const result =
      kind === 'category'
        ? await sql`insert into catalog_category_translations (category_id, locale, name)
            select id, ${text.locale}, ${text.name} from catalog_categories where slug = ${slug}
            on conflict (category_id, locale) do update set name = excluded.name returning locale`.execute(
            executor,
          )
        : await sql`insert into catalog_collection_translations (collection_id, locale, name, description)
            select id, ${text.locale}, ${text.name}, ${text.description} from catalog_collections where slug = ${slug}
            on conflict (collection_id, locale) do update set name = excluded.name,
              description = excluded.description returning locale`.execute(executor);
    return result.rows.length > 0;
  },

  async insertCategory(
    executor: Db,
    category: { id: string; slug: string; name: string; parentId: string | null },
  ): Promise<boolean> {
    const inserted = await catalogStore
      .tables(executor)
      .insertInto('catalog_categories')
      .values({ id: category.id, slug: category.slug, name: category.name, parent_id: category.parentId })
      .onConflict((conflict) => conflict.column('slug').doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted !== undefined;
  },

  async variantsForCheckout(executor: Db, variantIds: readonly string[]): Promise<CheckoutVariantRow[]> {
    if (variantIds.length === 0) return [];
    return catalogStore
      .tables(executor)
      .selectFrom('catalog_variants as v')
      .innerJoin('catalog_products as p', 'p.id', 'v.product_id')
      .select((eb) => [
        'v.id as variantId',
        'v.sku',
        'p.id as productId',
        'p.name as productName',
        'v.price_amount as amount',
        'v.currency',
        variantPrices.as('prices'),
        eb.or([eb('v.archived_at', 'is not', null), eb('p.archived_at', 'is not', null)]).as('archived'),
        productCategorySlugs.as('categorySlugs'),
        productCollectionSlugs.as('collectionSlugs'),
        'v.tax_class as taxClass',
      ])
      .where('v.id', 'in', [...variantIds])
      .execute();
  },

  /** Demo products already loaded: their SKUs start with the demo prefix. */
  async countDemoProducts(executor: Db, skuPrefix: string): Promise<number> {
    const result = await sql<{ total: number }>`select count(distinct product_id)::int as total
      from catalog_variants where sku like ${`${skuPrefix}%`}`.execute(executor);
    return result.rows[0].total;
  },

  /** Bulk load for the demo catalog: one statement per table over parallel arrays (unnest). */
  async bulkInsert(
    executor: Db,
    rows: {
      categories: Array<{ id: string; slug: string; name: string; parentId: string | null }>;
      products: NewProduct[];
      variants: Array<NewVariant & { productId: string }>;
      variantPrices: Array<Money & { variantId: string }>;
      links: Array<{ productId: string; categoryId: string }>;
    },
  ): Promise<void> {
    const { categories, products, variants, variantPrices, links } = rows;
    if (categories.length > 0) {
      await sql`insert into catalog_categories (id, slug, name, parent_id)
        select * from unnest(${categories.map((c) => c.id)}::uuid[], ${categories.map((c) => c.slug)}::text[],
          ${categories.map((c) => c.name)}::text[], ${categories.map((c) => c.parentId)}::uuid[])
        on conflict (slug) do nothing`.execute(executor);
    }
    if (products.length > 0) {
      await sql`insert into catalog_products (id, slug, name, description, price_amount, options, created_at, updated_at)
        select id, slug, name, description, price, options, at, at from unnest(${products.map((p) => p.id)}::uuid[],
          ${products.map((p) => p.slug)}::text[], ${products.map((p) => p.name)}::text[],
          ${products.map((p) => p.description)}::text[], ${products.map((p) => p.priceAmount)}::bigint[],
          ${products.map((p) => JSON.stringify(p.options))}::jsonb[],
          ${products.map((p) => p.at.toISOString())}::timestamptz[]) as t(id, slug, name, description, price, options, at)`.execute(
        executor,
      );
    }
    if (variants.length > 0) {
      await sql`insert into catalog_variants (id, product_id, sku, price_amount, currency, attributes, options, tax_class, position)
        select * from unnest(${variants.map((v) => v.id)}::uuid[], ${variants.map((v) => v.productId)}::uuid[],
          ${variants.map((v) => v.sku)}::text[], ${variants.map((v) => v.priceAmount)}::bigint[],
          ${variants.map((v) => v.currency)}::text[], ${variants.map((v) => JSON.stringify(v.attributes))}::jsonb[],
          ${variants.map((v) => JSON.stringify(v.options))}::jsonb[],
          ${variants.map((v) => v.taxClass)}::text[], ${variants.map((v) => v.position)}::int[])`.execute(
        executor,
      );
    }
    if (variantPrices.length > 0) {
      await sql`insert into catalog_variant_prices (variant_id, currency, amount)
        select * from unnest(${variantPrices.map((p) => p.variantId)}::uuid[],
          ${variantPrices.map((p) => p.currency)}::text[], ${variantPrices.map((p) => p.amount)}::bigint[])`.execute(
        executor,
      );
    }
    if (links.length > 0) {
      await sql`insert into catalog_product_categories (product_id, category_id)
        select * from unnest(${links.map((l) => l.productId)}::uuid[], ${links.map((l) => l.categoryId)}::uuid[])`.execute(
        executor,
      );
    }
  },

  /** Adds an image after the product's others; returns its position. */
  async insertImage(executor: Db, image: Omit<ImageRow, 'position'>): Promise<number> {
    const result = await sql<{ position: number }>`insert into catalog_product_images
        (id, product_id, content_type, width, height, bytes, alt, position)
      values (${image.id}, ${image.productId}, ${image.contentType}, ${image.width}, ${image.height},
        ${image.bytes}, ${image.alt}, (select coalesce(max(position) + 1, 0) from catalog_product_images
          where product_id = ${image.productId}))
      returning position`.execute(executor);
    return result.rows[0].position;
  },

  async imageById(executor: Db, id: string): Promise<ImageRow | undefined> {
    return catalogStore
      .tables(executor)
      .selectFrom('catalog_product_images')
      .select([
        'id',
        'product_id as productId',
        'content_type as contentType',
        'width',
        'height',
        'bytes',
        'alt',
        'position',
      ])
      .where('id', '=', id)
      .executeTakeFirst();
  },

  /** The product's image ids in display order, locked: reordering and removal are serialised per product. */
  async lockImageOrder(executor: Db, productId: string): Promise<string[]> {
    const result = await sql<{ id: string }>`select id from catalog_product_images
      where product_id = ${productId} order by position, id for update`.execute(executor);
    return result.rows.map((row) => row.id);
  },

  /** Numbers the product's images 0, 1, 2… in the order given. */
  async setImageOrder(executor: Db, productId: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await sql`update catalog_product_images i set position = o.position - 1
      from unnest(${ids}::uuid[]) with ordinality as o (id, position)
      where i.id = o.id and i.product_id = ${productId}`.execute(executor);
  },

  async setImageAlt(executor: Db, id: string, alt: string): Promise<void> {
    await catalogStore
      .tables(executor)
      .updateTable('catalog_product_images')
      .set({ alt })
      .where('id', '=', id)
      .execute();
  },

  async deleteImage(executor: Db, id: string): Promise<void> {
    await catalogStore.tables(executor).deleteFrom('catalog_product_images').where('id', '=', id).execute();
  },

  /** Collections with their manual lists, by slug; all of them without `slug`. */
  async collections(executor: Db, slug?: string, locale?: string): Promise<CollectionRow[]> {
    const where = slug === undefined ? sql`` : sql`where c.slug = ${slug}`;
    const text =
      locale === undefined
        ? sql`c.name, c.description`
        : sql`coalesce(t.name, c.name) as name, coalesce(t.description, c.description) as description`;
    const translation =
      locale === undefined
        ? sql``
        : sql`left join catalog_collection_translations t on t.collection_id = c.id and t.locale = ${locale}`;
    const result = await sql<{
      id: string;
      slug: string;
      name: string;
      description: string;
      category: string | null;
      minPrice: string | number | null;
      maxPrice: string | number | null;
      productIds: string[] | string;
    }>`select c.id, c.slug, ${text}, c.rule_category as category,
        c.rule_min_price as "minPrice", c.rule_max_price as "maxPrice",
        coalesce((select json_agg(cp.product_id order by cp.position) from catalog_collection_products cp
          where cp.collection_id = c.id), '[]') as "productIds"
      from catalog_collections c ${translation} ${where} order by c.slug`.execute(executor);
    return result.rows.map((row) => {
      const rules: CollectionRules = {
        ...(row.category !== null ? { category: row.category } : {}),
        ...(row.minPrice !== null ? { minPrice: Number(row.minPrice) } : {}),
        ...(row.maxPrice !== null ? { maxPrice: Number(row.maxPrice) } : {}),
      };
      return {
        id: row.id,
        slug: row.slug,
        name: row.name,
        description: row.description,
        ...(Object.keys(rules).length > 0 ? { rules } : {}),
        productIds: jsonValue(row.productIds),
      };
    });
  },

  /** Inserts or replaces the collection under its slug (its manual list with it); returns its id. */
  async saveCollection(
    executor: Db,
    collection: Omit<CollectionRow, 'id'> & { id: string },
    mode: 'insert' | 'replace',
  ): Promise<string | undefined> {
    const rules = collection.rules ?? {};
    const values = sql`${collection.id}, ${collection.slug}, ${collection.name}, ${collection.description},
      ${rules.category ?? null}, ${rules.minPrice ?? null}, ${rules.maxPrice ?? null}`;
    const result =
      mode === 'insert'
        ? await sql<{ id: string }>`insert into catalog_collections
            (id, slug, name, description, rule_category, rule_min_price, rule_max_price)
            values (${values}) on conflict (slug) do nothing returning id`.execute(executor)
        : await sql<{ id: string }>`update catalog_collections set name = ${collection.name},
            description = ${collection.description}, rule_category = ${rules.category ?? null},
            rule_min_price = ${rules.minPrice ?? null}, rule_max_price = ${rules.maxPrice ?? null}
            where slug = ${collection.slug} returning id`.execute(executor);
    const id = result.rows[0]?.id;
    if (id === undefined) return undefined;
    await sql`delete from catalog_collection_products where collection_id = ${id}`.execute(executor);
    if (collection.productIds.length > 0)
      await sql`insert into catalog_collection_products (collection_id, product_id, position)
        select ${id}, product_id, position - 1 from unnest(${collection.productIds}::uuid[]) with ordinality as t (product_id, position)`.execute(
        executor,
      );
    return id;
  },

  async deleteCollection(executor: Db, slug: string): Promise<boolean> {
    const result = await sql`delete from catalog_collections where slug = ${slug} returning id`.execute(
      executor,
    );
    return result.rows.length > 0;
  },

  /** Which of these ids are products (live or archived). */
  async existingProductIds(executor: Db, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const result = await sql<{
      id: string;
    }>`select id from catalog_products where id = any(${ids}::uuid[])`.execute(executor);
    return result.rows.map((row) => row.id);
  },

  async translations(executor: Db, productId: string) {
    return catalogStore
      .tables(executor)
      .selectFrom('catalog_product_translations')
      .select(['locale', 'name', 'description'])
      .where('product_id', '=', productId)
      .orderBy('locale')
      .execute();
  },

  async saveTranslation(
    executor: Db,
    translation: { productId: string; locale: string; name: string; description: string },
  ): Promise<void> {
    await sql`insert into catalog_product_translations (product_id, locale, name, description)
      values (${translation.productId}, ${translation.locale}, ${translation.name}, ${translation.description})
      on conflict (product_id, locale) do update set name = excluded.name, description = excluded.description,
        updated_at = now()`.execute(executor);
  },

  async deleteTranslation(executor: Db, productId: string, locale: string): Promise<boolean> {
    const result = await sql`delete from catalog_product_translations
      where product_id = ${productId} and locale = ${locale} returning locale`.execute(executor);
    return result.rows.length > 0;
  },

  async insertImportJob(
    executor: Db,
    job: { id: string; dryRun: boolean; createdBy?: string },
  ): Promise<void> {
    await catalogStore
      .tables(executor)
      .insertInto('catalog_import_jobs')
      .values({ id: job.id, status: 'running', dry_run: job.dryRun, created_by: job.createdBy ?? null })
      .execute();
  },

  /** Progress of a running job, or its end (status done with the report, or failed with why). */
  async updateImportJob(
    executor: Db,
    id: string,
    change: { done?: number; total?: number; status?: 'done' | 'failed'; report?: unknown; error?: string },
  ): Promise<void> {
    await catalogStore
      .tables(executor)
      .updateTable('catalog_import_jobs')
      .set({
        ...(change.done !== undefined ? { done: change.done } : {}),
        ...(change.total !== undefined ? { total: change.total } : {}),
        ...(change.status ? { status: change.status } : {}),
        ...(change.report !== undefined ? { report: JSON.stringify(change.report) } : {}),
        ...(change.error !== undefined ? { error: change.error } : {}),
        updated_at: new Date(),
      })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .execute();
  },

  async importJob(executor: Db, id: string) {
    return catalogStore
      .tables(executor)
      .selectFrom('catalog_import_jobs')
      .select([
        'id',
        'status',
        'dry_run as dryRun',
        'done',
        'total',
        'report',
        'error',
        'updated_at as updatedAt',
      ])
      .where('id', '=', id)
      .executeTakeFirst();
  },

  categoryIdsBySlug(executor: Db) {
    return catalogStore.tables(executor).selectFrom('catalog_categories').select(['id', 'slug']).execute();
  },
};
