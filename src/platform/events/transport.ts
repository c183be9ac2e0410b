import type { PendingEvent } from './store.ts';
import type { CloudEvent } from './types.ts';

export type EventHandler = (event: CloudEvent) => Promise<void>;

export interface Subscription {
  consumer: string;
  types: readonly string[] | '*';
  handler: EventHandler;
  /**
   * false (default): a consumer group — each event is handled once by one instance of the
   * consumer. true: every running instance gets every event (e.g. pushing to its own sockets).
   */
  everyInstance: boolean;
}

export interface DispatchResult {
  /** Seqs handed over for good: handled in-process, or confirmed by the broker. */
  sent: number[];
  /** Events that failed this time; the relay counts the attempt and dead-letters after the last. */
  failed: Array<{ event: PendingEvent; error: Error }>;
}

/**
 * How the relay hands committed outbox events to consumers. It rejects when it cannot work at
 * all (a broker down): nothing is marked and the relay retries later.
 */
export interface EventTransport {
  readonly kind: 'in-process' | 'amqp';
  dispatch(
    events: PendingEvent[],
    subscriptions: readonly Subscription[],
    isLastAttempt: (event: PendingEvent) => boolean,
  ): Promise<DispatchResult>;
  /** Starts consuming for the subscriptions (a broker transport; in-process has nothing to do). */
  startConsumers(subscriptions: readonly Subscription[]): Promise<void>;
  stop(): Promise<void>;
  /** Rejects when the transport cannot deliver now (joins /readyz). */
  ready(): Promise<void>;
}

export function matches(subscription: Subscription, type: string): boolean {
  return subscription.types === '*' || subscription.types.includes(type);
}

/**
 * Calls every matching handler, at once: consumers are independent, and each is idempotent, so an
 * event that fails for one is retried for all. The first failure, in registration order, names
 * its consumer.
 */
export async function handleEvent(subscriptions: readonly Subscription[], event: CloudEvent): Promise<void> {
  const matching = subscriptions.filter((subscription) => matches(subscription, event.type));
  const outcomes = await Promise.allSettled(matching.map((subscription) => subscription.handler(event)));
  const failed = outcomes.findIndex((outcome) => outcome.status === 'rejected');
  if (failed === -1) return;
  const error = (outcomes[failed] as PromiseRejectedResult).reason as Error;
  throw new Error(`${matching[failed].consumer}: ${error?.message}`, { cause: error });
}

/** Subjects the in-process relay works on at once; each subject's events stay in seq order. */
const SUBJECT_CONCURRENCY = 16;

/**
 * The embedded default: the relay calls the subscribers itself. Each subject's events are handled
 * in seq order (order per aggregate), several subjects at a time, so one slow consumer call does
 * not hold back every other order's events. A failed event holds back later events of the same
 * subject but not other subjects. Every subscription runs in this process, so `everyInstance`
 * changes nothing here.
 */
export function inProcessTransport(): EventTransport {
  return {
    kind: 'in-process',
    async dispatch(events, subscriptions, isLastAttempt) {
      const result: DispatchResult = { sent: [], failed: [] };
      const subjects = [...Map.groupBy(events, (event) => event.subject).values()];
      let next = 0;
      const work = async () => {
        for (let queue = subjects[next++]; queue; queue = subjects[next++]) {
          for (const event of queue) {
            try {
              await handleEvent(subscriptions, event);
              result.sent.push(event.seq);
            } catch (error) {
              result.failed.push({ event, error: error as Error });
              // A dead-lettered event stops holding back its subject.
              if (!isLastAttempt(event)) break;
            }
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(SUBJECT_CONCURRENCY, subjects.length) }, work));
      return result;
    },
    startConsumers: async () => {},
    stop: async () => {},
    ready: async () => {},
  };
}
