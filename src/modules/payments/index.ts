import type { Config } from '../../config.ts';
import type { Db } from '../../platform/db/index.ts';
import type { EventBus } from '../../platform/events/index.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { createPollingLoop } from '../../platform/polling.ts';
import { createSandboxProvider } from './client.ts';
import type { PaymentProvider } from './provider.ts';
import type { BreakerOptions, RetryOptions } from './resilience.ts';
import { paymentsRoutes } from './routes.ts';
import { createPaymentsService, type PaymentsService } from './service.ts';
import { createStripeProvider } from './stripe.ts';

export { PAYMENT_EVENT_TYPES } from './events.ts';
export type { CustomerAction, PaymentProvider, ProviderEvent } from './provider.ts';
export { DriftSchema } from './routes.ts';
export { type LedgerEntry, type Sandbox, type SandboxFaults, startSandbox } from './sandbox.ts';
export type { AuthorizeInput, Payment, PaymentDrift, PaymentsService } from './service.ts';
export type { PaymentStatus } from './store.ts';

export interface PaymentsDeps {
  config: Pick<Config, 'paymentsTimeoutMs' | 'payments' | 'publicUrl' | 'reconcileIntervalMs'>;
  /** Where the sandbox answers: PAYMENTS_URL, or the sandbox the composition root started. */
  paymentsUrl: string | undefined;
  db: Db;
  bus: EventBus;
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
 * Payments against the provider PAYMENTS_PROVIDER names, always across a real network boundary:
 * Stripe through its SDK, or the sandbox, a server of its own that the composition root starts
 * when no PAYMENTS_URL is given.
 */
export function createPayments(deps: PaymentsDeps, options: PaymentsOptions = {}): PaymentsModule {
  const resilience = {
    timeoutMs: deps.config.paymentsTimeoutMs,
    metrics: deps.metrics,
    logger: deps.logger,
    retry: options.retry,
    breaker: options.breaker,
  };
  const { stripe } = deps.config.payments;
  let provider: PaymentProvider;
  if (stripe) {
    provider = createStripeProvider({
      ...resilience,
      ...stripe,
      captureInParts: deps.config.payments.capture === 'on_shipment',
    });
  } else {
    if (!deps.paymentsUrl) throw new Error('the sandbox payment provider needs its URL');
    provider = createSandboxProvider({ ...resilience, baseUrl: deps.paymentsUrl });
  }
  const service = createPaymentsService(deps.db, provider, {
    bus: deps.bus,
    logger: deps.logger,
    metrics: deps.metrics,
    reconcileEveryMs: deps.config.reconcileIntervalMs,
    returnUrl: (orderId) => `${deps.config.publicUrl}/orders/${orderId}?payment=returned`,
  });
  const reconciliation = createPollingLoop({
    name: 'payment reconciliation',
    intervalMs: deps.config.reconcileIntervalMs,
    round: () => service.reconcileOnce(),
    logger: deps.logger,
  });
  return {
    name: 'payments',
    service,
    routes: paymentsRoutes(service, { stripeWebhook: provider.name === 'stripe' }),
    /** Reconciliation: our ledger compared with the provider's, a batch per interval. */
    start: reconciliation.start,
    stop: reconciliation.stop,
    close: () => provider.close(),
  };
}
