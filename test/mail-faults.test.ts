import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { addToCart, checkout, createProduct, eventually } from './support/shop.ts';
import { createTestSystem, moduleOf, type TestSystem } from './support/system.ts';

/** A real SMTP server on loopback that can be told to hold every message it is handed. */
async function startMailServer(port = 0) {
  const received: string[] = [];
  let held = 0;
  let holding: Promise<void> | undefined;
  let release = () => {};
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', async () => {
        if (holding) {
          held++;
          await holding;
        }
        received.push(Buffer.concat(chunks).toString('utf8'));
        callback();
      });
    },
  });
  server.listen(port, '127.0.0.1');
  await once(server.server, 'listening');
  return {
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    received,
    held: () => held,
    /** From now on every message waits, its sender's socket open, until `letGo`. */
    hold() {
      holding = new Promise((resolve) => {
        release = resolve;
      });
    },
    letGo() {
      holding = undefined;
      release();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Accepts connections and never says a word: a mail server that hangs before its greeting. */
async function startSilentServer() {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => sockets.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => sockets.length,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe.each(dbKinds)('mail server faults on %s', (kind) => {
  let system: TestSystem | undefined;
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await system?.dispose();
    system = undefined;
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  const buy = async (staff: SignedInUser, buyer: SignedInUser) => {
    const variant = await createProduct(system!, staff, { stock: 5 });
    await addToCart(system!, buyer, variant.variantId);
    return checkout(system!, buyer);
  };

  it('a mail server that holds a message stalls only that mail: checkouts go on meanwhile', async () => {
    const mail = await startMailServer();
    cleanups.push(mail.close);
    // The wait is bounded by the timeout, which here is longer than the test: it really stalls.
    system = await createTestSystem(kind, { SMTP_URL: mail.url, SMTP_TIMEOUT_MS: '60000' });
    await system.startWorkers();
    const staff = await signIn(system, 'staff');
    const first = await signIn(system);
    const second = await signIn(system);

    mail.hold();
    expect((await buy(staff, first)).statusCode).toBe(201);
    await eventually(async () => (mail.held() > 0 ? true : undefined), 20_000, 20);

    // A mail send is in flight and unanswered. On PGlite's single connection a send inside a
    // transaction would block every request until the server answered; this checkout completes.
    const meanwhile = await buy(staff, second);
    expect(meanwhile.statusCode).toBe(201);
    expect(meanwhile.json().status).toBe('confirmed');

    mail.letGo();
    const notifications = moduleOf(system, 'notifications');
    const confirmed = await eventually(async () => {
      const entries = await notifications.sentTo(first.id);
      return entries.find((entry) => entry.kind === 'order_confirmed' && entry.status === 'sent');
    }, 20_000);
    expect(confirmed).toMatchObject({ recipient: first.email, transport: 'smtp' });
    expect(mail.received.some((message) => message.includes(`To: ${first.email}`))).toBe(true);
  });

  it('a mail server that never answers: the send times out, stays queued, and goes once a server answers', async () => {
    const silent = await startSilentServer();
    cleanups.push(silent.close);
    system = await createTestSystem(kind, {
      SMTP_URL: `smtp://127.0.0.1:${silent.port}`,
      SMTP_TIMEOUT_MS: '300',
      RECOVERY_INTERVAL_MS: '200',
    });
    await system.startWorkers();
    const staff = await signIn(system, 'staff');
    const buyer = await signIn(system);
    expect((await buy(staff, buyer)).statusCode).toBe(201);

    const queued = () =>
      sql<{ kind: string; status: string; attempts: number; last_error: string | null }>`
        select kind, status, attempts, last_error from mail_queue where recipients = ${buyer.email}`
        .execute(system!.database.db)
        .then((result) => result.rows);
    const waiting = await eventually(async () => {
      const rows = await queued();
      const order = rows.find((row) => row.kind === 'order_confirmed');
      return order && order.attempts > 0 ? order : undefined;
    }, 20_000);
    expect(waiting).toMatchObject({ status: 'queued' });
    expect(waiting.last_error).toMatch(/timeout|greeting/i);
    expect(silent.connections()).toBeGreaterThan(0);

    // The server comes back where it was: the delivery loop sends what waited, once.
    await silent.close();
    const mail = await startMailServer(silent.port);
    cleanups.push(mail.close);
    await eventually(async () => {
      const rows = await queued();
      return rows.length > 0 && rows.every((row) => row.status === 'sent') ? rows : undefined;
    }, 30_000);
    const confirmations = mail.received.filter(
      (message) =>
        message.includes(`To: ${buyer.email}`) && /Subject: Your order \S+ is confirmed/.test(message),
    );
    expect(confirmations).toHaveLength(1);
  });
});
