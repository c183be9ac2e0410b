import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/shop.ts';
import { createLogger } from '../observability/logger.ts';
import { createMetrics } from '../observability/metrics.ts';
import { type Broadcast, createRedisBroadcast } from './redis.ts';

const redisUrl = process.env.REDIS_URL;

describe.runIf(redisUrl)('Redis broadcast', () => {
  const opened: Broadcast[] = [];
  afterEach(async () => {
    for (const broadcast of opened.splice(0)) await broadcast.close();
  });

  const open = (namespace: string) => {
    const broadcast = createRedisBroadcast({
      url: redisUrl as string,
      namespace,
      logger: createLogger('silent'),
      metrics: createMetrics(),
    });
    opened.push(broadcast);
    return broadcast;
  };

  const ready = (broadcast: Broadcast) =>
    eventually(
      () =>
        broadcast.ready().then(
          () => true,
          () => undefined,
        ),
      5_000,
      20,
    );

  it('reaches every instance on the namespace, the sender included, and no other namespace', async () => {
    const namespace = `emporium-test:${randomUUID()}:`;
    const [first, second, elsewhere] = [open(namespace), open(namespace), open(`${namespace}other:`)];
    const heard: Array<[string, unknown, string]> = [];
    for (const [name, broadcast] of [
      ['first', first],
      ['second', second],
      ['elsewhere', elsewhere],
    ] as const) {
      broadcast.subscribe('news', (message, sender) => heard.push([name, message, sender]));
      await ready(broadcast);
    }
    await first.publish('news', { hello: 'world' });
    await eventually(async () => (heard.length >= 2 ? true : undefined), 5_000, 10);
    expect(heard.sort()).toEqual([
      ['first', { hello: 'world' }, first.instanceId],
      ['second', { hello: 'world' }, first.instanceId],
    ]);
  });

  it('subscribes again after losing its connection to Redis', async () => {
    const namespace = `emporium-test:${randomUUID()}:`;
    const [sender, listener] = [open(namespace), open(namespace)];
    const heard: unknown[] = [];
    listener.subscribe('news', (message) => heard.push(message));
    await ready(listener);
    // Cut this listener's subscription connection (and only it) from the server side.
    const admin = new Redis(redisUrl as string);
    try {
      const clients = await admin.client('LIST');
      const line = String(clients)
        .split('\n')
        .find((entry) => entry.includes(`name=emporium-subscribe-${listener.instanceId}`));
      const id = line?.match(/\bid=(\d+)/)?.[1];
      expect(id).toBeDefined();
      await admin.client('KILL', 'ID', id as string);
    } finally {
      admin.disconnect();
    }
    // Messages sent while it reconnects are lost (pub/sub keeps nothing); one gets through after.
    await eventually(
      async () => {
        await sender.publish('news', 'after the cut');
        return heard.includes('after the cut') ? true : undefined;
      },
      10_000,
      50,
    );
    await listener.ready();
  });
});
