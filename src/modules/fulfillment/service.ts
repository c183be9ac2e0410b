import { type Db, transact } from '../../platform/db/index.ts';
import { badRequest, conflict, DomainError, notFound } from '../../platform/errors.ts';
import type { EventBus } from '../../platform/events/index.ts';
import type { OrderViewer, Principal } from '../../platform/http/auth.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { formatMoney } from '../../platform/money.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Money } from '../cart/index.ts';
import type { InventoryService } from '../inventory/index.ts';
import type { OrderingModule } from '../ordering/index.ts';
import { lineCharge, shareOf } from '../pricing/index.ts';
import { invalidState } from './errors.ts';
import { fulfillmentEvent } from './events.ts';
import {
  type ItemQuantity,
  type ReturnRow,
  type ShipmentSource,
  fulfillmentStore as store,
} from './store.ts';

/** A shipped item and the stock locations its units leave from. */
export type ShippedItem = ItemQuantity & { from: ShipmentSource[] };

type OrderAccess = OrderingModule['service']['fulfillment'];
type LockedOrder = NonNullable<Awaited<ReturnType<OrderAccess['lock']>>>;

export interface Fulfillment {
  id: string;
  orderId: string;
  items: ShippedItem[];
  carrier: string;
  trackingNumber: string;
  createdAt: string;
}

export interface Return {
  id: string;
  orderId: string;
  status: ReturnRow['status'];
  items: ItemQuantity[];
  reason: string;
  refund?: { amount: number; currency: string };
  /** An exchange: the part of the refund that paid the replacements, as store credit. */
  storeCredit?: { amount: number; currency: string };
  /** An exchange: the order that ships the replacements. */
  replacementOrderId?: string;
  createdAt: string;
  receivedAt?: string;
}

/** A variant and how many of it: a replacement in an exchange. */
export interface ItemQuantityOfVariant {
  variantId: string;
  quantity: number;
}

/** The line's product name as the shopper saw it, for messages people read. */
const lineName = (order: LockedOrder, item: ItemQuantity) =>
  order.items.find((line) => line.id === item.orderItemId)?.name ?? 'this item';

const unitsLeft = (left: number, what: string, name: string) =>
  left === 0
    ? `Nothing of “${name}” is left ${what}`
    : `Only ${left} ${left === 1 ? 'unit' : 'units'} of “${name}” ${left === 1 ? 'is' : 'are'} left ${what}`;

/** Sums repeated lines and checks every one names an item of the order. */
function normalise(order: LockedOrder, items: ItemQuantity[]): ItemQuantity[] {
  const known = new Set(order.items.map((item) => item.id));
  const totals = new Map<string, number>();
  for (const item of items) {
    if (!known.has(item.orderItemId)) {
      throw badRequest('UNKNOWN_ORDER_ITEM', 'One of the items named is not part of this order');
    }
    totals.set(item.orderItemId, (totals.get(item.orderItemId) ?? 0) + item.quantity);
  }
  return [...totals].map(([orderItemId, quantity]) => ({ orderItemId, quantity }));
}

/** The order as the pricing function saw it: what each line cost after discount, with its tax. */
function pricedOrder(locked: LockedOrder) {
  return {
    lines: locked.items.map((item) => ({
      id: item.id,
      quantity: item.quantity,
      subtotal: item.lineAmount,
      discount: item.discountAmount,
      tax: item.taxAmount,
      total: lineCharge(
        { subtotal: item.lineAmount, discount: item.discountAmount, tax: item.taxAmount },
        locked.order.taxInclusive,
      ),
    })),
    shippingTotal: locked.order.shippingAmount,
    shippingTax: locked.order.shippingTaxAmount,
    taxInclusive: locked.order.taxInclusive,
  };
}

