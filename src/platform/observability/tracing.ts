import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Attributes,
  type Context,
  type ContextManager,
  context,
  createContextKey,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';

export { SpanKind, SpanStatusCode };
export type TraceContext = Context;
export type { SpanExporter };
export type TraceSpan = Span;

/**
 * The OpenTelemetry context lives in its own AsyncLocalStorage; unlike the SDK's manager this one
 * can be re-entered (`enter`) where Fastify's body parsing loses the async context.
 */
class EnterableContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const manager = this;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(ctx, () => target.apply(this, args));
    } as T;
  }
  enter(ctx: Context): void {
    this.#storage.enterWith(ctx);
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

const contextManager = new EnterableContextManager();
let contextManagerInstalled = false;

/**
 * The tracer travels in the context beside the span: code deep below a traced request (the DB
 * driver, the payment client, saga steps) starts child spans without any wiring, and code outside
 * a traced unit of work pays one AsyncLocalStorage lookup and starts nothing.
 */
const TRACER_KEY = createContextKey('emporium.tracer');
/** W3C trace context (`traceparent`); set once tracing is first enabled. */
let propagator: TextMapPropagator | undefined;

export interface Tracing {
  /** False when no exporter is configured: no spans are created at all. */
  enabled: boolean;
  tracer: Tracer;
  /** Flushes and stops exporting. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP traces endpoint base (OTEL_EXPORTER_OTLP_ENDPOINT); absent means no export. */
  otlpEndpoint?: string;
  /** An exporter to use instead (tests pass an in-memory one); spans go to it synchronously. */
  exporter?: SpanExporter;
}

/** The SDK and exporter load only when tracing is on, so a server without it starts without them. */
export async function createTracing(options: TracingOptions): Promise<Tracing> {
  if (!options.exporter && !options.otlpEndpoint) {
    return { enabled: false, tracer: trace.getTracer('emporium'), shutdown: async () => {} };
  }
  const { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider } = await import(
    '@opentelemetry/sdk-trace'
  );
  const processors: SpanProcessor[] = [];
  if (options.exporter) processors.push(new SimpleSpanProcessor({ exporter: options.exporter }));
  if (options.otlpEndpoint) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    const url = `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces`;
    processors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }) }));
  }
  propagator ??= new (await import('@opentelemetry/core')).W3CTraceContextPropagator();
  if (!contextManagerInstalled) {
    context.setGlobalContextManager(contextManager);
    contextManagerInstalled = true;
  }
  const provider = new TracerProvider({ spanProcessors: processors });
  return {
    enabled: true,
    tracer: provider.getTracer(options.serviceName),
    shutdown: () => provider.shutdown(),
  };
}

/** Starts a server span for an incoming call, continuing the caller's `traceparent` when it sent one. */
export function startServerSpan(
  tracer: Tracer,
  name: string,
  headers: Record<string, string | string[] | undefined>,
  attributes: Attributes,
): { span: Span; context: Context } {
  const parent = propagator ? propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter) : ROOT_CONTEXT;
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  return { span, context: trace.setSpan(parent, span).setValue(TRACER_KEY, tracer) };
}

/** Runs `fn` inside `ctx` (a context from startServerSpan). */
export function runInTraceContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

/** Runs `fn` outside any trace: background work started by a request is not part of it. */
export function outsideTrace<T>(fn: () => T): T {
  return contextManagerInstalled ? context.with(ROOT_CONTEXT, fn) : fn();
}

/** Re-enters `ctx` for the rest of the current synchronous run and what it awaits. */
export function enterTraceContext(ctx: Context): void {
  contextManager.enter(ctx);
}

/** True inside a traced unit of work: hot paths check this before building span attributes. */
export function isTracing(): boolean {
  return activeTracer() !== undefined;
}

function activeTracer(): Tracer | undefined {
  return contextManagerInstalled ? (context.active().getValue(TRACER_KEY) as Tracer | undefined) : undefined;
}

/**
 * Runs `fn` in a child span of the active one; without an active trace it just runs `fn`.
 * A thrown error marks the span failed and is rethrown unchanged.
 */
export async function withSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes },
  fn: () => Promise<T>,
): Promise<T> {
  const tracer = activeTracer();
  if (!tracer) return fn();
  const span = tracer.startSpan(name, options);
  try {
    return await context.with(trace.setSpan(context.active(), span), fn);
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

/** Adds `traceparent` (and `tracestate`) for the active span to outbound request headers. */
export function injectTraceHeaders(headers: Record<string, string>): Record<string, string> {
  if (propagator && activeTracer()) propagator.inject(context.active(), headers, defaultTextMapSetter);
  return headers;
}

/** The active trace's id, for log lines; undefined outside a trace. */
export function currentTraceId(): string | undefined {
  if (!contextManagerInstalled) return undefined;
  const span = trace.getSpan(context.active());
  return span?.isRecording() ? span.spanContext().traceId : undefined;
}
