import type { Config } from '../../config.ts';
import type { Db } from '../../platform/db/index.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { type BreakerOptions, createPaymentsClient, type RetryOptions } from './client.ts';
import { createPaymentsService, type PaymentsService } from './service.ts';

export { type LedgerEntry, type Sandbox, type SandboxFaults, startSandbox } from './sandbox.ts';
export type { AuthorizeInput, Payment, PaymentsService } from './service.ts';
export type { PaymentStatus } from './store.ts';

export interface PaymentsDeps {
  config: Pick<Config, 'paymentsTimeoutMs'>;
  /** Where the provider answers: PAYMENTS_URL, or the sandbox the composition root started. */
  paymentsUrl: string;
  db: Db;
  logger: Logger;
  metrics: Metrics;
}

/** Tuning for tests and operators; production takes the defaults. */
export interface PaymentsOptions {
  retry?: Partial<RetryOptions>;
  breaker?: Partial<BreakerOptions>;
}

export interface PaymentsModule extends AppModule {
  name: 'payments';
  service: PaymentsService;
}

/**
 * Payments against a provider over HTTP, always across a real network boundary: the sandbox
 * provider is a server of its own, which the composition root starts when no provider is named.
 */
export function createPayments(deps: PaymentsDeps, options: PaymentsOptions = {}): PaymentsModule {
  const client = createPaymentsClient({
    baseUrl: deps.paymentsUrl,
    timeoutMs: deps.config.paymentsTimeoutMs,
    metrics: deps.metrics,
    logger: deps.logger,
    retry: options.retry,
    breaker: options.breaker,
  });
  const service = createPaymentsService(deps.db, client);
  return {
    name: 'payments',
    service,
    close: () => client.close(),
  };
}
