import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { addToCart, checkout, createProduct } from './support/shop.ts';
import { createTestSystem, moduleOf, type TestSystem } from './support/system.ts';

/**
 * Reconciliation: our payment ledger compared with the provider's. The sandbox is made to
 * disagree by moving money there directly, as a refund in a provider's dashboard would.
 */
describe.each(dbKinds)('payment reconciliation on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const reconcile = () => moduleOf(system, 'payments').service.reconcileOnce(1000);
  const drift = async () =>
    (await system.app.inject({ method: 'GET', url: '/v1/payments/drift', headers: staff.headers })).json()
      .items;
  async function paidOrder() {
    const variant = await createProduct(system, staff, { price: 2000 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId);
    return (await checkout(system, buyer)).json();
  }

  it('finds nothing while both ledgers agree, then the refund made behind our back, once', async () => {
    const agreeing = await paidOrder();
    const tampered = await paidOrder();
    await system.app.inject({
      method: 'POST',
      url: `/v1/orders/${agreeing.id}/refunds`,
      headers: staff.headers,
      payload: { amount: { amount: 500, currency: 'EUR' }, reason: 'scratched' },
    });
    expect(await reconcile()).toBeGreaterThanOrEqual(2);
    expect(
      (await drift()).filter((each: { orderId: string }) =>
        [agreeing.id, tampered.id].includes(each.orderId),
      ),
    ).toEqual([]);

    // Money moved at the provider without us: a refund straight at the sandbox.
    const [authorization] = system
      .sandbox!.ledger()
      .filter((entry) => entry.reference === tampered.id && entry.kind === 'authorize');
    const outside = await fetch(
      `${system.sandbox!.url}/v1/authorizations/${authorization!.authorizationId}/refunds`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ amount: 700 }),
      },
    );
    expect(outside.status).toBe(201);
    // Checked a moment ago: the next check comes when the interval has passed.
    expect(await reconcile()).toBe(0);
    await system.testDb.db
      .withTables<{ payments: { reconciled_at: Date | null } }>()
      .updateTable('payments')
      .set({ reconciled_at: null })
      .execute();
    const before = await driftCount(system);
    expect(await reconcile()).toBeGreaterThanOrEqual(2);
    const found = (await drift()).filter((each: { orderId: string }) => each.orderId === tampered.id);
    expect(found).toEqual([expect.objectContaining({ kind: 'refunded', ours: 0, theirs: 700 })]);
    expect(await driftCount(system)).toBe(before + 1);
    // Announced in the transaction that recorded it, for webhooks and alerting.
    const announced = () =>
      system.testDb.db
        .withTables<{ outbox: { type: string; subject: string; data: unknown } }>()
        .selectFrom('outbox')
        .select('data')
        .where('type', '=', 'payment.drift_found')
        .where('subject', '=', tampered.id)
        .execute();
    expect((await announced()).map((row) => row.data)).toEqual([
      { orderId: tampered.id, kind: 'refunded', ours: 0, theirs: 700, currency: 'EUR' },
    ]);
    // Found again next round: recorded and counted once.
    await system.testDb.db
      .withTables<{ payments: { reconciled_at: Date | null } }>()
      .updateTable('payments')
      .set({ reconciled_at: null })
      .execute();
    await reconcile();
    expect(await driftCount(system)).toBe(before + 1);
    expect(await announced()).toHaveLength(1);
  });
});

async function driftCount(system: TestSystem): Promise<number> {
  const text = await system.metrics.registry.metrics();
  return text
    .split('\n')
    .filter((line) => line.startsWith('emporium_payment_drift_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}
