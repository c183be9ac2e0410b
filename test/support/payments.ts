import {
  createPayments,
  type PaymentsModule,
  type PaymentsOptions,
} from '../../src/modules/payments/index.ts';
import { createLogger } from '../../src/platform/observability/logger.ts';
import { createMetrics } from '../../src/platform/observability/metrics.ts';
import type { TestDatabase } from './db.ts';

/** The payments module alone on a test database, with its own sandbox and quick retries. */
export function createTestPayments(
  database: TestDatabase,
  options: PaymentsOptions,
): Promise<PaymentsModule> {
  return createPayments(
    {
      config: { paymentsUrl: undefined, paymentsTimeoutMs: 1000 },
      db: database.db,
      logger: createLogger('silent'),
      metrics: createMetrics(),
    },
    options,
  );
}
