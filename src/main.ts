import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { startSandbox } from './modules/payments/index.ts';
import { migrate, openDatabase } from './platform/db/index.ts';
import { DomainError } from './platform/errors.ts';
import { createLogger, createServerLogger } from './platform/observability/logger.ts';
import { createSystem, prepareShop, seedDemoShop } from './system.ts';

const HELP: Record<string, string> = {
  main: `emporium — commerce backend

Usage: emporium <command> [options]

Commands:
  serve          serve the HTTP API and run background workers
  migrate        apply pending database migrations and exit
  seed           load the demo catalog
  users create   create a user with a role
  psp-sandbox    run the sandbox payment provider on its own

Run "emporium <command> --help" for a command's options.
Configuration comes from the environment; see README.md.`,
  serve: `Usage: emporium serve [--role all|api|worker] [--port N]

  --role   all (default): API and workers in one process; api: HTTP only; worker: background work
           (recovery, outbox dispatch) with health and metrics endpoints
  --port   port to listen on (default: PORT or 3000)`,
  migrate: `Usage: emporium migrate

Applies pending migrations under an advisory lock and prints what it applied.`,
  seed: `Usage: emporium seed [--products N]

Loads a deterministic demo catalog of N products (default 1000) into an empty catalog.`,
  'psp-sandbox': `Usage: emporium psp-sandbox [--port N] [--host HOST]

Runs the sandbox payment provider (a stand-in for another company's PSP, state in memory) so
API instances can share it: point PAYMENTS_URL at it.
  --port   port to listen on (default 4010)
  --host   address to bind (default 127.0.0.1)`,
  users: `Usage: emporium users create --email EMAIL --password PASSWORD [--role customer|staff|admin] [--name NAME]`,
};

function fail(message: string): never {
  process.stderr.write(`emporium: ${message}\n`);
  process.exit(2);
}

