import type { Config, Role } from '../config.ts';
import type { Cache } from '../platform/cache/index.ts';
import type { Database, Db } from '../platform/db/index.ts';
import { createAmqpTransport, createEventBus, type EventBus } from '../platform/events/index.ts';
import type { AccessTokenVerifier, CartTokenVerifier } from '../platform/http/auth.ts';
import type { AppModule } from '../platform/module.ts';
import type { BackgroundErrors } from '../platform/observability/background.ts';
import type { Logger } from '../platform/observability/logger.ts';
import type { Metrics } from '../platform/observability/metrics.ts';
import type { Broadcast } from '../platform/pubsub/redis.ts';
import { openObjectStorage } from '../platform/storage/index.ts';
import { createCart } from './cart/index.ts';
import { createCatalog } from './catalog/index.ts';
import { createCustomers } from './customers/index.ts';
import { createFulfillment, FULFILLMENT_EVENT_TYPES } from './fulfillment/index.ts';
import { createGiftCards } from './giftcards/index.ts';
import { createGraphql } from './graphql/index.ts';
import { createIdentity, ERASURE_KEEPS, IDENTITY_EVENT_TYPES, onAccountErased } from './identity/index.ts';
import { createInventory, INVENTORY_EVENT_TYPES } from './inventory/index.ts';
import { createNotifications, mailSentFor } from './notifications/index.ts';
import { createOrdering, ORDER_EVENT_TYPES } from './ordering/index.ts';
import { createPayments, PAYMENT_EVENT_TYPES } from './payments/index.ts';
import { createPricing } from './pricing/index.ts';
import { createPrivacy } from './privacy/index.ts';
import { createReviews } from './reviews/index.ts';
import { createSettings } from './settings/index.ts';
import { createStream } from './stream/index.ts';
import { createWeb, type StripeOnPages } from './web/index.ts';
import { createWebhooks } from './webhooks/index.ts';

/** What the composition root hands every module factory. */
export interface ModuleDeps {
  config: Config;
  /** Where the sandbox provider answers: PAYMENTS_URL, or the sandbox the root started; none for Stripe. */
  paymentsUrl: string | undefined;
  database: Database;
  db: Db;
  logger: Logger;
  metrics: Metrics;
  /** Reporters for errors handled in the background, by component (counted and logged). */
  reportErrors: BackgroundErrors;
  /** Shared cache: Redis when REDIS_URL is set, in-process otherwise. */
  cache: Cache;
  /**
   * The same cache when every instance sees it alike (Redis, or PGlite's single process), for
   * state that must never be stale on any instance (revoked tokens); undefined otherwise.
   */
  sessionCache?: Cache;
  /** Messages to every instance (Redis pub/sub) when REDIS_URL is set. */
  broadcast?: Broadcast;
}

/** Every module by name, typed: the composition root and its callers reach one without a cast. */
export type ModuleRegistry = Awaited<ReturnType<typeof buildModules>>['registry'];

export interface Modules {
  registry: ModuleRegistry;
  /** The same modules in dependency order: started in it, stopped and closed in reverse. */
  list: AppModule[];
  bus: EventBus;
  /** Verifies access tokens for the platform's requireUser/requireRole. */
  verifier: AccessTokenVerifier;
  /** Verifies guests' cart tokens on the routes that take them. */
  cartTokens: CartTokenVerifier;
}

/**
 * What each role runs (as Loki's `-target`): `api` serves the routes and runs no background loop;
 * `worker` runs the loops and event consumers and serves no public API; `all` does both. A role
 * builds only the modules it runs and those they need (the worker's ordering needs the cart,
 * which needs the catalog); docs/architecture.md has the table.
 */
export const ROLES: Record<Role, { serves: boolean; works: boolean }> = {
  all: { serves: true, works: true },
  api: { serves: true, works: false },
  worker: { serves: false, works: true },
};

/** Stripe on the storefront's pages: only with a publishable key, so the Payment Element can load. */
function stripeOnPages(config: Config): StripeOnPages | undefined {
  const stripe = config.payments.stripe;
  if (!stripe?.publishableKey) return undefined;
  return { publishableKey: stripe.publishableKey, jsUrl: stripe.jsUrl, apiBase: stripe.apiBase };
}

/** Builds the role's modules in dependency order; a later module receives the earlier ones it needs. */
export async function createModules(deps: ModuleDeps): Promise<Modules> {
  const { registry, bus, verifier, cartTokens } = await buildModules(deps);
  const list = Object.values(registry).filter((module): module is AppModule => module !== undefined);
  return { registry, list, bus, verifier, cartTokens };
}

