import { describe, expect, it } from 'vitest';
import { backgroundErrors } from './background.ts';
import { createLogger } from './logger.ts';
import { createMetrics } from './metrics.ts';

describe('errors handled in the background', () => {
  it('counts every one per component and logs the first of each 30 s window', async () => {
    const lines: Array<{ msg?: string; component?: string }> = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
    const metrics = createMetrics();
    const report = backgroundErrors(logger, metrics);
    const cache = report('cache');
    const pool = report('database pool');
    for (let attempt = 0; attempt < 5; attempt++) cache(new Error('connect ECONNREFUSED'));
    pool(new Error('terminating connection'));
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^background_errors_total\{component="cache"\} 5$/m);
    expect(text).toMatch(/^background_errors_total\{component="database pool"\} 1$/m);
    expect(lines.map((line) => line.component)).toEqual(['cache', 'database pool']);
  });
});
