// A consumer process for the RabbitMQ fault tests: consumes the "effects" group until killed.
import { sql } from 'kysely';
import { openDatabase } from '../../src/platform/db/index.ts';
import { createAmqpTransport, createEventBus } from '../../src/platform/events/index.ts';
import { createLogger } from '../../src/platform/observability/logger.ts';
import { createMetrics } from '../../src/platform/observability/metrics.ts';

const { TEST_DATABASE_URL, AMQP_URL, TEST_EXCHANGE } = process.env;
if (!TEST_DATABASE_URL || !AMQP_URL || !TEST_EXCHANGE) throw new Error('missing test environment');

const database = await openDatabase({ url: TEST_DATABASE_URL, poolSize: 20 });
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const metrics = createMetrics();
const transport = createAmqpTransport({ url: AMQP_URL, exchange: TEST_EXCHANGE, logger, metrics });
const bus = createEventBus({ db: database.db, logger, metrics, transport });
bus.subscribe(
  'effects',
  ['load.tick'],
  bus.once('effects', async (tx, event) => {
    await sql`insert into effects (event_id) values (${event.id})`.execute(tx);
  }),
);
await bus.start({ relay: false });
process.stdout.write('consuming\n');
process.on('SIGTERM', async () => {
  await bus.stop();
  await database.close();
  process.exit(0);
});
