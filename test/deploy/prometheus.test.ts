import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { signIn } from '../support/auth.ts';
import { addToCart, checkout, createProduct, eventually } from '../support/shop.ts';
import { createTestSystem, type TestSystem } from '../support/system.ts';
import { freePort } from './processes.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const RULES = path.join(ROOT, 'deploy/prometheus/alerts.yml');
const RULE_TESTS = path.join(ROOT, 'deploy/prometheus/alerts.test.yml');
const DASHBOARD = path.join(ROOT, 'deploy/grafana/emporium.json');
// Debian's prometheus package; .ci/run installs it. Without it (a bare `npm test`) this suite is skipped.
const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const installed = existsSync(PROMETHEUS) && existsSync(PROMTOOL);

interface Panel {
  title: string;
  targets: Array<{ expr: string }>;
}

/** Every expression of the dashboard, with Grafana's variables as a live query would have them. */
async function dashboardQueries(): Promise<Array<{ panel: string; expr: string }>> {
  const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: Panel[] };
  return dashboard.panels.flatMap((panel) =>
    panel.targets.map((target) => ({
      panel: panel.title,
      expr: target.expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.*'),
    })),
  );
}

/** The metric names an expression reads (identifiers followed by a selector, range or space, minus PromQL's words). */
function metricNames(expr: string): string[] {
  const words = new Set([
    'sum',
    'max',
    'min',
    'by',
    'rate',
    'increase',
    'histogram_quantile',
    'clamp_min',
    'le',
    'job',
    'route',
    'status_code',
    'outcome',
    'operation',
    'consumer',
    'kind',
    'instance',
    'and',
    'or',
    'on',
  ]);
  const names = [...expr.matchAll(/\b([a-z_][a-z0-9_]*)\b\s*(?=\{|\[|\)|$|\s*[/>=<])/g)].map(
    (match) => match[1],
  );
  return [...new Set(names.filter((name) => !words.has(name) && name.includes('_') && !name.includes(':')))];
}

describe.skipIf(!installed)('Prometheus rules and the Grafana dashboard', () => {
  let system: TestSystem;
  let prometheus: ReturnType<typeof spawn> | undefined;
  let dir: string;
  let prometheusUrl: string;
  let exported: Set<string>;

  beforeAll(async () => {
    system = await createTestSystem('pglite');
    await system.app.listen({ port: 0, host: '127.0.0.1' });
    await system.startWorkers();
    const serverPort = (system.app.server.address() as AddressInfo).port;
    // Some traffic, so the request, SQL and checkout series have samples.
    const staff = await signIn(system, 'staff');
    const buyer = await signIn(system);
    const variant = await createProduct(system, staff);
    await addToCart(system, buyer, variant.variantId, 1);
    expect((await checkout(system, buyer)).statusCode).toBe(201);

    dir = await mkdtemp(path.join(tmpdir(), 'emporium-prometheus-'));
    const config = path.join(dir, 'prometheus.yml');
    await writeFile(
      config,
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: [${JSON.stringify(RULES)}]`,
        'scrape_configs:',
        '  - job_name: emporium',
        `    static_configs: [{ targets: ['127.0.0.1:${serverPort}'] }]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const text = await (await fetch(`http://127.0.0.1:${serverPort}/metrics`)).text();
    exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]));
  }, 60_000);

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await system?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function query(expr: string) {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await response.json()) as {
      status: string;
      error?: string;
      data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
  }

  it('promtool accepts the alert rules, and its unit tests prove the breaker, outbox-lag and error-rate alerts fire', async () => {
    const checked = await run(PROMTOOL, ['check', 'rules', RULES]);
    expect(checked.stdout).toMatch(/SUCCESS: \d+ rules found/);
    const tested = await run(PROMTOOL, ['test', 'rules', RULE_TESTS]);
    expect(tested.stdout).toContain('SUCCESS');
    // The rules cover what the issue names: RED, checkout (saga) failures, outbox lag, breaker, payment drift.
    const rules = parse(await readFile(RULES, 'utf8')) as {
      groups: Array<{ rules: Array<{ alert?: string }> }>;
    };
    const alerts = rules.groups.flatMap((group) =>
      group.rules.flatMap((rule) => (rule.alert ? [rule.alert] : [])),
    );
    expect(alerts).toEqual(
      expect.arrayContaining([
        'EmporiumHighErrorRate',
        'EmporiumSlowRequests',
        'EmporiumCheckoutFailures',
        'EmporiumOutboxLag',
        'EmporiumPaymentBreakerOpen',
        'EmporiumPaymentDrift',
      ]),
    );
  });

  it('scrapes the running server', async () => {
    const up = await eventually(
      async () => {
        const answer = await query('up{job="emporium"}').catch(() => undefined);
        const sample = answer?.data?.result[0];
        return sample?.value[1] === '1' ? sample : undefined;
      },
      30_000,
      250,
    );
    expect(up.metric.job).toBe('emporium');
    const requests = await eventually(async () => {
      const answer = await query('sum(http_request_duration_seconds_count{job="emporium"})');
      return Number(answer.data?.result[0]?.value[1] ?? 0) > 0 ? answer : undefined;
    }, 15_000);
    expect(requests.status).toBe('success');
  });

  it('loads the rules and evaluates them on the scraped series', async () => {
    const rules = await eventually(async () => {
      const answer = (await (await fetch(`${prometheusUrl}/api/v1/rules`)).json()) as {
        data: { groups: Array<{ rules: Array<{ name: string; health: string; lastEvaluation: string }> }> };
      };
      const all = answer.data.groups.flatMap((group) => group.rules);
      return all.length > 0 && all.every((rule) => !rule.lastEvaluation.startsWith('0001')) ? all : undefined;
    }, 15_000);
    for (const rule of rules) expect(rule.health, rule.name).toBe('ok');
    // Each rule reads metrics the server exports (the broker's gauge only where a broker is configured).
    const file = parse(await readFile(RULES, 'utf8')) as {
      groups: Array<{ rules: Array<{ expr: string }> }>;
    };
    for (const rule of file.groups.flatMap((group) => group.rules)) {
      for (const name of metricNames(rule.expr)) {
        if (name === 'events_broker_connected') continue;
        const family = name.replace(/_(bucket|count|sum)$/, '');
        expect(exported.has(name) || exported.has(family), `${rule.expr}: ${name} is not on /metrics`).toBe(
          true,
        );
      }
    }
    // The SQL-per-request series of the recording rule and the alerts exists for the routes used.
    const perRoute = await query(
      'sum by (route) (rate(db_statements_total{job="emporium"}[1m])) / clamp_min(sum by (route) (rate(http_request_duration_seconds_count{job="emporium"}[1m])), 1e-9)',
    );
    expect(perRoute.status).toBe('success');
  });

  it('answers every query of the Grafana dashboard, each on metrics the server exports', async () => {
    const queries = await dashboardQueries();
    expect(queries.length).toBeGreaterThanOrEqual(10);
    for (const { panel, expr } of queries) {
      const answer = await query(expr);
      expect(answer.status, `${panel}: ${answer.error}`).toBe('success');
      for (const name of metricNames(expr)) {
        // A histogram's series are <name>_bucket/_count/_sum of the one TYPE line.
        const family = name.replace(/_(bucket|count|sum)$/, '');
        expect(exported.has(name) || exported.has(family), `${panel}: ${name} is not on /metrics`).toBe(true);
      }
    }
    // A query Prometheus refuses is caught: the check is not a formality.
    expect((await query('sum by (route (rate(http_request_duration_seconds_count[1m]))')).status).toBe(
      'error',
    );
  });
});
