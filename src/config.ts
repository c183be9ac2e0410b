import path from 'node:path';

export type Role = 'all' | 'api' | 'worker';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  /** PostgreSQL connections this process keeps open at most. */
  databasePoolSize: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  requestTimeoutMs: number;
  shutdownTimeoutMs: number;
  bodyLimitBytes: number;
  corsOrigins: string[];
  adminEmail: string | undefined;
  adminPassword: string | undefined;
  seedProducts: number;
  /** ISO 4217 code of the store's default currency: every variant's `price` is in it. */
  storeCurrency: string;
  /** The languages the shop writes its catalog in; the first is its own (untranslated text is in it). */
  storeLocales: string[];
  rateLimitPerMinute: number;
  /** Proxy hops in front of the app whose X-Forwarded-For is believed (0: none; the socket address counts). */
  trustProxy: number;
  loginLimitPerMinute: number;
  /** Sign-ups one client address may make a minute. */
  registerLimitPerMinute: number;
  /** Requests one API key may make a minute. */
  apiKeyLimitPerMinute: number;
  /** Guest carts one client address may start a minute. */
  guestCartsPerMinute: number;
  /** How long a guest's cart lives unused before the worker sweeps it. */
  guestCartTtlHours: number;
  /** Where the storefront is reached, for links in emails (verification). */
  publicUrl: string;
  /** Redis for the shared cache and rate limits across instances; in-process when unset. */
  redisUrl: string | undefined;
  oidcProviders: OidcProviderConfig[];
  /** Lets OpenID Connect run over plain http, for loopback test providers only. */
  oidcAllowInsecureRequests: boolean;
  jwtIssuer: string;
  jwtAudience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  argon2MemoryKib: number;
  argon2TimeCost: number;
  payments: {
    provider: 'sandbox' | 'stripe';
    /** When the money is taken: all of it once the order is placed, or each shipment's share as it leaves. */
    capture: 'on_order' | 'on_shipment';
    stripe?: {
      secretKey: string;
      webhookSecret: string;
      /** Where the Stripe API answers: Stripe's own by default, an emulator in tests. */
      apiBase: string | undefined;
      /** Set: the storefront collects cards with Stripe's Payment Element. */
      publishableKey: string | undefined;
      /** Where Stripe.js loads from: Stripe's own, or the emulator's in tests. */
      jsUrl: string;
    };
  };
  /** How often reconciliation compares a batch of payments with the provider's record. */
  reconcileIntervalMs: number;
  /** The sandbox's address when it runs elsewhere (PAYMENTS_PROVIDER=sandbox). */
  paymentsUrl: string | undefined;
  paymentsTimeoutMs: number;
  /** How long a checkout request waits for the payment before answering 202 and letting it settle. */
  checkoutPaymentBudgetMs: number;
  reservationTtlSeconds: number;
  /** New items' low-stock threshold: inventory.low fires when available stock falls to it or below. */
  inventoryLowThreshold: number;
  recoveryIntervalMs: number;
  returnWindowDays: number;
  role: Role;
  /** gRPC listen port; 0 means no gRPC server. */
  grpcPort: number;
  /** Deepest selection a GraphQL query may nest. */
  graphqlMaxDepth: number;
  /** Highest estimated cost (fields times list sizes) a GraphQL query may have. */
  graphqlMaxCost: number;
  /** Field selections one GraphQL operation may make, fragments expanded. */
  graphqlMaxFields: number;
  /** Aliased fields one GraphQL operation may use. */
  graphqlMaxAliases: number;
  /** Whether GraphQL answers introspection (`__schema`, `__type`); off by default in production. */
  graphqlIntrospection: boolean;
  /** NODE_ENV is "production": safe defaults that development relaxes. */
  production: boolean;
  /** OTLP/HTTP endpoint for traces; unset means spans are not created. */
  otlpEndpoint: string | undefined;
  otelServiceName: string;
  /** RabbitMQ: events are relayed through it when set; in-process otherwise. */
  amqpUrl: string | undefined;
  amqpExchange: string;
  /** S3-compatible object storage for uploaded images; without it they are files under DATA_DIR/objects. */
  objectStorage: ObjectStorageConfig | undefined;
  /** SMTP server for notification mail; without it mail is written as .eml files under DATA_DIR/mail. */
  smtpUrl: string | undefined;
  /** Bound on each SMTP wait: connecting, the greeting, and silence on the socket. */
  smtpTimeoutMs: number;
  mailFrom: string;
  /** Who is mailed when an item's stock runs low; empty means the staff and admin accounts. */
  stockAlertEmails: string[];
  /** Lets webhooks target private, loopback and link-local addresses (development and tests only). */
  webhooksAllowPrivate: boolean;
  webhookMaxAttempts: number;
  /** First retry delay; each later one is four times longer (capped at 6 hours). */
  webhookRetryBaseMs: number;
  webhookTimeoutMs: number;
  /** How often stream sockets are pinged; one that has not answered the last ping is dropped. */
  streamHeartbeatMs: number;
  /** The built storefront and admin console (vite build output); web/dist of the checkout when unset. */
  webDistDir: string | undefined;
}

