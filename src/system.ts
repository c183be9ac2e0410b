import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { createMemoryCache } from './platform/cache/index.ts';
import { type Database, migrate, openDatabase } from './platform/db/index.ts';
import { createHttpApp } from './platform/http/app.ts';
import type { EventBus } from './platform/events/index.ts';
import type { AppModule } from './platform/module.ts';
import type { Logger } from './platform/observability/logger.ts';
import { backgroundErrors } from './platform/observability/background.ts';
import { createMetrics, type Metrics } from './platform/observability/metrics.ts';
import { createTracing, type SpanExporter, type Tracing } from './platform/observability/tracing.ts';
import { createModules, type ModuleRegistry } from './modules/index.ts';

export interface System {
  config: Config;
  database: Database;
  metrics: Metrics;
  logger: Logger;
  modules: AppModule[];
  /** The same modules by name, typed. */
  registry: ModuleRegistry;
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
  const {
    list: modules,
    registry,
    verifier,
    bus,
  } = await createModules({
    config,
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
    modules,
    verifier,
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
      await broadcast?.close();
      await shared?.close();
      if (!options.database) await database.close();
      await tracing.shutdown();
    },
  };
}