/** What fulfillment asks of payments: refunds for returns, and a shipment's capture. */
export interface FulfillmentPayments {
  refund(orderId: string, amount: number, key: string, signal?: AbortSignal): Promise<unknown>;
  captureShare(
    orderId: string,
    share: { amount: number; final: boolean; key: string },
    signal?: AbortSignal,
  ): Promise<{ amount: number }>;
}

/**
 * The provider said no to a capture (or the payment can no longer be captured): retrying will
 * not change it. Unavailable or timed out is not a refusal; recovery tries again.
 */
const isRefusal = (error: unknown) =>
  error instanceof DomainError &&
  ((error.status >= 400 && error.status < 500) || error.code === 'PAYMENT_PROVIDER_ERROR');

function toReturn(row: ReturnRow, items: ItemQuantity[], currency: string): Return {
  const result: Return = {
    id: row.id,
    orderId: row.orderId,
    status: row.status,
    items,
    reason: row.reason,
    createdAt: row.createdAt.toISOString(),
  };
  if (row.refundAmount !== null) result.refund = { amount: row.refundAmount, currency };
  if (row.receivedAt) result.receivedAt = row.receivedAt.toISOString();
  if (row.creditAmount !== null) result.storeCredit = { amount: row.creditAmount, currency };
  if (row.replacementOrderId) result.replacementOrderId = row.replacementOrderId;
  return result;
}

