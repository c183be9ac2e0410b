import {
  createPayments,
  type PaymentsModule,
  type PaymentsOptions,
  type Sandbox,
  startSandbox,
} from '../../src/modules/payments/index.ts';
import { createEventBus } from '../../src/platform/events/index.ts';
import { createLogger } from '../../src/platform/observability/logger.ts';
import { createMetrics } from '../../src/platform/observability/metrics.ts';
import type { TestDatabase } from './db.ts';

/** The payments module alone on a test database, with a sandbox of its own and quick retries. */
export async function createTestPayments(
  database: TestDatabase,
  options: PaymentsOptions,
): Promise<PaymentsModule & { sandbox: Sandbox }> {
  const sandbox = await startSandbox({ host: '127.0.0.1', port: 0 });
  const logger = createLogger('silent');
  const metrics = createMetrics();
  const payments = createPayments(
    {
      config: {
        paymentsTimeoutMs: 1000,
        payments: { provider: 'sandbox', capture: 'on_order' },
        reconcileIntervalMs: 600_000,
        publicUrl: 'http://127.0.0.1:3000',
      },
      paymentsUrl: sandbox.url,
      db: database.db,
      bus: createEventBus({ db: database.db, logger, metrics }),
      logger,
      metrics,
    },
    options,
  );
  return {
    ...payments,
    sandbox,
    async close() {
      await payments.close?.();
      await sandbox.close();
    },
  };
}
