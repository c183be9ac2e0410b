import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon, { type Options, type Result } from 'autocannon';
import { type Measurement, type Report, type ScenarioResult, toJson, toTable } from './report.ts';
import {
  BASELINE,
  type Counters,
  discoverCatalog,
  type Preparation,
  SCENARIOS,
  type Scenario,
  syntheticListBody,
} from './scenarios.ts';
import {
  type Child,
  killAllChildren,
  type RealServer,
  readCpuMs,
  sampleRss,
  startBaseline,
  startRealServer,
  stopAllChildren,
} from './server.ts';

const HELP = `Usage: npm run bench -- [options]

Starts the real server (node src/main.ts serve) on a free loopback port against a fresh embedded
PGlite directory (or a fresh database on DATABASE_URL's PostgreSQL; REDIS_URL is passed through),
seeds it, and measures each scenario with autocannon, alternating with a bare Fastify baseline.

  --scenario NAME   ${[BASELINE, ...SCENARIOS.map((scenario) => scenario.name)].join(', ')}
                    (repeatable or comma-separated; default: all). The baseline always runs.
  --duration S      seconds measured per run (default 10)
  --warmup S        seconds of unmeasured load before each run (default: min(2, duration))
  --connections N   concurrent connections (default 32)
  --products N      demo products to seed (default 1000)
  --json            print one JSON object on stdout instead of the table
  --profile         write a V8 CPU profile of the server to bench/results/profiles/ (open it in
                    Chrome DevTools); profiling slows the server, so compare CPU ms/req only
                    between profiled runs
  -h, --help        this text

Results are also saved to bench/results/<timestamp>.json.`;

const RESULTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
const SETUP_BUDGET_MS = 300_000;
const PER_RUN_SLACK_MS = 30_000;
/** A request without an answer after this long counts as an error (a timeout). */
const REQUEST_TIMEOUT_S = 10;

interface Settings {
  scenarios: Scenario[];
  durationS: number;
  warmupS: number;
  connections: number;
  products: number;
  json: boolean;
  profile: boolean;
}

class UsageError extends Error {}

function number(
  raw: string | undefined,
  flag: string,
  fallback: number,
  integer: boolean,
  min: number,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new UsageError(`${flag} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got "${raw}"`);
  }
  return value;
}

function parseSettings(argv: string[]): Settings | undefined {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string', multiple: true },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        connections: { type: 'string' },
        products: { type: 'string' },
        json: { type: 'boolean' },
        profile: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return undefined;
  const names = ((values.scenario as string[] | undefined) ?? [])
    .flatMap((value) => value.split(','))
    .map((name) => name.trim())
    .filter(Boolean);
  const known = new Set([BASELINE, ...SCENARIOS.map((scenario) => scenario.name)]);
  const unknown = names.filter((name) => !known.has(name));
  if (unknown.length)
    throw new UsageError(`unknown scenario ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  const durationS = number(values.duration as string | undefined, '--duration', 10, false, 0.5);
  return {
    scenarios: names.length ? SCENARIOS.filter((scenario) => names.includes(scenario.name)) : [...SCENARIOS],
    durationS,
    warmupS: number(values.warmup as string | undefined, '--warmup', Math.min(2, durationS), false, 0),
    connections: number(values.connections as string | undefined, '--connections', 32, true, 1),
    products: number(values.products as string | undefined, '--products', 1000, true, 1),
    json: Boolean(values.json),
    profile: Boolean(values.profile),
  };
}

const progress = {
  active: false,
  show(line: string) {
    if (!process.stderr.isTTY) return;
    process.stderr.write(`\r\x1b[K${line}`);
    this.active = true;
  },
  /** A line that stays (on a TTY it replaces the live one). */
  log(line: string) {
    process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${line}\n` : `${line}\n`);
    this.active = false;
  },
};

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

interface Fire {
  label: string;
  url: string;
  /** The process whose RSS is sampled. */
  pid: number;
  options: Omit<Options, 'url' | 'duration'>;
  counters: Counters;
  seconds: number;
  connections: number;
}

