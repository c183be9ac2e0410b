import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { dbKinds } from './support/db.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');

// A smoke test of the harness end to end (real server, baseline, autocannon, JSON report);
// the numbers are only checked for shape, never against thresholds.
describe.each(dbKinds)('npm run bench on %s', (kind) => {
  // Generous timeout: starting and seeding the server takes ~5 s, 20 s on a busy 2-core machine.
  it('measures the baseline and products.list and prints one JSON object', async () => {
    const env = { ...process.env };
    if (kind === 'pglite') delete env.DATABASE_URL;
    const { stdout } = await run(
      process.execPath,
      [
        'bench/run.ts',
        '--scenario',
        'baseline,products.list',
        '--duration',
        '1',
        '--connections',
        '4',
        '--json',
      ],
      { cwd: ROOT, env, timeout: 110_000 },
    );
    const report = JSON.parse(stdout);
    expect(report.baseline.rps).toBeGreaterThan(0);
    expect(report.scenarios).toHaveLength(1);
    const [list] = report.scenarios;
    expect(list.name).toBe('products.list');
    if (list.available) {
      expect(list).toMatchObject({
        rps: expect.any(Number),
        p50Ms: expect.any(Number),
        p99Ms: expect.any(Number),
        errors: expect.any(Number),
        ratio: expect.any(Number),
        sqlPerRequest: expect.any(Number),
      });
      expect(list.rps).toBeGreaterThan(0);
      // Counted by the server, not timed: a list page is two statements, and none once cached.
      expect(list.sqlPerRequest).toBeLessThanOrEqual(2);
    } else {
      expect(list.note).toMatch(/GET \/v1\/products/);
    }
  }, 120_000);
});
