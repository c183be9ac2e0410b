import type { Db } from '../../platform/db/index.ts';
import { notFound } from '../../platform/errors.ts';
import { orderStore as store } from './store.ts';

/** One thing that happened to an order, as its timeline shows it, oldest first. */
export type TimelineEntry =
  | { kind: 'event'; at: string; type: string; data: Record<string, unknown> }
  | { kind: 'note'; at: string; id: string; author: string; body: string }
  | { kind: 'email'; at: string; template: string; to: string; status: 'queued' | 'sent' | 'failed' }
  | {
      kind: 'webhook';
      at: string;
      eventType: string;
      url: string;
      endpointId: string;
      deliveryId: string;
      status: 'pending' | 'succeeded' | 'dead';
      attempts: number;
    };

export interface OrderNote {
  id: string;
  author: string;
  body: string;
  createdAt: string;
}

/**
 * Where an order's story is kept beyond ordering's tables, read through each owner's door: the
 * outbox (its events), notifications (the mail they caused) and webhooks (their deliveries).
 */
export interface TimelineSources {
  events(orderId: string): Promise<Array<{ id: string; type: string; time: string; data: unknown }>>;
  mail(eventIds: readonly string[]): Promise<
    Array<{
      eventId: string;
      kind: string;
      recipient: string;
      status: 'queued' | 'sent' | 'failed';
      sentAt: string | null;
    }>
  >;
  deliveries(eventIds: readonly string[]): Promise<
    Array<{
      id: string;
      eventType: string;
      url: string;
      endpointId: string;
      status: 'pending' | 'succeeded' | 'dead';
      createdAt: string;
      attempts: Array<{ at: string }>;
    }>
  >;
}

const toNote = (row: { id: string; author: string; body: string; createdAt: Date }): OrderNote => ({
  ...row,
  createdAt: row.createdAt.toISOString(),
});

/** Staff notes on orders, and each order's timeline: its events, mail, webhooks and notes in time order. */
export function createOrderTimeline(deps: {
  db: Db;
  sources: TimelineSources;
  staffName(id: string): Promise<string>;
}) {
  const { db, sources } = deps;
  const assertOrder = async (orderId: string) => {
    if (!(await store.byId(db, orderId))) throw notFound('Order');
  };

  return {
    async addNote(orderId: string, authorId: string, body: string): Promise<OrderNote> {
      await assertOrder(orderId);
      const authorName = await deps.staffName(authorId);
      return toNote(await store.addNote(db, { orderId, authorId, authorName, body: body.trim() }));
    },

    async of(orderId: string): Promise<TimelineEntry[]> {
      await assertOrder(orderId);
      const [events, notes] = await Promise.all([sources.events(orderId), store.notes(db, orderId)]);
      const eventIds = events.map((event) => event.id);
      const timeOf = new Map(events.map((event) => [event.id, event.time]));
      const [mail, deliveries] = await Promise.all([sources.mail(eventIds), sources.deliveries(eventIds)]);
      const entries: TimelineEntry[] = [
        ...events.map((event) => ({
          kind: 'event' as const,
          at: event.time,
          type: event.type,
          data: (event.data ?? {}) as Record<string, unknown>,
        })),
        ...notes.map((note) => ({
          kind: 'note' as const,
          at: note.createdAt.toISOString(),
          id: note.id,
          author: note.author,
          body: note.body,
        })),
        ...mail.map((sent) => ({
          kind: 'email' as const,
          // Mail still waiting for the server shows when its event happened.
          at: sent.sentAt ?? timeOf.get(sent.eventId)!,
          template: sent.kind,
          to: sent.recipient,
          status: sent.status,
        })),
        ...deliveries.map((delivery) => ({
          kind: 'webhook' as const,
          at: delivery.attempts.at(-1)?.at ?? delivery.createdAt,
          eventType: delivery.eventType,
          url: delivery.url,
          endpointId: delivery.endpointId,
          deliveryId: delivery.id,
          status: delivery.status,
          attempts: delivery.attempts.length,
        })),
      ];
      return entries.sort((a, b) => a.at.localeCompare(b.at));
    },
  };
}

export type OrderTimeline = ReturnType<typeof createOrderTimeline>;
