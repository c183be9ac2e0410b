import { LRUCache } from 'lru-cache';
import type { Cache } from '../../platform/cache/index.ts';
import { runDetached } from '../../platform/context.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import type { InventoryService } from '../inventory/index.ts';
import { fill, parseTemplate, serializeTemplate, type Template } from './render.ts';

/**
 * The catalog's read path: product and list bodies as templates in the shared cache (Redis or
 * in-process), the bodies this process last filled from them, and live availability per variant
 * with generation counters so nothing read before a change is kept after it. The service decides
 * what a page is; this decides how little work answering it again takes.
 */
export interface ReadModelDeps {
  /** Shared cache of templates (in-process LRU, or Redis). */
  cache: Cache;
  inventory: Pick<InventoryService, 'availability' | 'onStockChange'>;
  metrics: Metrics;
  logger: Logger;
  /** The shop's languages: a product is cached once per language, and evicted in all of them. */
  locales: readonly string[];
}

export interface Rendered {
  body: string;
  etag: string;
}

/** A cache entry as parsed, and the body last filled from it while the counts it used stay valid. */
interface RenderedEntry {
  /** The shared cache's text this was parsed from; a different text means the entry is stale. */
  text: string;
  template: Template;
  rendered?: Rendered;
  /** `stockGeneration` when `rendered` was filled; any stock change since makes it refill. */
  stockGeneration: number;
  /** When the first of the counts in `rendered` expires. */
  expiresAt: number;
}

/** Rendered products and pages change only on catalog writes, which invalidate them. */
const BODY_TTL_MS = 60_000;
/**
 * Availability is cached per variant in this process. Inventory reports changes as they are made
 * (which drops the copy at once), possibly before its transaction commits: a read racing that
 * commit could cache the old count, so a variant read within STOCK_RACE_MS of its last change is
 * kept only that long. Otherwise a count lives STOCK_TTL_MS, which is also the bound on how stale a
 * count can be when another process (another API replica) changed the stock: its notification
 * does not reach this one.
 */
const STOCK_TTL_MS = 5_000;
const STOCK_RACE_MS = 1_000;
/** Bound on cached counts; past it the map starts over (it refills from the hot variants). */
const STOCK_MAX_ENTRIES = 200_000;
/** Finished bodies kept per cache key, in characters (the parsed templates behind them included). */
const RENDERED_MAX_CHARS = 32 * 1024 * 1024;
const LIST_PREFIX = 'catalog:list:';
/** The shop's own language keeps the plain key; a translation's read has its own. */
const productKey = (id: string, locale?: string) => `catalog:product:${id}${locale ? `:${locale}` : ''}`;

