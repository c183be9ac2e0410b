import Fastify from 'fastify';

/**
 * The yardstick: a bare Fastify server, in its own process like the real one, answering
 * GET /v1/products with the same JSON document the real server gave for products.list
 * (serialised on every request, as a route without a response schema would). The parent sends
 * `{body}` over IPC and gets `{port}` back; the server exits when the parent goes away.
 */
async function serve(body: string): Promise<number> {
  const document = JSON.parse(body) as unknown;
  const app = Fastify({ logger: false });
  app.get('/v1/products', async () => document);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

if (import.meta.main) {
  if (!process.send) {
    process.stderr.write('bench/baseline.ts is started by bench/run.ts (it needs an IPC channel)\n');
    process.exit(2);
  }
  process.once('message', (message: { body: string }) => {
    serve(message.body).then(
      (port) => process.send!({ port }),
      (error: Error) => {
        process.stderr.write(`${error.stack}\n`);
        process.exit(1);
      },
    );
  });
  process.once('disconnect', () => process.exit(0));
}
