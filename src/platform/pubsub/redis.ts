import { Redis } from 'ioredis';
import { uuidv7 } from '../ids.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';

/**
 * Messages to every running instance (Redis pub/sub): fire and forget, so only for what a missed
 * message costs little (a push to a socket, a cache entry dropped early). Channels are named under
 * `namespace`, so systems on different databases sharing one Redis never hear each other.
 */
export interface Broadcast {
  /** This process's id; a message carries its sender's, so a handler can skip its own. */
  readonly instanceId: string;
  /** Sends to every subscribed instance, this one included; rejects when Redis is away. */
  publish(channel: string, message: unknown): Promise<void>;
  /** Registers a handler; the channel is subscribed at once and again after every reconnect. */
  subscribe(channel: string, handler: (message: unknown, sender: string) => void): void;
  /** Rejects unless subscribed now (joins /readyz). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

interface Envelope {
  sender: string;
  message: unknown;
}

export function createRedisBroadcast(options: {
  url: string;
  namespace: string;
  logger: Logger;
  metrics: Metrics;
}): Broadcast {
  const { url, namespace, logger, metrics } = options;
  const instanceId = uuidv7();
  const handlers = new Map<string, Array<(message: unknown, sender: string) => void>>();
  const received = metrics.counter('broadcast_messages_received_total', 'Broadcast messages received', [
    'channel',
  ]);
  const connected = metrics.gauge('broadcast_subscribed', '1 while subscribed to the broadcast channels');
  // Publishing fails fast while Redis is away (no offline queue): a late push is worth nothing.
  const publisher = new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    lazyConnect: true,
    connectionName: `emporium-publish-${instanceId}`,
  });
  // The subscriber reconnects with backoff forever and ioredis subscribes its channels again.
  const subscriber = new Redis(url, {
    maxRetriesPerRequest: null,
    connectTimeout: 2000,
    lazyConnect: true,
    autoResubscribe: true,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
    connectionName: `emporium-subscribe-${instanceId}`,
  });
  let subscribed = false;
  let closing = false;
  const subscribing = new Set<Promise<unknown>>();
  publisher.on('error', (error) => logger.debug({ err: error }, 'broadcast publisher: Redis error'));
  subscriber.on('error', (error) => logger.debug({ err: error }, 'broadcast subscriber: Redis error'));
  subscriber.on('close', () => {
    if (subscribed && !closing) logger.warn('broadcast subscription lost; reconnecting');
    subscribed = false;
    connected.set(0);
  });
  subscriber.on('ready', () => {
    // ioredis re-sends SUBSCRIBE before 'ready' fires, so the channels are live again here.
    subscribed = true;
    connected.set(1);
    logger.info({ channels: handlers.size }, 'broadcast subscribed');
  });
  subscriber.on('message', (channel: string, raw: string) => {
    const name = channel.slice(namespace.length);
    let envelope: Envelope;
    try {
      envelope = JSON.parse(raw) as Envelope;
    } catch (error) {
      logger.warn({ err: error, channel: name }, 'unreadable broadcast message dropped');
      return;
    }
    received.inc({ channel: name });
    for (const handler of handlers.get(name) ?? []) {
      try {
        handler(envelope.message, envelope.sender);
      } catch (error) {
        logger.warn({ err: error, channel: name }, 'broadcast handler failed');
      }
    }
  });
  void publisher.connect().catch(() => {});
  void subscriber.connect().catch(() => {});

  return {
    instanceId,
    async publish(channel, message) {
      await publisher.publish(namespace + channel, JSON.stringify({ sender: instanceId, message }));
    },
    subscribe(channel, handler) {
      const known = handlers.get(channel);
      if (known) {
        known.push(handler);
        return;
      }
      handlers.set(channel, [handler]);
      // Queued until connected; autoResubscribe repeats it after a reconnect.
      const done = subscriber
        .subscribe(namespace + channel)
        .catch((error) => logger.warn({ err: error, channel }, 'could not subscribe to a broadcast channel'))
        .finally(() => subscribing.delete(done));
      subscribing.add(done);
    },
    async ready() {
      if (!subscribed) throw new Error('not subscribed to the broadcast channels (Redis unreachable)');
      await Promise.all(subscribing);
    },
    async close() {
      closing = true;
      for (const client of [publisher, subscriber]) {
        if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
        else client.disconnect();
      }
    },
  };
}