export function createReadModel(deps: ReadModelDeps) {
  const { cache, inventory } = deps;
  const stock = new Map<string, { available: number; expiresAt: number }>();
  const lastStockChange = new Map<string, number>();
  const renderedByKey = new LRUCache<string, RenderedEntry>({
    maxSize: RENDERED_MAX_CHARS,
    sizeCalculation: (entry, key) => key.length + entry.text.length + (entry.rendered?.body.length ?? 0),
  });
  const lookups = deps.metrics.counter(
    'catalog_cache_lookups_total',
    'Catalog cache lookups by cache (product, list, stock) and result (hit, miss)',
    ['cache', 'result'],
  );
  const cacheErrors = deps.metrics.counter(
    'catalog_cache_errors_total',
    'Shared cache operations that failed; reads then go to the database',
    ['operation'],
  );
  /**
   * The cache is an optimisation: when it fails (Redis down), reads fall back to the database and
   * writes still succeed; the failure is logged and counted, and entries expire by their TTL.
   */
  async function tolerant<T>(operation: string, work: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await work();
    } catch (error) {
      cacheErrors.inc({ operation });
      deps.logger.warn({ err: error, operation }, 'catalog cache operation failed');
      return fallback;
    }
  }
  // A fill that started before a write finished must not store what it read: it may be stale.
  let generation = 0;
  let stockGeneration = 0;

  inventory.onStockChange((variantIds) => {
    stockGeneration++;
    const now = Date.now();
    if (lastStockChange.size >= STOCK_MAX_ENTRIES) lastStockChange.clear();
    for (const variantId of variantIds) {
      stock.delete(variantId);
      lastStockChange.set(variantId, now);
    }
  });

  /**
   * Inventory reads of the requests that missed in the same turn of the event loop go out as one
   * query: under load many requests miss at once, and on PGlite each query waits for the last.
   */
  let pendingRead: { variantIds: Set<string>; result: Promise<Map<string, number>> } | undefined;
  function readStock(variantIds: string[]): Promise<Map<string, number>> {
    if (!pendingRead) {
      const batch = new Set<string>();
      pendingRead = {
        variantIds: batch,
        // Shared by several requests, so no one request's deadline or disconnect may cancel it.
        result: new Promise((resolve, reject) =>
          runDetached(() =>
            setImmediate(() => {
              pendingRead = undefined;
              inventory.availability([...batch]).then(resolve, reject);
            }),
          ),
        ),
      };
    }
    for (const variantId of variantIds) pendingRead.variantIds.add(variantId);
    return pendingRead.result;
  }

  /** Counts per variant and when the first of them expires. */
  async function availability(
    variantIds: string[],
  ): Promise<{ counts: Map<string, number>; expiresAt: number }> {
    const counts = new Map<string, number>();
    const now = Date.now();
    let expiresAt = now + STOCK_TTL_MS;
    const missing: string[] = [];
    for (const variantId of variantIds) {
      const entry = stock.get(variantId);
      if (entry === undefined || entry.expiresAt <= now) {
        missing.push(variantId);
      } else {
        counts.set(variantId, entry.available);
        if (entry.expiresAt < expiresAt) expiresAt = entry.expiresAt;
      }
    }
    if (variantIds.length === 0) return { counts, expiresAt };
    if (missing.length < variantIds.length) lookups.inc({ cache: 'stock', result: 'hit' });
    if (missing.length === 0) return { counts, expiresAt };
    lookups.inc({ cache: 'stock', result: 'miss' });
    const started = stockGeneration;
    const readAt = Date.now();
    const fresh = await readStock(missing);
    if (stock.size + missing.length > STOCK_MAX_ENTRIES) stock.clear();
    for (const variantId of missing) {
      const available = fresh.get(variantId) ?? 0;
      counts.set(variantId, available);
      if (started !== stockGeneration) continue;
      const changedAt = lastStockChange.get(variantId);
      const ttl =
        changedAt !== undefined && readAt - changedAt < STOCK_RACE_MS ? STOCK_RACE_MS : STOCK_TTL_MS;
      stock.set(variantId, { available, expiresAt: readAt + ttl });
      if (readAt + ttl < expiresAt) expiresAt = readAt + ttl;
    }
    // Counts not kept (a change happened meanwhile) must not be reused from a finished body either.
    if (started !== stockGeneration) expiresAt = 0;
    return { counts, expiresAt };
  }

  /**
   * The template under `key` filled with live availability. The shared cache (possibly Redis) is
   * asked every time, so writes elsewhere are seen; what this process did with the same text —
   * the parsed template and the body filled from it — is reused while no stock changed and the
   * counts it used have not expired.
   */
  async function renderCached(kind: string, key: string, load: () => Promise<Template>): Promise<Rendered> {
    const text = await tolerant('get', () => cache.get(key), undefined);
    let entry: RenderedEntry | undefined;
    if (text !== undefined) {
      lookups.inc({ cache: kind, result: 'hit' });
      entry = renderedByKey.get(key);
      if (entry?.text !== text)
        entry = { text, template: parseTemplate(text), stockGeneration: -1, expiresAt: 0 };
      if (entry.rendered && entry.stockGeneration === stockGeneration && Date.now() < entry.expiresAt) {
        return entry.rendered;
      }
    } else {
      lookups.inc({ cache: kind, result: 'miss' });
      const started = generation;
      const template = await load();
      if (started !== generation) return fill(template, (await availability(template.variantIds)).counts);
      const serialized = serializeTemplate(template);
      await tolerant('set', () => cache.set(key, serialized, BODY_TTL_MS), undefined);
      entry = { text: serialized, template, stockGeneration: -1, expiresAt: 0 };
    }
    const filledAt = stockGeneration;
    const { counts, expiresAt } = await availability(entry.template.variantIds);
    const rendered = fill(entry.template, counts);
    if (filledAt === stockGeneration) {
      entry.rendered = rendered;
      entry.stockGeneration = filledAt;
      entry.expiresAt = expiresAt;
      renderedByKey.set(key, entry);
    }
    return rendered;
  }

  /** Drops the products' templates in every language, then every list page once. */
  async function invalidate(...productIds: string[]): Promise<void> {
    generation++;
    for (const productId of productIds)
      for (const locale of [undefined, ...deps.locales.slice(1)])
        await tolerant('delete', () => cache.delete(productKey(productId, locale)), undefined);
    await invalidateLists();
  }

  async function invalidateLists(): Promise<void> {
    generation++;
    await tolerant('deleteByPrefix', () => cache.deleteByPrefix(LIST_PREFIX), undefined);
  }

  return {
    /** A product's body with live availability; `load` builds its template on a miss. */
    product: (id: string, locale: string | undefined, load: () => Promise<Template>): Promise<Rendered> =>
      renderCached('product', productKey(id, locale), load),
    /** A list page's body with live availability, under the page's signature and position. */
    list: (page: string, load: () => Promise<Template>): Promise<Rendered> =>
      renderCached('list', `${LIST_PREFIX}${page}`, load),
    /** Drops a product's template and every list page, after a write. */
    evictProduct: (productId: string) => invalidate(productId),
    /** As evictProduct, for many products at once (an import). */
    evictProducts: (productIds: string[]) => invalidate(...productIds),
    /** Drops every list page (a category was added, products came in bulk). */
    evictLists: invalidateLists,
  };
}

export type ReadModel = ReturnType<typeof createReadModel>;
