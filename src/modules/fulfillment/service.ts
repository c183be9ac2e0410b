import { type Db, transact } from '../../platform/db/index.ts';
import { badRequest, conflict, notFound } from '../../platform/errors.ts';
import type { EventBus } from '../../platform/events/index.ts';
import type { Principal } from '../../platform/http/auth.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { InventoryService } from '../inventory/index.ts';
import type { OrderingModule } from '../ordering/index.ts';
import { refundFor } from '../pricing/index.ts';
import { invalidState } from './errors.ts';
import { fulfillmentEvent } from './events.ts';
import { type ItemQuantity, type ReturnRow, fulfillmentStore as store } from './store.ts';

type OrderAccess = OrderingModule['service']['fulfillment'];
type LockedOrder = NonNullable<Awaited<ReturnType<OrderAccess['lock']>>>;

export interface Fulfillment {
  id: string;
  orderId: string;
  items: ItemQuantity[];
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
  createdAt: string;
  receivedAt?: string;
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
      total: item.lineAmount - item.discountAmount + item.taxAmount,
    })),
    shippingTotal: locked.order.shippingAmount,
    shippingTax: locked.order.shippingTaxAmount,
  };
}

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
  return result;
}

export function createFulfillmentService(deps: {
  db: Db;
  orders: OrderAccess;
  payments: { refund(orderId: string, amount: number, key: string, signal?: AbortSignal): Promise<unknown> };
  inventory: Pick<InventoryService, 'restock'>;
  bus: Pick<EventBus, 'append' | 'nudge'>;
  returnWindowDays: number;
}) {
  const { db, orders } = deps;

  async function lockOrder(tx: Db, orderId: string): Promise<LockedOrder> {
    const locked = await orders.lock(tx, orderId);
    if (!locked) throw notFound('Order');
    return locked;
  }

  return {
    /** Ships some or all remaining units; the order becomes partially_shipped or shipped. */
    async ship(
      principal: Principal,
      orderId: string,
      input: { items: ItemQuantity[]; carrier: string; trackingNumber: string },
    ): Promise<Fulfillment> {
      const fulfillment = await transact(db, async (tx) => {
        const locked = await lockOrder(tx, orderId);
        if (locked.order.status !== 'confirmed' && locked.order.status !== 'partially_shipped') {
          throw invalidState(`An order that is ${locked.order.status} cannot be shipped`);
        }
        // Locked, so a cancellation cannot begin now; one that began before keeps the goods home.
        if (locked.order.cancelling) throw invalidState('The order is being cancelled; it cannot ship');
        const items = normalise(locked, input.items);
        const shipped = await store.shippedByItem(tx, orderId);
        for (const item of items) {
          const ordered = locked.items.find((line) => line.id === item.orderItemId)!.quantity;
          if ((shipped.get(item.orderItemId) ?? 0) + item.quantity > ordered) {
            throw conflict(
              'OVER_FULFILLMENT',
              unitsLeft(ordered - (shipped.get(item.orderItemId) ?? 0), 'to ship', lineName(locked, item)),
            );
          }
          shipped.set(item.orderItemId, (shipped.get(item.orderItemId) ?? 0) + item.quantity);
        }
        const id = uuidv7();
        const createdAt = await store.insertFulfillment(
          tx,
          {
            id,
            orderId,
            carrier: input.carrier,
            trackingNumber: input.trackingNumber,
            createdBy: principal.id,
          },
          items,
        );
        const everything = locked.items.every((line) => (shipped.get(line.id) ?? 0) >= line.quantity);
        const status = everything ? 'shipped' : 'partially_shipped';
        await orders.setShipping(tx, locked.order, status);
        await deps.bus.append(tx, [
          fulfillmentEvent('order.shipped', locked.order, {
            status,
            fulfillmentId: id,
            carrier: input.carrier,
            trackingNumber: input.trackingNumber,
            items,
          }),
        ]);
        return {
          id,
          orderId,
          items,
          carrier: input.carrier,
          trackingNumber: input.trackingNumber,
          createdAt: createdAt.toISOString(),
        };
      });
      deps.bus.nudge();
      return fulfillment;
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

    /** What has shipped for an order, for its owner or staff. */
    async fulfillmentsOf(principal: Principal, orderId: string): Promise<Fulfillment[]> {
      if (!(await orders.currencyIfVisible(principal, orderId))) throw notFound('Order');
      return (await store.fulfillmentsOf(db, orderId)).map((row) => ({
        ...row,
        orderId,
        createdAt: row.createdAt.toISOString(),
      }));
    },

    /** The returns of an order, for its owner or staff. */
    async returnsOf(principal: Principal, orderId: string): Promise<Return[]> {
      const currency = await orders.currencyIfVisible(principal, orderId);
      if (!currency) throw notFound('Order');
      const rows = await store.returnsOf(db, orderId);
      const items = await store.itemsOfReturns(
        db,
        rows.map((row) => row.id),
      );
      return rows.map((row) => toReturn(row, items.get(row.id) ?? [], currency));
    },

    /** One return, for the owner of its order or staff. */
    async getReturn(principal: Principal, returnId: string): Promise<Return> {
      const row = await store.returnById(db, returnId);
      const currency = row && (await orders.currencyIfVisible(principal, row.orderId));
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
      if (found.status === 'requested') {
        await transact(db, async (tx) => {
          const locked = await lockOrder(tx, found.orderId);
          const already = await store.returnedByItem(tx, found.orderId, ['receiving', 'received']);
          const returning = new Map(
            (await store.returnItems(tx, returnId)).map((item) => [item.orderItemId, item.quantity]),
          );
          await store.startReceiving(tx, returnId, refundFor(pricedOrder(locked), already, returning));
        });
      }
      const receiving = (await store.returnById(db, returnId))!;
      if (receiving.status === 'receiving') {
        if (receiving.refundAmount)
          await deps.payments.refund(receiving.orderId, receiving.refundAmount, `${returnId}:return`, signal);
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
    },
  };
}

export type FulfillmentService = ReturnType<typeof createFulfillmentService>;
