import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The module boundaries, checked on the source: a module is entered only through its index.ts,
 * and a module's SQL names only its own tables (and the platform's). Ownership comes from the
 * migrations: the module a migration belongs to owns the tables it creates.
 */
const ROOT = path.join(import.meta.dirname, '..');
const MODULES = path.join(ROOT, 'src/modules');

/** Each migration's owner, by the name after its number. */
const MIGRATION_OWNER: Record<string, string> = {
  platform: 'platform',
  idempotency: 'platform',
  outbox: 'platform',
  identity: 'identity',
  oidc: 'identity',
  identity_staff: 'identity',
  identity_sessions: 'identity',
  catalog: 'catalog',
  variant_prices: 'catalog',
  catalog_sku_search: 'catalog',
  reviews: 'reviews',
  review_moderation: 'reviews',
  inventory: 'inventory',
  inventory_low_stock: 'inventory',
  cart: 'cart',
  cart_pricing: 'cart',
  cart_address: 'cart',
  ordering: 'ordering',
  order_pricing: 'ordering',
  order_refunds: 'ordering',
  order_state_machine: 'ordering',
  checkout_compensations: 'ordering',
  payments: 'payments',
  payment_refund_reservations: 'payments',
  payment_actions: 'payments',
  payment_reconciliation: 'payments',
  order_awaiting_action: 'ordering',
  staff_refunds: 'ordering',
  payment_partial_capture: 'payments',
  fulfillment_capture: 'fulfillment',
  order_capture_hold: 'ordering',
  password_reset: 'identity',
  guest_carts: 'cart',
  guest_orders: 'ordering',
  user_addresses: 'identity',
  user_erasure: 'identity',
  api_keys: 'identity',
  email_change: 'identity',
  customer_groups: 'customers',
  staff_roles: 'identity',
  regions: 'pricing',
  promotions_engine: 'pricing',
  tax_classes: 'pricing',
  price_lists: 'pricing',
  order_item_price_list: 'ordering',
  cart_region: 'cart',
  product_images: 'catalog',
  product_options: 'catalog',
  collections: 'catalog',
  search_trigram: 'catalog',
  product_translations: 'catalog',
  import_jobs: 'catalog',
  category_collection_translations: 'catalog',
  stock_locations: 'inventory',
  fulfillment_locations: 'fulfillment',
  gift_cards: 'giftcards',
  order_balances: 'ordering',
  store_credit: 'giftcards',
  draft_orders: 'ordering',
  order_edits: 'ordering',
  draft_payment_links: 'ordering',
  exchanges: 'fulfillment',
  order_source: 'ordering',
  order_reports: 'ordering',
  webhook_event_deliveries: 'webhooks',
  outbox_subject: 'platform',
  store_settings: 'settings',
  variant_tax_class: 'catalog',
  order_discounts: 'ordering',
  order_tax_inclusive: 'ordering',
  webhooks: 'webhooks',
  notifications: 'notifications',
  notification_recipients: 'notifications',
  mail_queue: 'notifications',
  pricing: 'pricing',
  fulfillment: 'fulfillment',
};

/** Tables only the database itself reads (a trigger's rules), never the code. */
const DATABASE_ONLY = new Set(['order_status_transitions']);

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** The code without comments, so prose ("taken from orders") is not read as SQL. */
const withoutComments = (text: string) =>
  text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

async function tableOwners(): Promise<Map<string, string>> {
  const owners = new Map<string, string>();
  for (const file of (await readdir(path.join(ROOT, 'migrations'))).filter((name) => name.endsWith('.sql'))) {
    const owner = MIGRATION_OWNER[file.replace(/^\d+_/, '').replace(/\.sql$/, '')];
    expect(owner, `migrations/${file} has an owner in MIGRATION_OWNER`).toBeDefined();
    const sql = await readFile(path.join(ROOT, 'migrations', file), 'utf8');
    for (const [, table] of sql.matchAll(/create table (?:if not exists )?(\w+)/gi)) owners.set(table, owner);
  }
  return owners;
}

/** Tables a piece of code reads or writes: Kysely's builders and raw SQL. */
function tablesNamed(code: string, tables: Set<string>): Set<string> {
  const named = new Set<string>();
  const builder =
    /\b(?:selectFrom|insertInto|updateTable|deleteFrom|innerJoin|leftJoin|rightJoin|fullJoin|mergeInto)\(\s*'(\w+)/g;
  for (const [, table] of code.matchAll(builder)) if (tables.has(table)) named.add(table);
  const raw = /\b(?:from|join|into|update|table|exists|references)\s+(\w+)/gi;
  for (const [, table] of code.matchAll(raw)) if (tables.has(table)) named.add(table);
  return named;
}

describe('module boundaries', () => {
  it('enters another module only through its index.ts', async () => {
    const crossings: string[] = [];
    for (const file of await sourceFiles(MODULES)) {
      const module = path.relative(MODULES, file).split(path.sep)[0];
      const code = await readFile(file, 'utf8');
      for (const [, specifier] of code.matchAll(/(?:import|export)[^'"]*?from\s+'([^']+)'/g)) {
        if (!specifier.startsWith('.')) continue;
        const target = path.relative(MODULES, path.resolve(path.dirname(file), specifier));
        const [other, ...rest] = target.split(path.sep);
        if (target.startsWith('..') || other === module) continue;
        if (rest.join('/') !== 'index.ts') crossings.push(`${path.relative(ROOT, file)} → ${specifier}`);
      }
    }
    expect(crossings).toEqual([]);
  });

  it("names in its SQL only its own tables and the platform's", async () => {
    const owners = await tableOwners();
    const tables = new Set(owners.keys());
    const trespasses: string[] = [];
    const seen = new Set<string>();
    for (const file of await sourceFiles(path.join(ROOT, 'src'))) {
      const relative = path.relative(MODULES, file);
      const module = relative.startsWith('..') ? 'platform' : relative.split(path.sep)[0];
      for (const table of tablesNamed(withoutComments(await readFile(file, 'utf8')), tables)) {
        seen.add(table);
        const owner = owners.get(table)!;
        if (owner !== module && owner !== 'platform')
          trespasses.push(`${path.relative(ROOT, file)} names ${table} (owned by ${owner})`);
      }
    }
    expect(trespasses).toEqual([]);
    // Every table is read or written somewhere: the scan sees the SQL it is meant to check.
    expect([...tables].filter((table) => !seen.has(table) && !DATABASE_ONLY.has(table))).toEqual([]);
  });

  it('would catch a crossing and a trespass (the checks are not blind)', () => {
    const tables = new Set(['orders', 'carts']);
    expect(
      [...tablesNamed("db.selectFrom('orders as o').innerJoin('carts', 'x', 'y')", tables)].sort(),
    ).toEqual(['carts', 'orders']);
    expect([...tablesNamed('sql`select 1 from orders o join carts c on true`', tables)].sort()).toEqual([
      'carts',
      'orders',
    ]);
    expect([...tablesNamed(withoutComments('// taken from orders\nconst x = 1;'), tables)]).toEqual([]);
  });
});
