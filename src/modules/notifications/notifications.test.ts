import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { createTestSystem, type TestSystem, moduleOf } from '../../../test/support/system.ts';
import { cloudEvent } from '../../platform/events/index.ts';
import type { NotificationsModule } from './index.ts';

describe.each(dbKinds)('order notification emails on %s', (kind) => {
  let system: TestSystem;
  let dataDir: string;
  afterEach(async () => {
    await system?.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function start() {
    dataDir = await mkdtemp(path.join(tmpdir(), 'emporium-mail-'));
    system = await createTestSystem(kind, { DATA_DIR: dataDir, MAIL_FROM: 'Shop <shop@example.test>' });
    return moduleOf<NotificationsModule>(system, 'notifications');
  }

  const mailDir = () => path.join(dataDir, 'mail');
  const mailFiles = async () =>
    (await readdir(mailDir()).catch(() => [])).filter((file) => file.endsWith('.eml'));

  it('writes a confirmation email (text and HTML) for a confirmed order, through the outbox', async () => {
    const notifications = await start();
    const user = await signIn(system);
    const orderId = '01936d4e-0000-7000-8000-0000000000c1';
    await system.startWorkers();
    await system.bus.append(system.database.db, [
      cloudEvent('/emporium/ordering', 'order.created', orderId, {
        orderId,
        userId: user.id,
        status: 'pending',
      }),
      cloudEvent('/emporium/ordering', 'order.confirmed', orderId, {
        orderId,
        userId: user.id,
        status: 'confirmed',
        total: { amount: 123456, currency: 'EUR' },
      }),
    ]);
    system.bus.nudge();
    const deadline = Date.now() + 10_000;
    // The file is written inside the consumer's transaction; the log row shows when it committed.
    while ((await notifications.sentTo(user.id)).length === 0 && Date.now() < deadline) await sleep(50);

    const files = await mailFiles();
    expect(files).toHaveLength(1);
    const eml = await readFile(path.join(mailDir(), files[0]), 'utf8');
    expect(eml).toContain(`To: ${user.email}`);
    expect(eml).toContain('From: Shop <shop@example.test>');
    expect(eml).toContain('Subject: Your order 000000c1 is confirmed');
    expect(eml).toContain('Content-Type: text/plain');
    expect(eml).toContain('Content-Type: text/html');
    expect(eml).toContain('=E2=82=AC1,234.56');
    expect(await notifications.sentTo(user.id)).toMatchObject([
      { kind: 'order_confirmed', recipient: user.email, transport: 'file' },
    ]);
  });

  it('mails a cancellation once even when the event is delivered twice', async () => {
    const notifications = await start();
    const user = await signIn(system);
    const orderId = '01936d4e-0000-7000-8000-0000000000c2';
    const event = cloudEvent('/emporium/ordering', 'order.cancelled', orderId, {
      orderId,
      userId: user.id,
      status: 'cancelled',
      reason: 'payment declined',
    });
    await notifications.handle(event);
    await notifications.handle(event);

    const files = await mailFiles();
    expect(files).toEqual([`${event.id}-order_cancelled.eml`]);
    const eml = await readFile(path.join(mailDir(), files[0]), 'utf8');
    expect(eml).toContain('Subject: Your order 000000c2 was cancelled');
    expect(eml).toContain('payment declined');
    expect(await notifications.sentTo(user.id)).toHaveLength(1);
  });

  it('mails each shipment, partial and final, with carrier and tracking number', async () => {
    const notifications = await start();
    const user = await signIn(system);
    const orderId = '01936d4e-0000-7000-8000-0000000000c4';
    const shipment = (status: string, trackingNumber: string) =>
      cloudEvent('/emporium/fulfillment', 'order.shipped', orderId, {
        orderId,
        userId: user.id,
        status,
        carrier: 'DHL',
        trackingNumber,
      });
    const partial = shipment('partially_shipped', 'JD0001');
    const final = shipment('shipped', 'JD0002');
    await notifications.handle(partial);
    await notifications.handle(final);

    const partialMail = await readFile(path.join(mailDir(), `${partial.id}-order_shipped.eml`), 'utf8');
    expect(partialMail).toContain('Subject: Part of your order 000000c4 has shipped');
    expect(partialMail).toContain('Carrier: DHL, tracking number JD0001.');
    const finalMail = await readFile(path.join(mailDir(), `${final.id}-order_shipped.eml`), 'utf8');
    expect(finalMail).toContain('Subject: Your order 000000c4 has shipped');
    expect(finalMail).toContain('JD0002');
    expect(await notifications.sentTo(user.id)).toHaveLength(2);
  });

  it('mails the refund when a return is received', async () => {
    const notifications = await start();
    const user = await signIn(system);
    const orderId = '01936d4e-0000-7000-8000-0000000000c5';
    const event = cloudEvent('/emporium/fulfillment', 'order.returned', orderId, {
      orderId,
      userId: user.id,
      returnId: '01936d4e-0000-7000-8000-0000000000d5',
      refund: { amount: 1999, currency: 'EUR' },
    });
    await notifications.handle(event);

    const eml = await readFile(path.join(mailDir(), `${event.id}-order_returned.eml`), 'utf8');
    expect(eml).toContain('Subject: We received your return for order 000000c5');
    expect(eml).toContain('refunded =E2=82=AC19.99');
  });

  it('skips an event whose user has no address, without failing the consumer', async () => {
    const notifications = await start();
    await notifications.handle(
      cloudEvent('/emporium/ordering', 'order.confirmed', 'o', {
        orderId: '01936d4e-0000-7000-8000-0000000000c3',
        userId: '01936d4e-0000-7000-8000-0000000000ff',
        status: 'confirmed',
      }),
    );
    expect(await mailFiles()).toEqual([]);
  });
});