/** One autocannon run with a live progress line; latencies are kept at sub-millisecond resolution. */
async function fire(run: Fire): Promise<Measurement> {
  let latencies = new Float64Array(1 << 16);
  let responses = 0;
  let lastResponses = 0;
  const rss = sampleRss(run.pid);
  const dbBefore = dbWork(await scrape(run.url));
  const cpuBefore = await readCpuMs(run.pid);
  const started = performance.now();
  let result: Result;
  const ticker = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    const rate = (responses - lastResponses) * 4;
    lastResponses = responses;
    progress.show(
      `${run.label}  ${Math.min(elapsed, run.seconds).toFixed(1)}/${run.seconds} s  ` +
        `${rate.toFixed(0)} req/s  RSS ${(rss.current() / 2 ** 20).toFixed(0)} MB`,
    );
  }, 250);
  try {
    result = await new Promise<Result>((resolve, reject) => {
      const instance = autocannon(
        {
          ...run.options,
          url: run.url,
          connections: run.connections,
          duration: run.seconds,
          timeout: REQUEST_TIMEOUT_S,
        },
        (error, value) => (error ? reject(error) : resolve(value)),
      );
      instance.on('response', (_client, _status, _bytes, ms) => {
        if (responses === latencies.length) {
          const grown = new Float64Array(latencies.length * 2);
          grown.set(latencies);
          latencies = grown;
        }
        latencies[responses++] = ms;
      });
    });
  } finally {
    clearInterval(ticker);
    await rss.stop();
  }
  const cpuAfter = await readCpuMs(run.pid);
  const metrics = await scrape(run.url);
  const eventLagS = eventLag(metrics);
  const dbAfter = dbWork(metrics);
  const durationS = (performance.now() - started) / 1000;
  const sorted = latencies.subarray(0, responses).sort();
  const statuses: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats)) {
    if (!status.startsWith('2')) statuses[status] = count;
  }
  return {
    rps: responses / durationS,
    requests: responses,
    durationS,
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statuses,
    rssPeakMb: rss.peak() / 2 ** 20,
    cpuMs: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
    eventLagS,
    db:
      dbBefore && dbAfter
        ? {
            statements: dbAfter.statements - dbBefore.statements,
            transactions: dbAfter.transactions - dbBefore.transactions,
          }
        : undefined,
    counters: { ...run.counters },
  };
}

/** The server's /metrics text, read right after a run; undefined for a target without it (the baseline). */
async function scrape(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
    return response.ok ? await response.text() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The age of the oldest event not yet handed to its consumers, from events_outbox_lag_seconds:
 * work the run caused but did not wait for.
 */
function eventLag(metrics: string | undefined): number | undefined {
  const match = metrics && /^events_outbox_lag_seconds (\S+)$/m.exec(metrics);
  return match ? Number(match[1]) : undefined;
}

/** The statements and transactions the server has counted for requests so far, over every route. */
function dbWork(metrics: string | undefined): { statements: number; transactions: number } | undefined {
  if (!metrics?.includes('db_statements_total')) return undefined;
  const total = (name: string) => {
    let sum = 0;
    for (const match of metrics.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'gm')))
      sum += Number(match[1]);
    return sum;
  };
  return { statements: total('db_statements_total'), transactions: total('db_transactions_total') };
}

/** Warm up, then measure. */
async function measure(
  settings: Settings,
  label: string,
  target: Child,
  options: (counters: Counters) => Omit<Options, 'url' | 'duration'>,
): Promise<Measurement> {
  const base = { url: target.url, pid: target.pid, connections: settings.connections };
  if (settings.warmupS > 0) {
    const counters: Counters = {};
    await fire({
      ...base,
      label: `${label} warm-up`,
      options: options(counters),
      counters,
      seconds: settings.warmupS,
    });
  }
  const counters: Counters = {};
  const measurement = await fire({
    ...base,
    label,
    options: options(counters),
    counters,
    seconds: settings.durationS,
  });
  progress.log(
    `${label}: ${measurement.rps.toFixed(0)} req/s, p99 ${measurement.p99Ms.toFixed(2)} ms, ` +
      `${measurement.errors} errors, ${measurement.non2xx} non-2xx`,
  );
  return measurement;
}

