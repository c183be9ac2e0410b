import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { addToCart, checkout, createProduct, eventually } from '../../../test/support/shop.ts';
import { createTestSystem, moduleOf, type TestSystem } from '../../../test/support/system.ts';
import { PROTO_ROOT } from '../../platform/grpc/server.ts';

interface StockMessage {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
}

type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** A plain grpc-js client built from the same .proto file, as another team's service would. */
function connect(port: number): Client {
  const definition = protoLoader.loadSync('emporium/inventory/v1/inventory.proto', {
    includeDirs: [PROTO_ROOT],
    longs: Number,
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    emporium: { inventory: { v1: { InventoryService: grpc.ServiceClientConstructor } } };
  };
  const Service = loaded.emporium.inventory.v1.InventoryService;
  return new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Client;
}

function metadataOf(user?: SignedInUser): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (user) metadata.set('authorization', user.headers.authorization);
  return metadata;
}

describe.each(dbKinds)('gRPC inventory service on %s', (kind) => {
  let system: TestSystem;
  let client: Client;
  let staff: SignedInUser;
  let customer: SignedInUser;

  const call = <T>(
    method: string,
    request: object,
    user?: SignedInUser,
    options: grpc.CallOptions = {},
  ): Promise<T> =>
    new Promise((resolve, reject) =>
      client[method](request, metadataOf(user), options, (error: grpc.ServiceError | null, answer: T) =>
        error ? reject(error) : resolve(answer),
      ),
    );
  const failure = async (promise: Promise<unknown>) => {
    const error = (await promise.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (error: unknown) => error,
    )) as grpc.ServiceError;
    return { code: error.code, problem: error.metadata?.get('code')[0] };
  };

  beforeAll(async () => {
    system = await createTestSystem(kind);
    const port = await system.startGrpc(0);
    client = connect(port);
    staff = await signIn(system, 'staff');
    customer = await signIn(system);
  });
  afterAll(async () => {
    client.close();
    await system.dispose();
  });

  it('GetStock answers the level; an unknown SKU is NOT_FOUND', async () => {
    const product = await createProduct(system, staff, { stock: 7 });
    expect(await call('GetStock', { sku: product.sku }, staff)).toEqual({
      sku: product.sku,
      onHand: 7,
      reserved: 0,
      available: 7,
    });
    expect(await failure(call('GetStock', { sku: 'NO-SUCH-SKU' }, staff))).toEqual({
      code: grpc.status.NOT_FOUND,
      problem: 'NOT_FOUND',
    });
  });

  it('SetStock and AdjustStock: staff may, a customer is PERMISSION_DENIED, nobody UNAUTHENTICATED', async () => {
    const product = await createProduct(system, staff, { stock: 5 });
    const adjust = { sku: product.sku, delta: 3, reason: 'delivery' };
    expect(await call('AdjustStock', adjust, staff)).toMatchObject({ onHand: 8, available: 8 });
    expect(await call('SetStock', { sku: product.sku, onHand: 2 }, staff)).toMatchObject({ onHand: 2 });
    expect((await failure(call('AdjustStock', adjust, customer))).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await failure(call('AdjustStock', adjust))).code).toBe(grpc.status.UNAUTHENTICATED);
    const badToken = new grpc.Metadata();
    badToken.set('authorization', 'Bearer not.a.token');
    const rejected = await failure(
      new Promise((resolve, reject) =>
        client.GetStock({ sku: product.sku }, badToken, (error: Error | null, answer: unknown) =>
          error ? reject(error) : resolve(answer),
        ),
      ),
    );
    expect(rejected.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(await failure(call('AdjustStock', { ...adjust, delta: -100 }, staff))).toEqual({
      code: grpc.status.FAILED_PRECONDITION,
      problem: 'INVENTORY_CONFLICT',
    });
    expect((await failure(call('AdjustStock', { ...adjust, delta: 0 }, staff))).code).toBe(
      grpc.status.INVALID_ARGUMENT,
    );
    // The REST API sees what gRPC did: one service behind both.
    const rest = await system.app.inject({
      method: 'GET',
      url: `/v1/inventory/${product.sku}`,
      headers: staff.headers,
    });
    expect(rest.json()).toMatchObject({ onHand: 2 });
  });

  it('WatchStock streams the current level, then each change within a second', async () => {
    const product = await createProduct(system, staff, { stock: 4 });
    const received: StockMessage[] = [];
    const stream = client.WatchStock(
      { skus: [product.sku] },
      metadataOf(staff),
    ) as grpc.ClientReadableStream<StockMessage>;
    stream.on('data', (message: StockMessage) => received.push(message));
    const ended = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    await eventually(async () => (received.length === 1 ? true : undefined), 1000, 10);
    expect(received[0]).toMatchObject({ sku: product.sku, onHand: 4, available: 4 });

    let changedAt = Date.now();
    await call('AdjustStock', { sku: product.sku, delta: 6, reason: 'delivery' }, staff);
    await eventually(async () => (received.length === 2 ? true : undefined), 1000, 10);
    expect(Date.now() - changedAt).toBeLessThan(1000);
    expect(received[1]).toMatchObject({ onHand: 10, reserved: 0, available: 10 });

    // A checkout elsewhere (HTTP) reserves and sells: the watcher sees it too.
    const buyer = await signIn(system);
    await addToCart(system, buyer, product.variantId, 2);
    changedAt = Date.now();
    expect((await checkout(system, buyer)).statusCode).toBe(201);
    const sold = await eventually(
      async () => received.find((message) => message.onHand === 8 && message.reserved === 0),
      1000,
      10,
    );
    expect(sold.available).toBe(8);

    stream.cancel();
    expect((await ended).code).toBe(grpc.status.CANCELLED);
    const inventory = moduleOf(system, 'inventory');
    await eventually(
      async () => ((await inventory.grpc()).activeWatches() === 0 ? true : undefined),
      1000,
      10,
    );
  });

  it('honours deadlines: an expired call is DEADLINE_EXCEEDED and a watch ends at its deadline', async () => {
    const product = await createProduct(system, staff, { stock: 1 });
    const expired = await failure(
      call('GetStock', { sku: product.sku }, staff, { deadline: Date.now() - 1 }),
    );
    expect(expired.code).toBe(grpc.status.DEADLINE_EXCEEDED);

    const inventory = moduleOf(system, 'inventory');
    const started = Date.now();
    const stream = client.WatchStock({ skus: [product.sku] }, metadataOf(staff), {
      deadline: Date.now() + 300,
    }) as grpc.ClientReadableStream<StockMessage>;
    stream.on('data', () => {});
    const error = await new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    expect(error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await eventually(
      async () => ((await inventory.grpc()).activeWatches() === 0 ? true : undefined),
      1000,
      10,
    );
  });

  it('a watch of an unknown SKU ends NOT_FOUND; without a token UNAUTHENTICATED', async () => {
    for (const [user, code] of [
      [staff, grpc.status.NOT_FOUND],
      [undefined, grpc.status.UNAUTHENTICATED],
    ] as const) {
      const stream = client.WatchStock(
        { skus: ['NO-SUCH-SKU'] },
        metadataOf(user),
      ) as grpc.ClientReadableStream<StockMessage>;
      stream.on('data', () => {});
      const error = await new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
      expect(error.code).toBe(code);
    }
  });
});
