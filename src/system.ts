import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { createModules, type ModuleRegistry, ROLES } from './modules/index.ts';
import { type Sandbox, startSandbox } from './modules/payments/index.ts';
import { createMemoryCache } from './platform/cache/index.ts';
import { type Database, migrate, openDatabase } from './platform/db/index.ts';
import type { EventBus } from './platform/events/index.ts';
import { createHttpApp } from './platform/http/app.ts';
import type { AppModule } from './platform/module.ts';
import { backgroundErrors } from './platform/observability/background.ts';
import type { Logger } from './platform/observability/logger.ts';
import { createMetrics, type Metrics } from './platform/observability/metrics.ts';
import { createTracing, type SpanExporter, type Tracing } from './platform/observability/tracing.ts';

export interface System {
  config: Config;
  database: Database;
  metrics: Metrics;
  logger: Logger;
  /** The modules the role builds (config.role), in dependency order. */
  modules: AppModule[];
  /** The same modules by name, typed; a module the role does not build is undefined. */
  registry: ModuleRegistry;
  /** The sandbox payment provider, when this system started it (PAYMENTS_URL unset; named, or outside production). */
  sandbox: Sandbox | undefined;
  bus: EventBus;
  app: FastifyInstance;
  tracing: Tracing;
  /** Serves the modules' gRPC services on this port (0: any free one); resolves to the bound port. */
  startGrpc(port: number): Promise<number>;
  /** Starts the background work of the worker role (recovery loops, dispatchers). */
  startWorkers(): Promise<void>;
  close(): Promise<void>;
}

export interface SystemOptions {
  /** Use this database instead of opening one from the config (tests share one per file). */
  database?: Database;
  /** Skip migrations (they already ran). */
  skipMigrations?: boolean;
  /** Send spans here as well (tests read them from an in-memory exporter). */
  spanExporter?: SpanExporter;
}

/** The address of the admin a development start makes when none is configured. */
export const FIRST_ADMIN_EMAIL = 'admin@example.com';

/**
 * The shop's first-start writes, which module factories never make: the admin account from
 * EMPORIUM_ADMIN_EMAIL / EMPORIUM_ADMIN_PASSWORD (or, with `firstAdmin` outside production and
 * no admin anywhere, one with a generated password returned to be shown once), and on an empty
 * database the demo shop (SEED_PRODUCTS, for the roles that serve it). `serve` runs this before
 * it listens.
 */
export async function prepareShop(
  system: System,
  options: { firstAdmin?: boolean } = {},
): Promise<{ firstAdmin?: { email: string; password: string } }> {
  const { config, registry, logger } = system;
  let firstAdmin: { email: string; password: string } | undefined;
  if (config.adminEmail && config.adminPassword) {
    await registry.identity.bootstrapAdmin(config.adminEmail, config.adminPassword);
  } else if (options.firstAdmin && !config.production && ROLES[config.role].serves) {
    // `npm start` with nothing configured still gives a console someone can sign in to.
    firstAdmin = await registry.identity.firstAdmin(FIRST_ADMIN_EMAIL);
  }
  if (config.seedProducts > 0 && ROLES[config.role].serves && (await registry.catalog.isEmpty())) {
    // Another instance starting on the same empty database may load it too: seeding is resumable.
    const added = await seedDemoShop(system, config.seedProducts);
    logger.info({ products: added }, 'demo shop loaded');
  }
  return { firstAdmin };
}

/** The deterministic demo shop: up to `count` demo products, then their tax rates, shipping methods and codes. */
export async function seedDemoShop(system: Pick<System, 'registry'>, count: number): Promise<number> {
  const added = await system.registry.catalog.seed(count);
  // Loading the demo pricing is idempotent; it goes with any demo catalog.
  if (count > 0) await system.registry.pricing.seedDemo();
  return added;
}

/** The composition root: builds every dependency once and hands it to the modules that need it. */
export async function createSystem(
  config: Config,
  logger: Logger,
  options: SystemOptions = {},
): Promise<System> {
  const metrics = createMetrics();
  const reportErrors = backgroundErrors(logger, metrics);
  const database =
    options.database ??
    (await openDatabase({
      url: config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: config.databasePoolSize,
      onIdleError: reportErrors('database pool'),
    }));
  if (!options.skipMigrations) {
    const report = await migrate(database.db);
    if (report.applied.length > 0) logger.info({ applied: report.applied }, 'migrations applied');
  }
  const tracing = await createTracing({
    serviceName: config.otelServiceName,
    otlpEndpoint: config.otlpEndpoint,
    exporter: options.spanExporter,
  });
  // The Redis client is loaded only when Redis is configured.
  const shared = config.redisUrl
    ? await (await import('./platform/cache/redis.ts')).openRedisCache(
        database.db,
        config.redisUrl,
        reportErrors('cache'),
      )
    : undefined;
  const cache = shared?.cache ?? createMemoryCache();
  const broadcast = shared
    ? (await import('./platform/pubsub/redis.ts')).createRedisBroadcast({
        url: config.redisUrl as string,
        namespace: `${shared.namespace}broadcast:`,
        logger,
        metrics,
      })
    : undefined;
  // The sandbox (named, or by default outside production: loadConfig refuses production without
  // PAYMENTS_PROVIDER) runs as a server of its own on loopback unless PAYMENTS_URL points at one.
  const sandbox =
    config.payments.provider !== 'sandbox' || config.paymentsUrl
      ? undefined
      : await startSandbox({ host: '127.0.0.1', port: 0 });
  if (sandbox) logger.info({ url: sandbox.url }, 'payment sandbox started (PAYMENTS_URL unset)');
  const {
    list: modules,
    registry,
    verifier,
    cartTokens,
    bus,
  } = await createModules({
    config,
    paymentsUrl: config.paymentsUrl ?? sandbox?.url,
    database,
    db: database.db,
    logger,
    metrics,
    reportErrors,
    cache,
    // PostgreSQL without Redis may have several instances, each with its own in-process cache.
    sessionCache: shared || !config.databaseUrl ? cache : undefined,
    broadcast,
  });
  const readiness: Record<string, () => Promise<void>> = { database: () => database.ping() };
  if (shared) readiness.cache = shared.ping;
  for (const module of modules) if (module.ready) readiness[module.name] = module.ready;
  const app = await createHttpApp({
    config,
    logger,
    metrics,
    readiness,
    serves: ROLES[config.role].serves,
    modules,
    verifier,
    cartTokens,
    tracing,
    redisNamespace: shared?.namespace,
  });
  let workersStarted = false;
  let grpcServer: { close(): Promise<void> } | undefined;
  return {
    config,
    database,
    metrics,
    logger,
    modules,
    registry,
    sandbox,
    bus,
    app,
    tracing,
    async startGrpc(port) {
      const services = await Promise.all(modules.flatMap((module) => (module.grpc ? [module.grpc()] : [])));
      const { startGrpcServer } = await import('./platform/grpc/server.ts');
      const server = await startGrpcServer(services, {
        host: config.host,
        port,
        shutdownTimeoutMs: config.shutdownTimeoutMs,
      });
      grpcServer = server;
      return server.port;
    },
    async startWorkers() {
      workersStarted = true;
      for (const module of modules) await module.start?.();
    },
    async close() {
      await Promise.all([app.close(), grpcServer?.close()]);
      if (workersStarted) for (const module of [...modules].reverse()) await module.stop?.();
      for (const module of [...modules].reverse()) await module.close?.();
      await sandbox?.close();
      await broadcast?.close();
      await shared?.close();
      if (!options.database) await database.close();
      await tracing.shutdown();
    },
  };
}