/** One "Sign in with <provider>" OpenID Connect client, from OIDC_PROVIDERS. */
export interface OidcProviderConfig {
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

/** Raised for a configuration value that cannot be used; the message names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

/** The payment providers this build speaks to. */
const PAYMENTS_PROVIDERS = ['sandbox', 'stripe'] as const;

/**
 * PAYMENTS_PROVIDER names the provider; it must be set in production, so the sandbox never
 * approves payments there unless asked for by name (unset in development: the sandbox). Stripe
 * needs its secret key and webhook secret, and refuses to start without them.
 */
function paymentsProvider(env: Env, production: boolean): Config['payments'] {
  if (!env.PAYMENTS_PROVIDER && production) {
    throw new ConfigError(
      `PAYMENTS_PROVIDER is not set: in production name the payment provider (${PAYMENTS_PROVIDERS.join(', ')}); the sandbox never approves payments there unless named`,
    );
  }
  const provider = oneOf(env, 'PAYMENTS_PROVIDER', 'sandbox', PAYMENTS_PROVIDERS);
  const capture = oneOf(env, 'PAYMENTS_CAPTURE', 'on_order', ['on_order', 'on_shipment']);
  if (provider === 'sandbox') return { provider, capture };
  const secretKey = env.STRIPE_SECRET_KEY;
  const webhookSecret = env.STRIPE_WEBHOOK_SECRET;
  if (!secretKey || !/^(sk|rk)_(test|live)_\w+$/.test(secretKey))
    throw new ConfigError(
      'STRIPE_SECRET_KEY must be set to a Stripe secret key (sk_test_… or sk_live_…) when PAYMENTS_PROVIDER=stripe',
    );
  if (!webhookSecret?.startsWith('whsec_'))
    throw new ConfigError(
      "STRIPE_WEBHOOK_SECRET must be set to the endpoint's signing secret (whsec_…) when PAYMENTS_PROVIDER=stripe",
    );
  return {
    provider,
    capture,
    stripe: {
      secretKey,
      webhookSecret,
      apiBase: url(env, 'STRIPE_API_BASE', ['http:', 'https:']),
      publishableKey: publishableKey(env),
      jsUrl: url(env, 'STRIPE_JS_URL', ['http:', 'https:']) ?? 'https://js.stripe.com/v3/',
    },
  };
}

function publishableKey(env: Env): string | undefined {
  const key = env.STRIPE_PUBLISHABLE_KEY;
  if (!key) return undefined;
  if (!/^pk_(test|live)_\w+$/.test(key))
    throw new ConfigError('STRIPE_PUBLISHABLE_KEY must be a Stripe publishable key (pk_test_… or pk_live_…)');
  return key;
}

export interface ObjectStorageConfig {
  url: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

function objectStorage(env: Env): ObjectStorageConfig | undefined {
  const address = url(env, 'S3_URL', ['http:', 'https:']);
  if (!address) return undefined;
  const bucket = env.S3_BUCKET ?? '';
  // S3 bucket names: 3 to 63 lower-case letters, digits, dots and hyphens.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new ConfigError(
      'S3_BUCKET must name a bucket (3 to 63 lower-case letters, digits, dots, hyphens) when S3_URL is set',
    );
  const accessKeyId = env.S3_ACCESS_KEY_ID ?? '';
  const secretAccessKey = env.S3_SECRET_ACCESS_KEY ?? '';
  if (!accessKeyId || !secretAccessKey)
    throw new ConfigError('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set when S3_URL is set');
  return { url: address, bucket, region: env.S3_REGION || 'us-east-1', accessKeyId, secretAccessKey };
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
  }
  return raw;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'true' && raw !== 'false') throw new ConfigError(`${name} must be true or false, got "${raw}"`);
  return raw === 'true';
}