async function bench(settings: Settings): Promise<Report> {
  const startedAt = new Date().toISOString();
  const loadBefore = os.loadavg()[0];
  progress.log(
    `starting the server (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}, seeding ${settings.products} products)…`,
  );
  const server: RealServer = await startRealServer({
    products: settings.products,
    readyTimeoutMs: SETUP_BUDGET_MS,
    nodeArgs: settings.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(RESULTS_DIR, 'profiles')}`] : [],
  });
  let serverExit: string | undefined;
  server.process.once('exit', (code, signal) => {
    serverExit = `the server exited during the run (code ${code}, signal ${signal})\n${server.stderrTail()}`;
  });
  progress.log(`server ready in ${server.startupMs} ms (pid ${server.pid}); reading the catalog…`);
  const catalog = await discoverCatalog(server.url);
  const baseline = await startBaseline(catalog.listBody ?? syntheticListBody());

  const target = { url: server.url, connections: settings.connections, catalog };
  const prepared: Array<{ scenario: Scenario; preparation: Preparation }> = [];
  for (const scenario of settings.scenarios) {
    progress.show(`preparing ${scenario.name}…`);
    prepared.push({ scenario, preparation: await scenario.prepare(target) });
  }

  const baselineOptions = () => ({ requests: [{ method: 'GET', path: '/v1/products' }] });
  const available = prepared.filter(({ preparation }) => preparation.available);
  const totalRuns = available.length * 2 + 1;
  let runNumber = 0;
  const label = (name: string) => `[${++runNumber}/${totalRuns}] ${name}`;

  const baselineRuns = [await measure(settings, label(BASELINE), baseline, baselineOptions)];
  const scenarios: ScenarioResult[] = [];
  for (const { scenario, preparation } of prepared) {
    const result: ScenarioResult = {
      name: scenario.name,
      description: scenario.description,
      available: preparation.available,
      note: preparation.note,
    };
    scenarios.push(result);
    if (!preparation.available) {
      progress.log(`${scenario.name}: unavailable (${preparation.note})`);
      continue;
    }
    result.measurement = await measure(settings, label(scenario.name), server, preparation.options);
    if (serverExit) throw new Error(serverExit);
    const before = baselineRuns[baselineRuns.length - 1];
    const after = await measure(settings, label(BASELINE), baseline, baselineOptions);
    baselineRuns.push(after);
    result.baselineRps = (before.rps + after.rps) / 2;
  }

  const cpus = os.cpus();
  return {
    startedAt,
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? 'unknown',
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      node: process.versions.node,
      platform: `${os.platform()} ${os.release()}`,
      loadAverage: { before: loadBefore, after: os.loadavg()[0] },
    },
    settings: {
      durationS: settings.durationS,
      warmupS: settings.warmupS,
      connections: settings.connections,
      products: settings.products,
    },
    server: {
      database: server.database,
      redis: Boolean(process.env.REDIS_URL),
      logLevel: process.env.LOG_LEVEL || 'info',
      startupMs: server.startupMs,
      pid: server.pid,
      catalogTotal: catalog.total,
    },
    baselineRuns,
    scenarios,
  };
}

async function main(argv: string[]): Promise<number> {
  let settings: Settings | undefined;
  try {
    settings = parseSettings(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n\n${HELP}\n`);
    return 2;
  }
  if (!settings) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const runs = settings.scenarios.length * 2 + 1;
  const budgetMs =
    SETUP_BUDGET_MS + runs * ((settings.warmupS + settings.durationS) * 1000 + PER_RUN_SLACK_MS);
  const deadline = setTimeout(() => {
    process.stderr.write(`\nbench: gave up after ${Math.round(budgetMs / 1000)} s\n`);
    void stopAllChildren().finally(() => process.exit(1));
  }, budgetMs);
  deadline.unref();

  try {
    const report = await bench(settings);
    const json = toJson(report);
    await mkdir(RESULTS_DIR, { recursive: true });
    const file = path.join(RESULTS_DIR, `${report.startedAt.replace(/[:.]/g, '-')}.json`);
    await writeFile(file, `${JSON.stringify(json, null, 2)}\n`);
    if (settings.json) process.stdout.write(`${JSON.stringify(json)}\n`);
    else process.stdout.write(`\n${toTable(report)}\n\nsaved ${path.relative(process.cwd(), file)}\n`);
    return 0;
  } finally {
    clearTimeout(deadline);
    if (progress.active) progress.log('');
    await stopAllChildren();
  }
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}, stopping the servers\n`);
    void stopAllChildren().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}
process.once('exit', killAllChildren);

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (error: Error) => {
    // After a signal, the failures of the servers being stopped are expected; the handler reports.
    if (interrupted) return;
    process.stderr.write(`bench: ${error.stack ?? error}\n`);
    await stopAllChildren();
    process.exit(1);
  },
);