async function buildModules(deps: ModuleDeps) {
  const { config, logger, metrics } = deps;
  const { serves, works } = ROLES[config.role];
  /** A module only the serving roles build. */
  const served = <T>(build: () => T): T | undefined => (serves ? build() : undefined);
  const transport = config.amqpUrl
    ? createAmqpTransport({ url: config.amqpUrl, exchange: config.amqpExchange, logger, metrics })
    : undefined;
  const bus = createEventBus({ db: deps.db, logger, metrics, transport });
  const events: AppModule = {
    name: 'events',
    start: () => bus.start(),
    stop: () => bus.stop(),
    close: () => bus.stop(),
    ...(transport ? { ready: bus.ready } : {}),
  };
  const identity = await createIdentity({ ...deps, bus });
  // The outbox keeps relayed events for inspection and replay: an erased account's go with it.
  onAccountErased(bus, 'outbox-erasure', (userId) => bus.forgetUser(userId, ERASURE_KEEPS));
  const inventory = createInventory({
    ...deps,
    reportPublishError: deps.reportErrors('stock broadcast'),
    verifier: identity.verifier,
    bus,
    lowStockThreshold: config.inventoryLowThreshold,
    // The catalog is composed later (it needs inventory); low stock asks at request time.
    products: (variantIds: readonly string[]) => catalog.variantsForCheckout(variantIds),
  });
  const pricing = createPricing({
    ...deps,
    // Customers are composed later (from identity and ordering); a price list asks at request time.
    customerGroups: (userId, executor) => customers.service.groups.groupIdsOf(userId, executor),
    sources: {
      ordersBetween: (from, to, limit) => ordering.service.placedBetween(from, to, limit),
      variants: (variantIds) => catalog.variantsForCheckout(variantIds),
    },
  });
  const catalog = createCatalog({
    ...deps,
    inventory: inventory.service,
    taxClasses: { assertKnown: pricing.service.assertTaxClasses },
    regionCurrency: async (code) => (await pricing.service.regions(code))[0]?.currency,
    storage: openObjectStorage(config.objectStorage, config.dataDir),
  });
  const payments = createPayments({ ...deps, bus });
  const giftCards = createGiftCards({
    db: deps.db,
    storeCurrency: config.storeCurrency,
    accounts: identity.service,
  });
  const cart = createCart({
    db: deps.db,
    config,
    catalog,
    stock: inventory.service,
    pricing: pricing.service,
    bus,
    logger,
  });
  const ordering = createOrdering({
    ...deps,
    cart: cart.service,
    inventory: inventory.service,
    pricing: pricing.service,
    giftCards: giftCards.service,
    customers: identity.service,
    payments: payments.service,
    bus,
    // Webhooks are composed later; the timeline asks at request time.
    activity: {
      mail: (eventIds) => mailSentFor(deps.db, eventIds),
      deliveries: (eventIds) => webhooks.service.deliveriesOfEvents(eventIds),
    },
  });
  // A payment that waited for the shopper moved at the provider: its order goes on.
  payments.service.onSettled((orderId) => ordering.service.resume(orderId));
  const reviews = served(() => createReviews({ ...deps, catalog, orders: ordering.service }));
  // Built by every role: the worker finishes shipments whose capture was cut off.
  const fulfillment = createFulfillment({
    db: deps.db,
    config,
    ordering,
    // A return's refund goes to the gift card first, as every refund of an order does.
    payments: { captureShare: payments.service.captureShare, refund: ordering.service.refundMoney },
    inventory: inventory.service,
    storeCredit: giftCards.service,
    bus,
    logger,
  });
  // Built by every role: the worker takes erased accounts out of their groups.
  const customers = createCustomers({
    db: deps.db,
    bus,
    accounts: { ...identity.service, addressesOf: identity.addresses.list },
    orders: ordering.service,
    storeCurrency: config.storeCurrency,
  });
  const privacy = served(() =>
    createPrivacy({
      accounts: identity.service,
      addresses: identity.addresses,
      orders: ordering.service,
      reviews: reviews?.service,
    }),
  );
  const graphql = served(() =>
    createGraphql({
      catalog,
      reviews: reviews!,
      identity,
      ordering,
      verifier: identity.verifier,
      logger: deps.logger,
      limits: {
        maxDepth: config.graphqlMaxDepth,
        maxCost: config.graphqlMaxCost,
        maxFields: config.graphqlMaxFields,
        maxAliases: config.graphqlMaxAliases,
        introspection: config.graphqlIntrospection,
      },
    }),
  );
  const stream = served(() =>
    createStream({
      bus,
      verifier: identity.verifier,
      logger,
      metrics,
      broadcast: deps.broadcast,
      heartbeatMs: config.streamHeartbeatMs,
    }),
  );
  const webhooks = createWebhooks({
    ...deps,
    bus,
    eventTypes: [
      ...new Set([
        ...IDENTITY_EVENT_TYPES,
        ...INVENTORY_EVENT_TYPES,
        ...ORDER_EVENT_TYPES,
        ...FULFILLMENT_EVENT_TYPES,
        ...PAYMENT_EVENT_TYPES,
      ]),
    ],
  });
  // Mail goes out from the event consumer and its delivery loop: a worker's work.
  const notifications = works
    ? createNotifications({
        ...deps,
        bus,
        identity,
        orders: ordering.service,
        shopName: async () => (await settings.service.read()).name,
      })
    : undefined;
  // Built by every role: the worker's mail is signed with the shop's name.
  const settings = createSettings({
    db: deps.db,
    storeCurrency: config.storeCurrency,
    storeLocales: config.storeLocales,
    publicUrl: config.publicUrl,
  });
  const web = serves
    ? await createWeb({
        distDir: config.webDistDir,
        storeCurrency: config.storeCurrency,
        storeLocales: config.storeLocales,
        stripe: stripeOnPages(config),
        logger,
      })
    : undefined;
  return {
    // In dependency order (an object keeps its keys' order).
    registry: {
      events,
      identity,
      inventory,
      catalog,
      reviews,
      pricing,
      payments,
      giftCards,
      cart,
      ordering,
      fulfillment,
      customers,
      privacy,
      graphql,
      stream,
      webhooks,
      notifications,
      settings,
      web,
    },
    bus,
    verifier: identity.httpVerifier,
    cartTokens: cart.service.cartTokens,
  };
}
