import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { eventually } from '../../../test/support/shop.ts';
import { createTestSystem, moduleOf, type TestSystem } from '../../../test/support/system.ts';
import { cloudEvent } from '../../platform/events/index.ts';
import type { NotificationsModule } from './index.ts';
import type { SentNotification } from './store.ts';

describe.each(dbKinds)('order notification emails on %s', (kind) => {
  let system: TestSystem;
  let dataDir: string;
  afterEach(async () => {
    await system?.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function start(env: Record<string, string> = {}) {
    dataDir = await mkdtemp(path.join(tmpdir(), 'emporium-mail-'));
    system = await createTestSystem(kind, {
      DATA_DIR: dataDir,
      MAIL_FROM: 'Shop <shop@example.test>',
      ...env,
    });
    return moduleOf(system, 'notifications');
  }

  const mailDir = () => path.join(dataDir, 'mail');
  /** A written message with folded headers and quoted-printable soft line breaks undone. */
  const readMail = async (file: string) =>
    (await readFile(path.join(mailDir(), file), 'utf8')).replace(/\r?\n[ \t]+/g, ' ').replace(/=\r?\n/g, '');
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
    // The file is written inside the consumer's transaction; the log row shows when it committed.
    const confirmations = await logged(notifications, user.id, (entry) => entry.kind === 'order_confirmed');

    // The sign-up's welcome mail goes through the same outbox; this test is about the order's.
    const files = (await mailFiles()).filter((file) => file.endsWith('-order_confirmed.eml'));
    expect(files).toHaveLength(1);
    const eml = await readFile(path.join(mailDir(), files[0]), 'utf8');
    expect(eml).toContain(`To: ${user.email}`);
    expect(eml).toContain('From: Shop <shop@example.test>');
    expect(eml).toContain('Subject: Your order 000000c1 is confirmed');
    expect(eml).toContain('Content-Type: text/plain');
    expect(eml).toContain('Content-Type: text/html');
    expect(eml).toContain('=E2=82=AC1,234.56');
    expect(confirmations).toMatchObject([{ recipient: user.email, transport: 'file' }]);
  });

  it('mails a cancellation once even when the event is delivered twice', async () => {
    const notifications = await start();
    const user = await signIn(system);
    const orderId = '01936d4e-0000-7000-8000-0000000000c2';
    const event = cloudEvent('/emporium/ordering', 'order.cancelled', orderId, {
      orderId,
      userId: user.id,
      status: 'cancelled',
      reason: 'payment_declined',
    });
    // Mail is signed with the shop's name as staff set it.
    const admin = await signIn(system, 'admin');
    await system.app.inject({
      method: 'PUT',
      url: '/v1/store',
      headers: admin.headers,
      payload: { name: 'Harbour Goods' },
    });
    await notifications.handle(event);
    await notifications.handle(event);

    const files = await mailFiles();
    expect(files).toEqual([`${event.id}-order_cancelled.eml`]);
    const eml = await readFile(path.join(mailDir(), files[0]), 'utf8');
    expect(eml).toContain('Harbour Goods');
    expect(eml).not.toContain('Emporium');
    // The storefront's story after a declined card: declined, nothing charged, items back in the cart.
    expect(eml).toContain('Subject: Your order 000000c2 was not placed');
    expect(eml).toContain('Your card was declined');
    expect(eml).toContain('Nothing was charged. The items are back in your cart');
    // People read sentences, not reason codes.
    expect(eml).not.toContain('payment_declined');
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

    const partialMail = await readMail(`${partial.id}-order_shipped.eml`);
    expect(partialMail).toContain('Subject: Part of your order 000000c4 has shipped');
    expect(partialMail).toContain('Carrier: DHL, tracking number JD0001.');
    // The order is a link to its page, not an id to copy.
    expect(partialMail).toContain(
      `You can see your order at any time at http://127.0.0.1:3000/orders/${orderId}`,
    );
    expect(partialMail.replaceAll(`/orders/${orderId}`, '')).not.toContain(orderId);
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

  /** The mail sent to a user that `keep` selects, once there is some (the relay delivers on its own schedule). */
  const logged = (
    notifications: NotificationsModule,
    userId: string,
    keep: (entry: SentNotification) => boolean = () => true,
  ) =>
    eventually(
      async () => {
        const entries = (await notifications.sentTo(userId)).filter(
          (entry) => entry.status === 'sent' && keep(entry),
        );
        return entries.length > 0 ? entries : undefined;
      },
      10_000,
      50,
    );

  it('welcomes a new account: signing up over HTTP mails the address it registered', async () => {
    const notifications = await start();
    await system.startWorkers();
    const email = `new-${Date.now()}@example.test`;
    const registered = await system.app.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email, password: 'correct horse battery staple', name: 'New Customer' },
    });
    expect(registered.statusCode).toBe(201);
    const userId = registered.json().user.id as string;
    system.bus.nudge();

    const log = await logged(notifications, userId);
    expect(log).toMatchObject([{ kind: 'welcome', recipient: email }]);
    const eml = await readMail(`${log[0].eventId}-welcome.eml`);
    expect(eml).toContain(`To: ${email}`);
    expect(eml).toContain('Subject: Welcome to Emporium');
    expect(eml).toContain(`Your account ${email} is ready`);
  });

  it('tells the staff once when an item runs low, in one message to every staff and admin account', async () => {
    const notifications = await start();
    const staff = await signIn(system, 'staff');
    const admin = await signIn(system, 'admin');
    const customer = await signIn(system, 'customer');
    await system.startWorkers();
    const sku = `LOW-${Date.now()}`;
    const product = await system.app.inject({
      method: 'POST',
      url: '/v1/products',
      headers: staff.headers,
      payload: {
        name: 'Scarce lamp',
        variants: [{ sku, price: { amount: 4900, currency: 'EUR' }, stock: 20 }],
      },
    });
    expect(product.statusCode).toBe(201);
    // 20 → 4 crosses the default threshold of 5 once; 4 → 3 is still below it: no second alert.
    for (const delta of [-16, -1]) {
      const adjusted = await system.app.inject({
        method: 'POST',
        url: `/v1/inventory/${sku}/adjustments`,
        headers: staff.headers,
        payload: { delta, reason: 'sold in the shop' },
      });
      expect(adjusted.statusCode).toBe(201);
    }
    system.bus.nudge();

    const alerts = await logged(notifications, staff.id, (entry) => entry.kind === 'stock_low');
    expect(alerts).toHaveLength(1);
    const recipients = await notifications.sentFor(alerts[0].eventId);
    expect(recipients.map((entry) => entry.recipient).sort()).toEqual([admin.email, staff.email].sort());
    expect(recipients.map((entry) => entry.recipient)).not.toContain(customer.email);
    const eml = await readMail(`${alerts[0].eventId}-stock_low.eml`);
    expect(eml).toContain(`Subject: Low stock: ${sku} has 4 left`);
    expect(eml).toMatch(new RegExp(`To: (${staff.email}, ${admin.email}|${admin.email}, ${staff.email})`));
    expect((await mailFiles()).filter((file) => file.endsWith('-stock_low.eml'))).toHaveLength(1);
  });

  it('sends stock alerts to STOCK_ALERT_EMAILS when set, once even when the event is delivered twice', async () => {
    const notifications = await start({ STOCK_ALERT_EMAILS: 'ops@shop.example, buyer@shop.example' });
    const staff = await signIn(system, 'staff');
    const variantId = '01936d4e-0000-7000-8000-0000000000e1';
    const event = cloudEvent('/emporium/inventory', 'inventory.low', variantId, {
      variantId,
      sku: 'MUG-RED',
      available: 2,
      onHand: 3,
      reserved: 1,
      threshold: 5,
    });
    await notifications.handle(event);
    await notifications.handle(event);

    expect((await notifications.sentFor(event.id)).map((entry) => entry.recipient)).toEqual([
      'buyer@shop.example',
      'ops@shop.example',
    ]);
    expect(await notifications.sentTo(staff.id)).toEqual([]);
    expect(await mailFiles()).toEqual([`${event.id}-stock_low.eml`]);
    const eml = await readMail(`${event.id}-stock_low.eml`);
    expect(eml).toContain('To: ops@shop.example, buyer@shop.example');
    expect(eml).toContain('2 available (3 on hand, 1 reserved for orders)');
  });
});
