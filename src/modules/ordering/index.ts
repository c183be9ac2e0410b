import type { Config } from '../../config.ts';
import type { Db } from '../../platform/db/index.ts';
import type { EventBus } from '../../platform/events/index.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { createPollingLoop } from '../../platform/polling.ts';
import type { CartService } from '../cart/index.ts';
import type { GiftCardService } from '../giftcards/index.ts';
import { onAccountErased } from '../identity/index.ts';
import type { InventoryService } from '../inventory/index.ts';
import type { PricingService } from '../pricing/index.ts';
import { reportRoutes } from './report-routes.ts';
import { createSalesReports } from './reports.ts';
import { orderingRoutes } from './routes.ts';
import type { PaymentsPort } from './saga.ts';
import { createOrderingService, type OrderCustomers, type OrderingService } from './service.ts';
import { createOrderTimeline, type TimelineSources } from './timeline.ts';

export { ORDER_EVENT_TYPES } from './events.ts';
export { NoteSchema, SalesReportSchema, TimelineEntrySchema } from './report-routes.ts';
export { DraftOrderSchema, EditPreviewSchema, OrderEditSchema, OrderSchema, RefundSchema } from './routes.ts';
export type { PaymentsPort } from './saga.ts';
export type { Order } from './service.ts';
export { canTransition, type OrderStatus } from './state.ts';

export interface OrderingModule extends AppModule {
  name: 'ordering';
  service: OrderingService;
}

export function createOrdering(deps: {
  config: Config;
  db: Db;
  cart: CartService;
  inventory: InventoryService;
  pricing: PricingService;
  giftCards: GiftCardService;
  customers: OrderCustomers;
  payments: PaymentsPort;
  /** The mail and webhook deliveries an order's events caused, for its timeline. */
  activity: Omit<TimelineSources, 'events'>;
  bus: EventBus;
  logger: Logger;
  metrics: Metrics;
}): OrderingModule {
  const { config } = deps;
  const service = createOrderingService({
    ...deps,
    settings: {
      reservationTtlSeconds: config.reservationTtlSeconds,
      requestTimeoutMs: config.requestTimeoutMs,
      // 0 means: two provider timeouts, at most half the request's deadline.
      paymentBudgetMs:
        config.checkoutPaymentBudgetMs ||
        Math.min(config.paymentsTimeoutMs * 2, Math.floor(config.requestTimeoutMs / 2)),
      maxAttempts: 6,
      retryBaseMs: Math.max(100, Math.floor(config.recoveryIntervalMs / 5)),
      captureOnShipment: config.payments.capture === 'on_shipment',
      publicUrl: config.publicUrl,
    },
  });
  // A user proved an address: the guest orders placed with it become theirs (claiming is
  // idempotent). An erased account's orders lose their personal fields. Both may run again.
  deps.bus.subscribe('ordering', ['user.email_verified'], async (event) => {
    const { userId, email } = event.data as { userId?: unknown; email?: unknown };
    if (typeof userId === 'string' && typeof email === 'string')
      await service.claimGuestOrders(userId, email);
  });
  onAccountErased(deps.bus, 'ordering', service.anonymiseOrdersOf);
  const recovery = createPollingLoop({
    name: 'order recovery',
    intervalMs: config.recoveryIntervalMs,
    round: () => service.recoverOnce(),
    logger: deps.logger,
  });

  const reports = createSalesReports({ db: deps.db, storeCurrency: config.storeCurrency });
  const timeline = createOrderTimeline({
    db: deps.db,
    sources: { ...deps.activity, events: (orderId) => deps.bus.events({ subject: orderId }) },
    staffName: async (id) => (await deps.customers.user(id)).name,
  });
  const orderRoutes = orderingRoutes(service, {
    db: deps.db,
    idempotencyLockMs: config.requestTimeoutMs + 5_000,
  });
  const readingRoutes = reportRoutes(reports, timeline);

  return {
    name: 'ordering',
    service,
    routes: (app) => {
      orderRoutes(app);
      readingRoutes(app);
    },
    /** The recovery loop: every order ends confirmed or cancelled, whoever crashed mid-way. */
    start: recovery.start,
    stop: recovery.stop,
  };
}
