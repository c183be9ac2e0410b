import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * One registry per application instance (not prom-client's global), so several apps in one test
 * process never share counters.
 */
export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  httpInFlight: Gauge;
  dbStatements: Counter<'method' | 'route'>;
  dbTransactions: Counter<'method' | 'route'>;
  counter<L extends string>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  gauge<L extends string>(name: string, help: string, labelNames?: readonly L[]): Gauge<L>;
  histogram<L extends string>(
    name: string,
    help: string,
    labelNames?: readonly L[],
    buckets?: number[],
  ): Histogram<L>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const known = new Map<string, unknown>();
  // Modules ask for metrics by name; asking twice returns the same one instead of throwing.
  const once = <T>(name: string, make: () => T): T => {
    if (!known.has(name)) known.set(name, make());
    return known.get(name) as T;
  };
  return {
    registry,
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    httpInFlight: new Gauge({
      name: 'http_requests_in_flight',
      help: 'HTTP requests being handled now',
      registers: [registry],
    }),
    dbStatements: new Counter({
      name: 'db_statements_total',
      help: 'SQL statements sent for HTTP requests (begin and commit not counted), by method and route template',
      labelNames: ['method', 'route'],
      registers: [registry],
    }),
    dbTransactions: new Counter({
      name: 'db_transactions_total',
      help: 'Database transactions opened for HTTP requests, by method and route template',
      labelNames: ['method', 'route'],
      registers: [registry],
    }),
    counter: (name, help, labelNames = []) =>
      once(name, () => new Counter({ name, help, labelNames, registers: [registry] })),
    gauge: (name, help, labelNames = []) =>
      once(name, () => new Gauge({ name, help, labelNames, registers: [registry] })),
    histogram: (name, help, labelNames = [], buckets) =>
      once(name, () => new Histogram({ name, help, labelNames, buckets, registers: [registry] })),
  };
}
