import pino, { type Logger } from 'pino';
import { currentTraceId } from './tracing.ts';

export type { Logger };

/** Paths whose values never reach a log line: credentials, tokens and secrets. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'password',
  '*.password',
  'refreshToken',
  '*.refreshToken',
  'accessToken',
  '*.accessToken',
  'token',
  '*.token',
  'secret',
  '*.secret',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'emporium' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      // Every line written inside a traced request names its trace, so logs and spans join up.
      mixin: () => {
        const traceId = currentTraceId();
        return traceId ? { traceId } : {};
      },
    },
    destination,
  );
}

/**
 * A logger whose lines go to stdout through an asynchronous buffered stream, for the server: a
 * synchronous write per request line costs more than the request. What is still buffered is
 * written synchronously when the process exits (process.exit included), so shutdown lines are kept.
 */
export function createServerLogger(level: string): Logger {
  const destination = pino.destination({ dest: 1, sync: false });
  process.once('exit', () => {
    try {
      destination.flushSync();
    } catch {
      // the stream never opened or was already closed: nothing buffered to lose
    }
  });
  return createLogger(level, destination);
}
