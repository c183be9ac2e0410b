/** One measured run of a target (the real server's scenario or the baseline). */
export interface Measurement {
  rps: number;
  requests: number;
  durationS: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** The timeouts among `errors`. */
  timeouts: number;
  non2xx: number;
  /** Status code → count, for the non-2xx ones. */
  statuses: Record<string, number>;
  rssPeakMb: number;
  /** CPU time the measured process used during the run (undefined without /proc). */
  cpuMs: number | undefined;
  /** Age of the oldest undelivered event when the run ended (work deferred past it). */
  eventLagS: number | undefined;
  /** SQL statements and transactions the server counted for the run's requests (undefined: the baseline). */
  db: { statements: number; transactions: number } | undefined;
  counters: Record<string, number>;
}

export interface ScenarioResult {
  name: string;
  description: string;
  available: boolean;
  note?: string;
  measurement?: Measurement;
  /** The baseline's req/s this scenario is compared with: the runs just before and after it. */
  baselineRps?: number;
}

export interface Report {
  startedAt: string;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGb: number;
    node: string;
    platform: string;
    /** 1-minute load average before and after the run: other work on the machine skews the numbers. */
    loadAverage: { before: number; after: number };
  };
  settings: { durationS: number; warmupS: number; connections: number; products: number };
  server: {
    database: string;
    /** REDIS_URL was set (and passed to the server, which uses it where it supports Redis). */
    redis: boolean;
    logLevel: string;
    startupMs: number;
    pid: number;
    /** Products the catalog listed after start (0 when it has no catalog). */
    catalogTotal: number;
  };
  baselineRuns: Measurement[];
  scenarios: ScenarioResult[];
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/** The single JSON object `--json` prints and bench/results/ keeps. */
export function toJson(report: Report) {
  const baselineRps = report.baselineRuns.length ? mean(report.baselineRuns.map((run) => run.rps)) : 0;
  return {
    baseline: {
      rps: round(baselineRps, 0),
      runs: report.baselineRuns.map((run) => ({
        rps: round(run.rps, 0),
        p50Ms: round(run.p50Ms),
        p90Ms: round(run.p90Ms),
        p99Ms: round(run.p99Ms),
        errors: run.errors,
        non2xx: run.non2xx,
      })),
    },
    scenarios: report.scenarios.map((scenario) => {
      const run = scenario.measurement;
      if (!scenario.available || !run) {
        return { name: scenario.name, available: false, note: scenario.note ?? 'not measured' };
      }
      const ordersPerSec =
        run.counters.orders === undefined
          ? {}
          : { ordersPerSec: round(run.counters.orders / run.durationS, 1) };
      return {
        name: scenario.name,
        available: true,
        rps: round(run.rps, 0),
        ...ordersPerSec,
        p50Ms: round(run.p50Ms),
        p90Ms: round(run.p90Ms),
        p99Ms: round(run.p99Ms),
        errors: run.errors,
        timeouts: run.timeouts,
        non2xx: run.non2xx,
        statuses: run.statuses,
        rssPeakMb: round(run.rssPeakMb, 0),
        cpuMsPerRequest: run.cpuMs === undefined ? null : round(run.cpuMs / run.requests, 3),
        ...(run.cpuMs !== undefined && run.counters.orders
          ? { cpuMsPerOrder: round(run.cpuMs / run.counters.orders, 2) }
          : {}),
        ...(run.db
          ? {
              sqlPerRequest: round(run.db.statements / run.requests),
              transactionsPerRequest: round(run.db.transactions / run.requests),
            }
          : {}),
        ...(run.db && run.counters.orders
          ? {
              sqlPerOrder: round(run.db.statements / run.counters.orders, 1),
              transactionsPerOrder: round(run.db.transactions / run.counters.orders, 1),
            }
          : {}),
        ...(run.eventLagS !== undefined ? { eventLagS: round(run.eventLagS, 1) } : {}),
        baselineRps: round(scenario.baselineRps ?? 0, 0),
        ratio: scenario.baselineRps ? round(run.rps / scenario.baselineRps, 3) : null,
        ...(scenario.note ? { note: scenario.note } : {}),
      };
    }),
    machine: report.machine,
    settings: report.settings,
    server: report.server,
    startedAt: report.startedAt,
  };
}

