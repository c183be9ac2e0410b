import type { Config } from '../../config.ts';
import type { Db } from '../../platform/db/index.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { type BreakerOptions, createPaymentsClient, type RetryOptions } from './client.ts';
import { type Sandbox, startSandbox } from './sandbox.ts';
import { createPaymentsService, type PaymentsService } from './service.ts';
import { createPaymentsStore } from './store.ts';

export type { AuthorizeInput, Payment, PaymentsService } from './service.ts';
export type { PaymentStatus } from './store.ts';
export { type LedgerEntry, type Sandbox, type SandboxFaults, startSandbox } from './sandbox.ts';

export interface PaymentsDeps {
  config: Pick<Config, 'paymentsUrl' | 'paymentsTimeoutMs'>;
  db: Db;
  logger: Logger;
  metrics: Metrics;
}

/** Tuning for tests and operators; production takes the defaults. */
export interface PaymentsOptions {
  retry?: Partial<RetryOptions>;
  breaker?: Partial<BreakerOptions>;
}

export interface PaymentsModule extends AppModule, PaymentsService {
  /** The sandbox this module started because PAYMENTS_URL was unset; undefined otherwise. */
  sandbox: Sandbox | undefined;
}

/**
 * Payments against an external provider over HTTP. Without PAYMENTS_URL the module starts the
 * sandbox provider on loopback itself, so the client still crosses a real network boundary.
 */
export async function createPayments(
  deps: PaymentsDeps,
  options: PaymentsOptions = {},
): Promise<PaymentsModule> {
  const sandbox = deps.config.paymentsUrl ? undefined : await startSandbox({ host: '127.0.0.1', port: 0 });
  if (sandbox) deps.logger.info({ url: sandbox.url }, 'payment sandbox started (PAYMENTS_URL unset)');
  const client = createPaymentsClient({
    baseUrl: deps.config.paymentsUrl ?? sandbox!.url,
    timeoutMs: deps.config.paymentsTimeoutMs,
    metrics: deps.metrics,
    logger: deps.logger,
    retry: options.retry,
    breaker: options.breaker,
  });
  const service = createPaymentsService(createPaymentsStore(deps.db), client);
  return {
    name: 'payments',
    sandbox,
    ...service,
    async close() {
      client.close();
      await sandbox?.close();
    },
  };
}
