import type { CompiledQuery, DatabaseConnection, Driver, QueryResult, TransactionSettings } from 'kysely';
import { currentDbWork, currentSignal } from '../context.ts';
import { isTracing, SpanKind, withSpan } from '../observability/tracing.ts';

/**
 * Wraps a driver so that no query starts once the current unit of work's signal has aborted
 * (deadline passed, client gone). A query already running finishes; the next one throws.
 * Inside a traced unit of work each query is also a client span; inside a counted one (an HTTP
 * request) each statement and transaction is counted, for the statement budgets and /metrics.
 */
export class SignalDriver implements Driver {
  readonly #inner: Driver;

  constructor(inner: Driver) {
    this.#inner = inner;
  }

  init(): Promise<void> {
    return this.#inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    currentSignal()?.throwIfAborted();
    return new SignalConnection(await this.#inner.acquireConnection());
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const work = currentDbWork();
    if (work) work.transactions++;
    return this.#inner.beginTransaction(unwrap(connection), settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#inner.commitTransaction(unwrap(connection));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#inner.rollbackTransaction(unwrap(connection));
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.#inner.releaseConnection(unwrap(connection));
  }

  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
}

class SignalConnection implements DatabaseConnection {
  readonly inner: DatabaseConnection;

  constructor(inner: DatabaseConnection) {
    this.inner = inner;
  }

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    currentSignal()?.throwIfAborted();
    // Begin and commit go through the driver, not here: a statement is one that reads or writes.
    const work = currentDbWork();
    if (work) work.statements++;
    if (!isTracing()) return this.inner.executeQuery<R>(compiled);
    // The statement text carries $n placeholders, never the parameter values.
    const operation = /^\s*(\w+)/.exec(compiled.sql)?.[1]?.toUpperCase() ?? 'QUERY';
    return withSpan(
      operation,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system': 'postgresql',
          'db.system.name': 'postgresql',
          'db.operation.name': operation,
          'db.query.text': compiled.sql,
        },
      },
      () => this.inner.executeQuery<R>(compiled),
    );
  }

  streamQuery<R>(compiled: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(compiled, chunkSize);
  }
}

function unwrap(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof SignalConnection ? connection.inner : connection;
}