function pad(cells: string[][]): string {
  const widths = cells[0].map((_, column) => Math.max(...cells.map((row) => row[column].length)));
  return cells
    .map((row) => `| ${row.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`)
    .map((line, index) =>
      index === 0 ? `${line}\n|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|` : line,
    )
    .join('\n');
}

/** Server CPU per request (per order for checkout): stays comparable on a busy machine. */
function cpuPerRequest(run: Measurement): string {
  if (run.cpuMs === undefined) return '-';
  const perRequest = (run.cpuMs / run.requests).toFixed(2);
  return run.counters.orders
    ? `${perRequest} (${(run.cpuMs / run.counters.orders).toFixed(1)}/order)`
    : perRequest;
}

/** Statements per request (per order for checkout): counted, so the same on any machine. */
function sqlPerRequest(run: Measurement): string {
  if (!run.db) return '-';
  const perRequest = (run.db.statements / run.requests).toFixed(1);
  return run.counters.orders
    ? `${perRequest} (${(run.db.statements / run.counters.orders).toFixed(1)}/order)`
    : perRequest;
}

/** A Markdown table: one row per scenario and per baseline run, then the unavailable scenarios. */
export function toTable(report: Report): string {
  const header = [
    'scenario',
    'req/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'errors',
    'non-2xx',
    'RSS peak MB',
    'CPU ms/req',
    'SQL/req',
    'vs baseline',
  ];
  const row = (name: string, run: Measurement, ratio: string) => [
    name,
    run.counters.orders === undefined
      ? run.rps.toFixed(0)
      : `${run.rps.toFixed(0)} (${(run.counters.orders / run.durationS).toFixed(0)} orders/s)`,
    run.p50Ms.toFixed(2),
    run.p90Ms.toFixed(2),
    run.p99Ms.toFixed(2),
    String(run.errors),
    run.non2xx === 0
      ? '0'
      : `${run.non2xx} (${Object.entries(run.statuses)
          .map(([status, count]) => `${status}×${count}`)
          .join(', ')})`,
    run.rssPeakMb.toFixed(0),
    cpuPerRequest(run),
    sqlPerRequest(run),
    ratio,
  ];
  const rows: string[][] = [header];
  report.baselineRuns.forEach((run, index) => {
    rows.push(row(`baseline #${index + 1}`, run, '1.00'));
  });
  for (const scenario of report.scenarios) {
    if (scenario.available && scenario.measurement) {
      const ratio = scenario.baselineRps ? (scenario.measurement.rps / scenario.baselineRps).toFixed(2) : '-';
      rows.push(row(scenario.name, scenario.measurement, ratio));
    }
  }
  const skipped = report.scenarios
    .filter((scenario) => !scenario.available)
    .map((scenario) => `- ${scenario.name}: unavailable (${scenario.note})`);
  const notes = report.scenarios
    .filter((scenario) => scenario.available && scenario.note)
    .map((scenario) => `- ${scenario.name}: ${scenario.note}`);
  // Events still waiting when a run ends are work it caused but did not pay for within it.
  for (const scenario of report.scenarios) {
    const lag = scenario.measurement?.eventLagS;
    if (lag !== undefined && lag >= 1) {
      notes.push(
        `- ${scenario.name}: the oldest undelivered event was ${lag.toFixed(1)} s old when the run ended (the event relay fell behind)`,
      );
    }
  }
  const { settings, server, machine } = report;
  const summary =
    `${settings.connections} connections, ${settings.durationS} s per run after ${settings.warmupS} s warm-up; ` +
    `server on ${server.database}${server.redis ? ' (REDIS_URL set)' : ''}, LOG_LEVEL=${server.logLevel}, ` +
    `${server.catalogTotal} products in the catalog; ${machine.cpus}× ${machine.cpuModel}, Node ${machine.node}; ` +
    `load average ${machine.loadAverage.before.toFixed(1)} before, ${machine.loadAverage.after.toFixed(1)} after`;
  return [summary, '', pad(rows), ...(skipped.length || notes.length ? ['', ...skipped, ...notes] : [])].join(
    '\n',
  );
}
