import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../../../test/support/db.ts';
import { createTestSystem, moduleOf, type TestSystem } from '../../../test/support/system.ts';
import { type Cache, createMemoryCache } from '../../platform/cache/index.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { createLogger } from '../../platform/observability/logger.ts';
import { createMetrics, type Metrics } from '../../platform/observability/metrics.ts';
import type { InventoryModule } from '../inventory/index.ts';
import { createReadModel } from './read-model.ts';
import type { Template } from './render.ts';

/** A one-variant body: `{"variant":"…","available":N}`. */
const templateOf = (variantId: string, label = 'v1'): Template => ({
  hash: label,
  variantIds: [variantId],
  segments: [`{"variant":"${variantId}","label":"${label}","available":`, '}'],
});

describe.each(dbKinds)('catalog read model on %s', (kind) => {
  let system: TestSystem;
  let inventory: InventoryModule;
  /** The variant ids of each stock read the read model made. */
  let stockReads: string[][];
  let sequence = 0;

  beforeAll(async () => {
    system = await createTestSystem(kind);
    inventory = moduleOf(system, 'inventory');
  });
  afterAll(() => system.dispose());

  /** A read model over the real inventory, recording its stock reads. */
  function readModel(cache: Cache = createMemoryCache(), metrics: Metrics = createMetrics()) {
    stockReads = [];
    return createReadModel({
      cache,
      metrics,
      logger: createLogger('silent'),
      locales: ['en'],
      inventory: {
        onStockChange: inventory.service.onStockChange,
        availability: (variantIds) => {
          stockReads.push([...variantIds]);
          return inventory.service.availability(variantIds);
        },
      },
    });
  }

  async function stockedVariant(onHand: number): Promise<{ variantId: string; sku: string }> {
    const item = { variantId: uuidv7(), sku: `RM-${process.pid}-${++sequence}`, onHand };
    await inventory.service.createItems(system.database.db, [item]);
    return item;
  }

  /** A loader that counts its calls. */
  function loader(template: Template) {
    const load = async () => {
      load.calls++;
      return template;
    };
    load.calls = 0;
    return load;
  }

  it('fills a template with live stock, then answers again without loading it or reading stock', async () => {
    const reads = readModel();
    const { variantId } = await stockedVariant(7);
    const load = loader(templateOf(variantId));
    const first = await reads.product(variantId, undefined, load);
    expect(JSON.parse(first.body)).toEqual({ variant: variantId, label: 'v1', available: 7 });
    expect(first.etag).toMatch(/^"v1\.[0-9a-z]+"$/);
    const again = await reads.product(variantId, undefined, load);
    expect(again).toEqual(first);
    expect(load.calls).toBe(1);
    expect(stockReads).toHaveLength(1);
  });

  it('a stock change refills the body with the new count and a new ETag; the template is not rebuilt', async () => {
    const reads = readModel();
    const { variantId, sku } = await stockedVariant(5);
    const load = loader(templateOf(variantId));
    const before = await reads.product(variantId, undefined, load);
    await inventory.service.adjust(sku, -2, 'test', uuidv7());
    const after = await reads.product(variantId, undefined, load);
    expect(JSON.parse(after.body).available).toBe(3);
    expect(after.etag).not.toBe(before.etag);
    expect(after.etag.split('.')[0]).toBe(before.etag.split('.')[0]);
    expect(load.calls).toBe(1);
  });

  it('misses in one turn of the event loop read their stock in one query', async () => {
    const reads = readModel();
    const variants = await Promise.all([stockedVariant(1), stockedVariant(2), stockedVariant(3)]);
    const bodies = await Promise.all(
      variants.map(({ variantId }) => reads.product(variantId, undefined, loader(templateOf(variantId)))),
    );
    expect(bodies.map((body) => JSON.parse(body.body).available)).toEqual([1, 2, 3]);
    expect(stockReads).toHaveLength(1);
    expect(stockReads[0].sort()).toEqual(variants.map((variant) => variant.variantId).sort());
  });

  it('a template loaded while a write happened is answered but not kept', async () => {
    const reads = readModel();
    const { variantId } = await stockedVariant(4);
    let calls = 0;
    const racingLoad = async () => {
      calls++;
      // The write lands between the read of the row and the store of what was read.
      if (calls === 1) await reads.evictProduct(variantId);
      return templateOf(variantId, `v${calls}`);
    };
    expect(JSON.parse((await reads.product(variantId, undefined, racingLoad)).body).label).toBe('v1');
    expect(JSON.parse((await reads.product(variantId, undefined, racingLoad)).body).label).toBe('v2');
    expect(calls).toBe(2);
  });

  it("sees another instance's write: the shared cache is asked on every read", async () => {
    const shared = createMemoryCache();
    const here = readModel(shared);
    const there = readModel(shared);
    const { variantId } = await stockedVariant(2);
    await here.product(variantId, undefined, loader(templateOf(variantId, 'old')));
    await there.evictProduct(variantId);
    await there.product(variantId, undefined, loader(templateOf(variantId, 'new')));
    const seen = await here.product(variantId, undefined, loader(templateOf(variantId, 'unused')));
    expect(JSON.parse(seen.body).label).toBe('new');
  });

  it('evicting lists leaves products cached, evicting a product drops every list page too', async () => {
    const reads = readModel();
    const { variantId } = await stockedVariant(1);
    const product = loader(templateOf(variantId));
    const list = loader(templateOf(variantId, 'list'));
    await reads.product(variantId, undefined, product);
    await reads.list('page:1', list);
    await reads.evictLists();
    await reads.product(variantId, undefined, product);
    await reads.list('page:1', list);
    expect([product.calls, list.calls]).toEqual([1, 2]);
    await reads.evictProduct(variantId);
    await reads.product(variantId, undefined, product);
    await reads.list('page:1', list);
    expect([product.calls, list.calls]).toEqual([2, 3]);
  });

  it('a shared cache that fails: every read answers from the database, and the failures are counted', async () => {
    const down = new Error('connection refused');
    const failing: Cache = {
      get: () => Promise.reject(down),
      getMany: () => Promise.reject(down),
      set: () => Promise.reject(down),
      add: () => Promise.reject(down),
      delete: () => Promise.reject(down),
      deleteByPrefix: () => Promise.reject(down),
    };
    const metrics = createMetrics();
    const reads = readModel(failing, metrics);
    const { variantId } = await stockedVariant(6);
    const load = loader(templateOf(variantId));
    for (let read = 0; read < 2; read++) {
      expect(JSON.parse((await reads.product(variantId, undefined, load)).body).available).toBe(6);
    }
    await reads.evictProduct(variantId);
    expect(load.calls).toBe(2);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/catalog_cache_errors_total\{operation="get"\} 2/);
    expect(text).toMatch(/catalog_cache_errors_total\{operation="set"\} 2/);
    expect(text).toMatch(/catalog_cache_errors_total\{operation="delete"\} 1/);
  });
});