function locales(env: Env, name: string, fallback: string[]): string[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const tags = raw.split(',').map((tag) => tag.trim());
  for (const tag of tags) {
    if (!/^[a-z]{2,3}(-[A-Z]{2})?$/.test(tag))
      throw new ConfigError(`${name} must list language tags like en,de,fr-CA; got "${tag}"`);
  }
  if (new Set(tags).size !== tags.length) throw new ConfigError(`${name} lists a language twice`);
  return tags;
}

function currency(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[A-Z]{3}$/.test(raw))
    throw new ConfigError(`${name} must be an ISO 4217 code like EUR, got "${raw}"`);
  return raw;
}

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

function flag(env: Env, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return false;
  if (raw !== 'true' && raw !== 'false') throw new ConfigError(`${name} must be true or false, got "${raw}"`);
  return raw === 'true';
}

/**
 * OIDC_PROVIDERS is a JSON object keyed by provider name:
 * {"google": {"issuer": "https://accounts.google.com", "clientId": "…", "clientSecret": "…",
 *  "redirectUri": "https://shop.example/v1/auth/oidc/google/callback"}}.
 * Issuers must use https; http is accepted only for loopback hosts with OIDC_ALLOW_INSECURE_REQUESTS.
 */
function oidcProviders(env: Env, allowInsecure: boolean): OidcProviderConfig[] {
  const raw = env.OIDC_PROVIDERS;
  if (raw === undefined || raw.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('OIDC_PROVIDERS must be a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('OIDC_PROVIDERS must be a JSON object keyed by provider name');
  }
  return Object.entries(parsed).map(([name, value]) => {
    if (!/^[a-z0-9-]{1,40}$/.test(name)) {
      throw new ConfigError(`OIDC_PROVIDERS names must be lower-case letters, digits or -, got "${name}"`);
    }
    const entry = (value ?? {}) as Record<string, unknown>;
    const field = (key: string): string => {
      if (typeof entry[key] !== 'string' || entry[key] === '') {
        throw new ConfigError(`OIDC_PROVIDERS.${name}.${key} must be a non-empty string`);
      }
      return entry[key];
    };
    const provider = {
      name,
      issuer: field('issuer'),
      clientId: field('clientId'),
      clientSecret: field('clientSecret'),
      redirectUri: field('redirectUri'),
    };
    for (const key of ['issuer', 'redirectUri'] as const) {
      let address: URL;
      try {
        address = new URL(provider[key]);
      } catch {
        throw new ConfigError(`OIDC_PROVIDERS.${name}.${key} must be a URL`);
      }
      const insecureAllowed = allowInsecure && LOOPBACK_HOSTS.includes(address.hostname);
      if (address.protocol !== 'https:' && !(address.protocol === 'http:' && insecureAllowed)) {
        throw new ConfigError(
          `OIDC_PROVIDERS.${name}.${key} must use https (http only for loopback with OIDC_ALLOW_INSECURE_REQUESTS=true)`,
        );
      }
    }
    return provider;
  });
}

/** Reads and validates every setting once; nothing else in the code reads process.env. */
export function loadConfig(env: Env = process.env): Config {
  const adminEmail = env.EMPORIUM_ADMIN_EMAIL || undefined;
  const adminPassword = env.EMPORIUM_ADMIN_PASSWORD || undefined;
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError('EMPORIUM_ADMIN_EMAIL and EMPORIUM_ADMIN_PASSWORD must be set together');
  }
  if (adminPassword !== undefined && adminPassword.length < 8) {
    throw new ConfigError('EMPORIUM_ADMIN_PASSWORD must be at least 8 characters');
  }
  const corsOrigins = (env.CORS_ORIGINS ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(`CORS_ORIGINS entries must look like https://host[:port], got "${origin}"`);
    }
  }
  const oidcAllowInsecureRequests = flag(env, 'OIDC_ALLOW_INSECURE_REQUESTS');
  const production = env.NODE_ENV === 'production';
  const payments = paymentsProvider(env, production);
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: env.HOST || '127.0.0.1',
    dataDir: path.resolve(env.DATA_DIR || './data'),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 15_000, 100, 300_000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 300_000),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 1024 * 1024, 1024, 100 * 1024 * 1024),
    corsOrigins,
    adminEmail: adminEmail?.trim().toLowerCase(),
    adminPassword,
    seedProducts: integer(env, 'SEED_PRODUCTS', 1000, 0, 1_000_000),
    storeCurrency: currency(env, 'STORE_CURRENCY', 'EUR'),
    storeLocales: locales(env, 'STORE_LOCALES', ['en', 'de', 'fr']),
    rateLimitPerMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 100_000, 1, 10_000_000),
    trustProxy: integer(env, 'TRUST_PROXY', 0, 0, 10),
    loginLimitPerMinute: integer(env, 'LOGIN_LIMIT_PER_MINUTE', 10, 1, 100_000),
    registerLimitPerMinute: integer(env, 'REGISTER_LIMIT_PER_MINUTE', 5, 1, 100_000),
    guestCartsPerMinute: integer(env, 'GUEST_CART_LIMIT_PER_MINUTE', 20, 1, 100_000),
    apiKeyLimitPerMinute: integer(env, 'API_KEY_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
    guestCartTtlHours: integer(env, 'GUEST_CART_TTL_HOURS', 14 * 24, 1, 365 * 24),
    publicUrl: (
      url(env, 'PUBLIC_URL', ['http:', 'https:']) ??
      `http://127.0.0.1:${integer(env, 'PORT', 3000, 0, 65535)}`
    ).replace(/\/+$/, ''),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    oidcProviders: oidcProviders(env, oidcAllowInsecureRequests),
    oidcAllowInsecureRequests,
    jwtIssuer: env.JWT_ISSUER || 'https://emporium.local',
    jwtAudience: env.JWT_AUDIENCE || 'emporium-api',
    accessTokenTtlSeconds: integer(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 2, 86_400),
    refreshTokenTtlSeconds: integer(env, 'REFRESH_TOKEN_TTL_SECONDS', 30 * 86_400, 60, 365 * 86_400),
    argon2MemoryKib: integer(env, 'ARGON2_MEMORY_KIB', 19_456, 1024, 4_194_304),
    argon2TimeCost: integer(env, 'ARGON2_TIME_COST', 2, 1, 20),
    payments,
    paymentsUrl: url(env, 'PAYMENTS_URL', ['http:', 'https:']),
    paymentsTimeoutMs: integer(env, 'PAYMENTS_TIMEOUT_MS', 3000, 50, 60_000),
    reconcileIntervalMs: integer(env, 'RECONCILE_INTERVAL_MS', 600_000, 1000, 86_400_000),
    checkoutPaymentBudgetMs: integer(env, 'CHECKOUT_PAYMENT_BUDGET_MS', 0, 0, 300_000),
    reservationTtlSeconds: integer(env, 'RESERVATION_TTL_SECONDS', 900, 5, 86_400),
    inventoryLowThreshold: integer(env, 'INVENTORY_LOW_THRESHOLD', 5, 0, 1_000_000),
    recoveryIntervalMs: integer(env, 'RECOVERY_INTERVAL_MS', 5000, 100, 600_000),
    returnWindowDays: integer(env, 'RETURN_WINDOW_DAYS', 30, 0, 3650),
    role: oneOf(env, 'EMPORIUM_ROLE', 'all', ['all', 'api', 'worker']),
    grpcPort: integer(env, 'GRPC_PORT', 0, 0, 65535),
    graphqlMaxDepth: integer(env, 'GRAPHQL_MAX_DEPTH', 8, 2, 50),
    graphqlMaxCost: integer(env, 'GRAPHQL_MAX_COST', 5000, 10, 1_000_000),
    graphqlMaxFields: integer(env, 'GRAPHQL_MAX_FIELDS', 500, 10, 100_000),
    graphqlMaxAliases: integer(env, 'GRAPHQL_MAX_ALIASES', 20, 0, 10_000),
    graphqlIntrospection: boolean(env, 'GRAPHQL_INTROSPECTION', !production),
    production,
    otlpEndpoint: url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']),
    otelServiceName: env.OTEL_SERVICE_NAME || 'emporium',
    amqpUrl: url(env, 'AMQP_URL', ['amqp:', 'amqps:']),
    amqpExchange: exchangeName(env.AMQP_EXCHANGE),
    objectStorage: objectStorage(env),
    smtpUrl: url(env, 'SMTP_URL', ['smtp:', 'smtps:']),
    smtpTimeoutMs: integer(env, 'SMTP_TIMEOUT_MS', 10_000, 100, 120_000),
    mailFrom: mailFrom(env.MAIL_FROM),
    stockAlertEmails: addresses(env, 'STOCK_ALERT_EMAILS'),
    webhooksAllowPrivate: boolean(env, 'WEBHOOKS_ALLOW_PRIVATE', false),
    webhookMaxAttempts: integer(env, 'WEBHOOK_MAX_ATTEMPTS', 8, 1, 20),
    webhookRetryBaseMs: integer(env, 'WEBHOOK_RETRY_BASE_MS', 5_000, 10, 3_600_000),
    webhookTimeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 5_000, 100, 60_000),
    streamHeartbeatMs: integer(env, 'STREAM_HEARTBEAT_MS', 30_000, 100, 600_000),
    webDistDir: env.WEB_DIST_DIR ? path.resolve(env.WEB_DIST_DIR) : undefined,
  };
}

function exchangeName(raw: string | undefined): string {
  if (!raw) return 'emporium.events';
  if (!/^[\w.-]{1,200}$/.test(raw))
    throw new ConfigError('AMQP_EXCHANGE may use letters, digits, ".", "_", "-"');
  return raw;
}

/** A comma-separated list of plain addresses (`ops@shop.example, buyer@shop.example`). */
function addresses(env: Env, name: string): string[] {
  const list = (env[name] ?? '')
    .split(',')
    .map((address) => address.trim())
    .filter(Boolean);
  const invalid = list.find((address) => !/^[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,]+$/.test(address));
  if (invalid !== undefined)
    throw new ConfigError(`${name} must be comma-separated email addresses, got "${invalid}"`);
  return list;
}

function mailFrom(raw: string | undefined): string {
  if (!raw) return 'Emporium <no-reply@emporium.local>';
  if (!/^[^\r\n]*<?[^@\s<>]+@[^@\s<>]+>?$/.test(raw))
    throw new ConfigError(`MAIL_FROM must be an address like "Shop <shop@example.com>", got "${raw}"`);
  return raw;
}