export function createFulfillmentService(deps: {
  db: Db;
  orders: OrderAccess;
  payments: FulfillmentPayments;
  inventory: Pick<InventoryService, 'restock' | 'soldFrom'>;
  /** Where an exchange's refund goes to pay its replacements. */
  storeCredit: { creditOnce(customerId: string, amount: Money, key: string, reason: string): Promise<void> };
  bus: Pick<EventBus, 'append' | 'nudge'>;
  logger: Logger;
  returnWindowDays: number;
  /** PAYMENTS_CAPTURE=on_shipment: each shipment captures its share before it counts as shipped. */
  captureOnShipment: boolean;
  /** A shipment still capturing after this long was cut off; recovery finishes it. */
  captureStaleAfterMs: number;
}) {
  const { db, orders } = deps;

  async function lockOrder(tx: Db, orderId: string): Promise<LockedOrder> {
    const locked = await orders.lock(tx, orderId);
    if (!locked) throw notFound('Order');
    return locked;
  }

  /**
   * Checks a shipment against the locked order: shippable now, and no more of any line than is
   * left. Answers the items (repeats summed), the units shipped before it, and whether it ships
   * the rest.
   */
  /**
   * Where each shipped item leaves from: the locations its units were sold from (the order's
   * committed reservations), past the units of it shipped before.
   */
  async function sourcesOf(
    tx: Db,
    locked: LockedOrder,
    items: ItemQuantity[],
    before: Map<string, number>,
  ): Promise<ShippedItem[]> {
    const soldFrom = await deps.inventory.soldFrom(locked.order.id, tx);
    return items.map((item) => {
      const variantId = locked.items.find((line) => line.id === item.orderItemId)!.variantId;
      let shippedBefore = before.get(item.orderItemId) ?? 0;
      let left = item.quantity;
      const from: ShipmentSource[] = [];
      for (const source of soldFrom.get(variantId) ?? []) {
        const gone = Math.min(shippedBefore, source.quantity);
        shippedBefore -= gone;
        const taken = Math.min(left, source.quantity - gone);
        left -= taken;
        if (taken > 0) from.push({ location: source.locationCode, quantity: taken });
      }
      return { ...item, from };
    });
  }

  async function planShipment(tx: Db, locked: LockedOrder, requested: ItemQuantity[]) {
    if (locked.order.status !== 'confirmed' && locked.order.status !== 'partially_shipped') {
      throw invalidState(`An order that is ${locked.order.status} cannot be shipped`);
    }
    // Locked, so a cancellation cannot begin now; one that began before keeps the goods home.
    if (locked.order.cancelling) throw invalidState('The order is being cancelled; it cannot ship');
    if (locked.order.chargingFulfillmentId)
      throw invalidState('Another shipment of this order is being charged; try again in a moment');
    const items = normalise(locked, requested);
    const before = await store.shippedByItem(tx, locked.order.id);
    const after = new Map(before);
    for (const item of items) {
      const ordered = locked.items.find((line) => line.id === item.orderItemId)!.quantity;
      const shipped = before.get(item.orderItemId) ?? 0;
      if (shipped + item.quantity > ordered) {
        throw conflict('OVER_FULFILLMENT', unitsLeft(ordered - shipped, 'to ship', lineName(locked, item)));
      }
      after.set(item.orderItemId, shipped + item.quantity);
    }
    const everything = locked.items.every((line) => (after.get(line.id) ?? 0) >= line.quantity);
    return { items, before, everything };
  }

  /**
   * The shipment counts: the order moves to partially_shipped or shipped and says so, with the
   * money it captured when capture waits for shipment. Runs under the order's lock.
   */
  async function markShipped(tx: Db, locked: LockedOrder, shipment: Fulfillment, captured?: number) {
    const shipped = await store.shippedByItem(tx, locked.order.id);
    const everything = locked.items.every((line) => (shipped.get(line.id) ?? 0) >= line.quantity);
    const status = everything ? 'shipped' : 'partially_shipped';
    await orders.setShipping(tx, locked.order, status);
    await deps.bus.append(tx, [
      fulfillmentEvent('order.shipped', locked.order, {
        status,
        fulfillmentId: shipment.id,
        carrier: shipment.carrier,
        trackingNumber: shipment.trackingNumber,
        items: shipment.items,
      }),
      ...(captured
        ? [
            fulfillmentEvent('payment.captured', locked.order, {
              amount: captured,
              currency: locked.order.currency,
              fulfillmentId: shipment.id,
            }),
          ]
        : []),
    ]);
  }

  /**
   * Takes a capturing shipment's money and ships it, once however often it runs (the request,
   * then recovery after a crash): the capture's key is the shipment's id. A refusal removes the
   * shipment and frees the order; the provider unavailable leaves it to recovery. Answers the
   * shipment, or undefined when it was no longer capturing.
   */
  async function finishCapture(
    fulfillmentId: string,
    signal?: AbortSignal,
  ): Promise<Fulfillment | undefined> {
    const pending = await store.capturing(db, fulfillmentId);
    if (!pending) return undefined;
    const shipment: Fulfillment = {
      id: pending.id,
      orderId: pending.orderId,
      items: pending.items,
      carrier: pending.carrier,
      trackingNumber: pending.trackingNumber,
      createdAt: pending.createdAt.toISOString(),
    };
    let captured = 0;
    if (pending.captureAmount > 0) {
      try {
        const share = { amount: pending.captureAmount, final: pending.captureFinal, key: fulfillmentId };
        captured = (await deps.payments.captureShare(pending.orderId, share, signal)).amount;
      } catch (error) {
        if (!isRefusal(error)) throw error;
        await transact(db, async (tx) => {
          await lockOrder(tx, pending.orderId);
          if (await store.dropCapturing(tx, fulfillmentId))
            await orders.release(tx, pending.orderId, fulfillmentId);
        });
        throw conflict(
          'CAPTURE_REFUSED',
          'The payment provider would not take the money for this shipment, so it was not recorded as shipped; check the order’s payment before the goods leave',
          { cause: error },
        );
      }
    }
    const done = await transact(db, async (tx) => {
      const locked = await lockOrder(tx, pending.orderId);
      if (!(await store.markShipped(tx, fulfillmentId))) return false;
      await orders.release(tx, pending.orderId, fulfillmentId);
      await markShipped(tx, locked, shipment, captured);
      return true;
    });
    if (!done) return undefined;
    deps.bus.nudge();
    return shipment;
  }

  const service = {
    /**
     * Ships some or all remaining units; the order becomes partially_shipped or shipped. With
     * capture on shipment the shipment is written `capturing` with its share of the payment (the
     * same cumulative share a return of those units refunds), holding the order; the capture
     * runs outside the transaction, and the shipment counts once the money is taken.
     */
    async ship(
      principal: Principal,
      orderId: string,
      input: { items: ItemQuantity[]; carrier: string; trackingNumber: string },
      signal?: AbortSignal,
    ): Promise<Fulfillment> {
      const started = await transact(db, async (tx) => {
        const locked = await lockOrder(tx, orderId);
        const planned = await planShipment(tx, locked, input.items);
        const { before, everything } = planned;
        const items = await sourcesOf(tx, locked, planned.items, before);
        const id = uuidv7();
        // Paid outside the shop: no payment to take a share of.
        const capture =
          deps.captureOnShipment && !locked.order.paidOffline
            ? {
                amount: shareOf(
                  pricedOrder(locked),
                  before,
                  new Map(items.map((item) => [item.orderItemId, item.quantity])),
                ),
                final: everything,
              }
            : undefined;
        const createdAt = await store.insertFulfillment(
          tx,
          {
            id,
            orderId,
            carrier: input.carrier,
            trackingNumber: input.trackingNumber,
            createdBy: principal.id,
            capture,
          },
          items,
        );
        const shipment: Fulfillment = {
          id,
          orderId,
          items,
          carrier: input.carrier,
          trackingNumber: input.trackingNumber,
          createdAt: createdAt.toISOString(),
        };
        if (capture) await orders.hold(tx, orderId, id);
        else await markShipped(tx, locked, shipment);
        return { shipment, capturing: capture !== undefined };
      });
      if (!started.capturing) {
        deps.bus.nudge();
        return started.shipment;
      }
      const shipped = await finishCapture(started.shipment.id, signal);
      // Recovery finished it first: it is shipped all the same.
      return shipped ?? started.shipment;
    },

    /**
     * Recovery: shipments still capturing past the request's deadline are finished (or given up
     * on a refusal). Answers how many it finished, so a provider that is down does not spin it.
     */
    async recoverCapturesOnce(limit = 20): Promise<number> {
      let finished = 0;
      for (const id of await store.stalledCaptures(db, deps.captureStaleAfterMs, limit)) {
        try {
          await finishCapture(id);
          finished += 1;
        } catch (error) {
          deps.logger.warn({ err: error, fulfillmentId: id }, 'a shipment’s capture could not be finished');
        }
      }
      return finished;
    },

    /** The owner asks to send shipped units back, within the return window. */
    async requestReturn(
      principal: Principal,
      orderId: string,
      input: { items: ItemQuantity[]; reason: string },
    ): Promise<Return> {
      return transact(db, async (tx) => {
        const locked = await lockOrder(tx, orderId);
        if (locked.order.userId !== principal.id) throw notFound('Order');
        if (locked.order.status !== 'shipped' && locked.order.status !== 'partially_shipped') {
          throw invalidState('Only shipped items can be returned');
        }
        const closesAt = locked.order.createdAt.getTime() + deps.returnWindowDays * 86_400_000;
        if (Date.now() > closesAt)
          throw conflict(
            'RETURN_WINDOW_CLOSED',
            `Returns close ${deps.returnWindowDays} days after the order`,
          );
        const items = normalise(locked, input.items);
        const shipped = await store.shippedByItem(tx, orderId);
        const returned = await store.returnedByItem(tx, orderId, ['requested', 'receiving', 'received']);
        for (const item of items) {
          const left = (shipped.get(item.orderItemId) ?? 0) - (returned.get(item.orderItemId) ?? 0);
          if (item.quantity > left)
            throw conflict('RETURN_EXCEEDS_SHIPPED', unitsLeft(left, 'to return', lineName(locked, item)));
        }
        const row = await store.insertReturn(
          tx,
          { id: uuidv7(), orderId, userId: principal.id, reason: input.reason },
          items,
        );
        return toReturn(row, items, locked.order.currency);
      });
    },

    /** What has shipped for an order, for its owner, staff, or the guest holding its Order-Token. */
    async fulfillmentsOf(viewer: OrderViewer, orderId: string): Promise<Fulfillment[]> {
      if (!(await orders.currencyIfVisible(viewer, orderId))) throw notFound('Order');
      return (await store.fulfillmentsOf(db, orderId)).map((row) => ({
        ...row,
        orderId,
        createdAt: row.createdAt.toISOString(),
      }));
    },

    /** The returns of an order, for its owner, staff, or the guest holding its Order-Token. */
    async returnsOf(viewer: OrderViewer, orderId: string): Promise<Return[]> {
      const currency = await orders.currencyIfVisible(viewer, orderId);
      if (!currency) throw notFound('Order');
      const rows = await store.returnsOf(db, orderId);
      const items = await store.itemsOfReturns(
        db,
        rows.map((row) => row.id),
      );
      return rows.map((row) => toReturn(row, items.get(row.id) ?? [], currency));
    },

    /** One return, for the owner of its order, staff, or the guest holding its order's Order-Token. */
    async getReturn(viewer: OrderViewer, returnId: string): Promise<Return> {
      const row = await store.returnById(db, returnId);
      const currency = row && (await orders.currencyIfVisible(viewer, row.orderId));
      if (!row || !currency) throw notFound('Return');
      return toReturn(row, await store.returnItems(db, returnId), currency);
    },

    /** Staff: returns newest first, e.g. those still `requested` (parcels on their way back). */
    async listReturns(query: {
      page: number;
      size: number;
      status?: ReturnRow['status'];
    }): Promise<{ items: Return[]; page: number; size: number; total: number }> {
      const { rows, total } = await store.listReturns(
        db,
        { status: query.status },
        { offset: (query.page - 1) * query.size, limit: query.size },
      );
      const ids = rows.map((row) => row.id);
      const [items, currencies] = await Promise.all([
        store.itemsOfReturns(db, ids),
        orders.currencies([...new Set(rows.map((row) => row.orderId))]),
      ]);
      return {
        items: rows.map((row) => toReturn(row, items.get(row.id) ?? [], currencies.get(row.orderId) ?? '')),
        page: query.page,
        size: query.size,
        total,
      };
    },

    /**
     * Staff receive a return: fix the refund under the order's lock (so two returns of one order
     * never share a rounding unit or the shipping), pay it with a key of this return, then put the
     * units back on hand. Receiving again after a crash resumes where it stopped.
     */
    async receive(returnId: string, signal?: AbortSignal): Promise<Return> {
      const found = await store.returnById(db, returnId);
      if (!found) throw notFound('Return');
      if (found.status === 'requested') await beginReceiving(found);
      return finishReceiving(returnId, signal);
    },

    /**
     * An exchange: the return is received, its refund pays replacement goods first (as store
     * credit, which the replacement order spends), and the difference is settled either way:
     * what the refund does not cover is charged to `paymentToken`, what it covers beyond them goes
     * back to the card. The replacements ship as the new order's fulfillment. `key` names the
     * attempt: repeating it answers the same order; after a declined card, a new key tries again.
     */
    async exchange(
      returnId: string,
      input: { replacements: ItemQuantityOfVariant[]; paymentToken?: string; key: string },
      signal?: AbortSignal,
    ): Promise<{ return: Return; order: Awaited<ReturnType<OrderAccess['placeReplacement']>> }> {
      const found = await store.returnById(db, returnId);
      if (!found) throw notFound('Return');
      if (found.status !== 'requested' && found.creditAmount === null)
        throw conflict(
          'RETURN_RECEIVED',
          'This return was received and refunded already: place a new order for the replacements',
        );
      const cart = await orders.priceReplacement(found.orderId, input.replacements);
      if (found.status === 'requested')
        await beginReceiving(found, cart.total.amount, input.paymentToken !== undefined);
      const received = await finishReceiving(returnId, signal);
      const placed = await orders.placeReplacement(
        found.orderId,
        input.key,
        cart,
        input.paymentToken,
        signal,
      );
      await store.setReplacement(db, returnId, placed.order.id);
      return { return: { ...received, replacementOrderId: placed.order.id }, order: placed };
    },
  };

  /**
   * Fixes a return's refund under the order's lock and begins receiving it. For an exchange whose
   * replacements cost `replacementTotal`, as much of the refund as they cost is store credit; a
   * rest they cost beyond the refund needs a card (`cardGiven`), checked before anything moves.
   */
  async function beginReceiving(found: ReturnRow, replacementTotal?: number, cardGiven = false) {
    await transact(db, async (tx) => {
      const locked = await lockOrder(tx, found.orderId);
      const already = await store.returnedByItem(tx, found.orderId, ['receiving', 'received']);
      const returning = new Map(
        (await store.returnItems(tx, found.id)).map((item) => [item.orderItemId, item.quantity]),
      );
      const refund = shareOf(pricedOrder(locked), already, returning);
      if (replacementTotal === undefined) {
        await store.startReceiving(tx, found.id, refund);
        return;
      }
      if (replacementTotal > refund && !cardGiven)
        throw badRequest(
          'PAYMENT_TOKEN_REQUIRED',
          `The replacements cost ${formatMoney({ amount: replacementTotal, currency: locked.order.currency })} and the return gives back ${formatMoney({ amount: refund, currency: locked.order.currency })}: charge the other ${formatMoney({ amount: replacementTotal - refund, currency: locked.order.currency })} to a card`,
        );
      await store.startReceiving(tx, found.id, refund, Math.min(refund, replacementTotal));
    });
  }

  /** Pays a receiving return's refund (to the card, and to store credit for an exchange), restocks, announces. */
  async function finishReceiving(returnId: string, signal?: AbortSignal): Promise<Return> {
    const receiving = (await store.returnById(db, returnId))!;
    if (receiving.status === 'receiving') {
      const credit = receiving.creditAmount ?? 0;
      const toCard = (receiving.refundAmount ?? 0) - credit;
      if (toCard > 0) await deps.payments.refund(receiving.orderId, toCard, `${returnId}:return`, signal);
      if (credit > 0) {
        const currency = (await orders.currencies([receiving.orderId])).get(receiving.orderId)!;
        await deps.storeCredit.creditOnce(
          receiving.userId,
          { amount: credit, currency },
          `${returnId}:exchange`,
          'Returned goods exchanged for replacements',
        );
      }
      await transact(db, async (tx) => {
        const locked = await lockOrder(tx, receiving.orderId);
        if (!(await store.finishReceiving(tx, returnId))) return;
        const items = await store.returnItems(tx, returnId);
        await orders.addRefund(tx, receiving.orderId, receiving.refundAmount ?? 0);
        const variantOf = new Map(locked.items.map((line) => [line.id, line.variantId]));
        await deps.inventory.restock(
          tx,
          receiving.orderId,
          items.map((item) => ({ variantId: variantOf.get(item.orderItemId)!, quantity: item.quantity })),
          'returned',
        );
        await deps.bus.append(tx, [
          fulfillmentEvent('order.returned', locked.order, {
            returnId,
            items,
            refund: { amount: receiving.refundAmount ?? 0, currency: locked.order.currency },
          }),
        ]);
      });
      deps.bus.nudge();
    }
    const done = (await store.returnById(db, returnId))!;
    const locked = await transact(db, (tx) => lockOrder(tx, done.orderId));
    return toReturn(done, await store.returnItems(db, returnId), locked.order.currency);
  }

  return service;
}

export type FulfillmentService = ReturnType<typeof createFulfillmentService>;