export async function main(argv: string[]): Promise<void> {
  const command = argv[0];
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${HELP.main}\n`);
    return;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(`invalid configuration: ${error.message}`);
    throw error;
  }
  const rest = argv.slice(1);
  switch (command) {
    case 'serve':
      return serve(config, rest);
    case 'migrate':
      return runMigrate(config, rest);
    case 'seed':
      return runSeed(config, rest);
    case 'users':
      return runUsers(config, rest);
    case 'psp-sandbox':
      return runSandbox(rest);
    default:
      fail(`unknown command "${command}"; run "emporium --help"`);
  }
}

function parse<T extends Record<string, { type: 'string' | 'boolean' }>>(
  args: string[],
  options: T,
  help: string,
) {
  try {
    const parsed = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
    if ((parsed.values as { help?: boolean }).help) {
      process.stdout.write(`${help}\n`);
      process.exit(0);
    }
    return parsed;
  } catch (error) {
    fail(`${(error as Error).message}\n\n${help}`);
  }
}

/** What a person needs once the server is up: where the shop, console and API are, and who signs in. */
function readyLine(
  base: string,
  role: string,
  adminEmail: string | undefined,
  firstAdmin: { email: string; password: string } | undefined,
): string {
  if (role === 'worker') return `Emporium worker is running (health at ${base}/livez)`;
  const admin = adminEmail
    ? `console sign-in: ${adminEmail}`
    : firstAdmin
      ? `console sign-in: ${firstAdmin.email} with password ${firstAdmin.password} (shown this once; EMPORIUM_ADMIN_EMAIL and EMPORIUM_ADMIN_PASSWORD choose your own)`
      : 'console sign-in: an existing admin (EMPORIUM_ADMIN_EMAIL and EMPORIUM_ADMIN_PASSWORD set or reset one; "npm run cli -- users create" adds one)';
  return `Emporium is ready: shop ${base}/ · console ${base}/admin/ · API ${base}/v1 (docs ${base}/docs) · ${admin}`;
}

async function serve(config: Config, args: string[]): Promise<void> {
  const started = performance.now();
  const { values } = parse(args, { role: { type: 'string' }, port: { type: 'string' } }, HELP.serve);
  const role = (values.role as string | undefined) ?? config.role;
  if (!['all', 'api', 'worker'].includes(role)) fail(`--role must be all, api or worker, got "${role}"`);
  const port = values.port === undefined ? config.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    fail(`--port must be a port number, got "${values.port}"`);
  const effective: Config = { ...config, role: role as Config['role'], port };
  const logger = createServerLogger(config.logLevel);
  const system = await createSystem(effective, logger);
  const { firstAdmin } = await prepareShop(system, { firstAdmin: true });
  if (role !== 'api') await system.startWorkers();
  const address = await system.app.listen({ port, host: config.host });
  const grpcPort =
    role !== 'worker' && config.grpcPort > 0 ? await system.startGrpc(config.grpcPort) : undefined;
  logger.info(
    { address, grpcPort, role, database: system.database.kind },
    `ready in ${Math.round(performance.now() - started)} ms`,
  );
  // The log stays JSON on stdout; a person starting the server reads this one line on stderr.
  const listening = (system.app.server.address() as AddressInfo).port;
  const base = process.env.PUBLIC_URL ? config.publicUrl : `http://127.0.0.1:${listening}`;
  process.stderr.write(`${readyLine(base, role, config.adminEmail, firstAdmin)}\n`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
    const deadline = setTimeout(() => {
      logger.error(
        { timeoutMs: config.shutdownTimeoutMs },
        'shutdown deadline passed; exiting with requests unfinished',
      );
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    try {
      await system.close();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

async function runMigrate(config: Config, args: string[]): Promise<void> {
  parse(args, {}, HELP.migrate);
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  try {
    const report = await migrate(database.db);
    process.stdout.write(
      report.applied.length
        ? `applied ${report.applied.length} migration(s): ${report.applied.join(', ')}\n`
        : `nothing to apply (${report.alreadyApplied} already applied)\n`,
    );
  } finally {
    await database.close();
  }
}

async function runSeed(config: Config, args: string[]): Promise<void> {
  const { values } = parse(args, { products: { type: 'string' } }, HELP.seed);
  const products = values.products === undefined ? config.seedProducts : Number(values.products);
  if (!Number.isInteger(products) || products < 0) fail(`--products must be a non-negative integer`);
  const logger = createLogger(config.logLevel);
  const system = await createSystem(config, logger);
  try {
    const started = performance.now();
    const created = await seedDemoShop(system, products);
    process.stdout.write(`seeded ${created} products in ${Math.round(performance.now() - started)} ms\n`);
  } finally {
    await system.close();
  }
}

async function runSandbox(args: string[]): Promise<void> {
  const { values } = parse(args, { port: { type: 'string' }, host: { type: 'string' } }, HELP['psp-sandbox']);
  const port = values.port === undefined ? 4010 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    fail(`--port must be a port number, got "${values.port}"`);
  const sandbox = await startSandbox({ port, host: (values.host as string | undefined) ?? '127.0.0.1' });
  process.stdout.write(`payment sandbox listening on ${sandbox.url}\n`);
  const stop = () => void sandbox.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function runUsers(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parse(
    args,
    {
      email: { type: 'string' },
      password: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
    },
    HELP.users,
  );
  if (positionals[0] !== 'create') fail(`unknown users subcommand; ${HELP.users}`);
  if (!values.email || !values.password) fail(`--email and --password are required\n\n${HELP.users}`);
  const logger = createLogger(config.logLevel);
  const system = await createSystem(config, logger);
  let refused: DomainError | undefined;
  try {
    const user = await system.registry.identity.createUser({
      email: String(values.email),
      password: String(values.password),
      name: String(values.name ?? values.email),
      role: String(values.role ?? 'customer'),
    });
    process.stdout.write(`created user ${user.id} (${values.email}, ${values.role ?? 'customer'})\n`);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    refused = error;
  } finally {
    await system.close();
  }
  // A refused input (bad role, short password, taken email) is the operator's to fix: say so plainly.
  if (refused) fail(`cannot create the user: ${refused.message}`);
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`emporium: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
}
