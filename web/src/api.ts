import type { TokenPair } from './types.ts';

/** An RFC 9457 problem as the API answers it. */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

/** A refused or failed call: `code` is the API's stable identifier (NETWORK_ERROR when no answer came). */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly code: string;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.status = problem.status;
    this.code = problem.code;
    this.problem = problem;
  }
}

/** What a signed-in browser keeps: the token pair and who it belongs to. */
export interface Session {
  accessToken: string;
  refreshToken: string;
  user: TokenPair['user'];
}

export interface SessionStore {
  load(): Session | null;
  save(session: Session | null): void;
  /**
   * Runs `task` while no other holder (another tab) runs one: a refresh token works once, and a
   * spent one presented again revokes the whole family, so two tabs must never refresh together.
   */
  exclusive<T>(task: () => Promise<T>): Promise<T>;
}

/**
 * What a browser without an account keeps: its guest cart's token, and the tokens of the orders it
 * placed as a guest (each opens that order alone).
 */
export interface GuestStore {
  cartToken(): string | null;
  setCartToken(token: string | null): void;
  orderToken(orderId: string): string | null;
  setOrderToken(orderId: string, token: string): void;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** application/json unless said otherwise (merge-patch for PATCH of products). */
  contentType?: string;
  /** A body sent as it is (a CSV file), instead of `body` as JSON. */
  text?: string;
  /** The answer as text, not parsed as JSON (a CSV export). */
  responseText?: boolean;
  /** false: send no token even when signed in (sign-in and sign-up). */
  auth?: boolean;
  signal?: AbortSignal;
}

export function sessionOf(pair: TokenPair): Session {
  return { accessToken: pair.accessToken, refreshToken: pair.refreshToken, user: pair.user };
}

async function problemOf(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const parsed = JSON.parse(text) as Partial<Problem>;
    if (typeof parsed.code === 'string')
      return new ApiError({ ...parsed, status: response.status } as Problem);
  } catch {
    // Not problem+json (a proxy's error page): described below from the status alone.
  }
  return new ApiError({
    title: response.statusText || 'Request failed',
    status: response.status,
    code: `HTTP_${response.status}`,
  });
}

const unreachable = () =>
  new ApiError({
    title: 'No answer',
    status: 0,
    code: 'NETWORK_ERROR',
    detail: 'The shop could not be reached. Check your connection and try again.',
  });

export type Api = ReturnType<typeof createApi>;

/**
 * The API client: JSON in and out, problem+json into ApiError, and the token flow of API.md —
 * an access token on each call; on a 401, one refresh (shared by every call that hit it at the
 * same time, and by other tabs through the store's lock), then the call once more.
 */
export function createApi(options: {
  store: SessionStore;
  /** Given: a visitor who is not signed in shops with a guest cart (the storefront). */
  guest?: GuestStore;
  baseUrl?: string;
  fetch?: typeof fetch;
  /** The language to read the catalog in, as Accept-Language (the storefront; the console reads the shop's own). */
  language?: () => string;
}) {
  const { store, guest, baseUrl = '' } = options;
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  let refreshing: Promise<Session | null> | null = null;

  async function send(method: string, path: string, request: RequestOptions, session: Session | null) {
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    if (options.language) headers['accept-language'] = options.language();
    if (request.body !== undefined || request.text !== undefined)
      headers['content-type'] = request.contentType ?? 'application/json';
    if (session) headers.authorization = `Bearer ${session.accessToken}`;
    try {
      return await fetchImpl(baseUrl + path, {
        method,
        headers,
        body: request.text ?? (request.body === undefined ? undefined : JSON.stringify(request.body)),
        // Revalidate cached reads (ETag → 304) so a change made elsewhere shows at once.
        cache: method === 'GET' ? 'no-cache' : 'no-store',
        signal: request.signal,
      });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw unreachable();
    }
  }

  /** The session after a refresh, or null when the refresh token no longer works (signed out). */
  function refresh(spent: Session): Promise<Session | null> {
    refreshing ??= store
      .exclusive(async () => {
        const current = store.load();
        if (!current) return null;
        // Someone else (another tab, an earlier call) already rotated the pair: use theirs.
        if (current.refreshToken !== spent.refreshToken) return current;
        const response = await send(
          'POST',
          '/v1/auth/refresh',
          { body: { refreshToken: current.refreshToken } },
          null,
        );
        if (response.status === 401 || response.status === 400) {
          store.save(null);
          return null;
        }
        if (!response.ok) throw await problemOf(response);
        const renewed = sessionOf((await response.json()) as TokenPair);
        store.save(renewed);
        return renewed;
      })
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  }

  /** A guest cart's token: the one kept, or a new cart's. */
  async function guestCartToken(tokens: GuestStore): Promise<string> {
    const kept = tokens.cartToken();
    if (kept) return kept;
    const response = await send('POST', '/v1/carts', {}, null);
    if (!response.ok) throw await problemOf(response);
    const { cartToken } = (await response.json()) as { cartToken: string };
    tokens.setCartToken(cartToken);
    return cartToken;
  }

  const isCartCall = (method: string, path: string) =>
    path.startsWith('/v1/cart') || (method === 'POST' && path === '/v1/orders');

  /**
   * A call without a session, as a guest: cart calls carry the guest cart's token (a cart is
   * started on first need, and again when the kept one has expired); a guest order's calls carry
   * its order token.
   */
  async function sendAsGuest(tokens: GuestStore, method: string, path: string, options: RequestOptions) {
    const orderId = /^\/v1\/orders\/([\w-]+)/.exec(path)?.[1];
    const orderToken = orderId && tokens.orderToken(orderId);
    if (!isCartCall(method, path)) {
      const headers = orderToken ? { ...options.headers, 'order-token': orderToken } : options.headers;
      return send(method, path, { ...options, headers }, null);
    }
    const withCart = async () =>
      send(
        method,
        path,
        { ...options, headers: { ...options.headers, 'cart-token': await guestCartToken(tokens) } },
        null,
      );
    const response = await withCart();
    if (response.status !== 401) return response;
    const problem = await problemOf(response.clone());
    if (problem.code !== 'CART_TOKEN_INVALID') return response;
    tokens.setCartToken(null);
    return withCart();
  }

  /** A 401 to a signed-in call: one refresh, then the call `again` with the new token. */
  async function afterRefresh(
    response: Response,
    session: Session | null,
    again: (session: Session) => Promise<Response>,
  ): Promise<Response> {
    if (response.status !== 401 || !session) return response;
    const renewed = await refresh(session);
    return renewed ? again(renewed) : response;
  }

  async function request<T = unknown>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const session = options.auth === false ? null : store.load();
    const first =
      !session && guest && options.auth !== false
        ? await sendAsGuest(guest, method, path, options)
        : await send(method, path, options, session);
    const response = await afterRefresh(first, session, (renewed) => send(method, path, options, renewed));
    if (!response.ok) throw await problemOf(response);
    const text = response.status === 204 ? '' : await response.text();
    return {
      status: response.status,
      body: (options.responseText ? text : text ? JSON.parse(text) : undefined) as T,
      headers: response.headers,
    };
  }

  /**
   * A new session: the guest cart, if any, moves into the user's cart. A cart that cannot move
   * (expired) is forgotten; the sign-in stands either way. The session is saved only after the
   * merge, so nothing that reacts to signing in reads the user's cart before it holds the lines.
   */
  async function begin(session: Session): Promise<Session> {
    const cartToken = guest?.cartToken();
    if (guest && cartToken) {
      const merged = await send(
        'POST',
        '/v1/cart/merge',
        { headers: { 'cart-token': cartToken } },
        session,
      ).catch(() => undefined);
      if (merged) guest.setCartToken(null);
    }
    store.save(session);
    return session;
  }

  /** Any route that answers a token pair: its session begins here. */
  async function openSession(path: string, body: unknown): Promise<Session> {
    const pair = await request<TokenPair>('POST', path, { auth: false, body });
    return begin(sessionOf(pair.body));
  }

  /**
   * Sends a form with a file, reporting how much of it has gone (fetch cannot tell upload
   * progress, XMLHttpRequest can); signed in as `request` is, with one refresh on a 401.
   */
  async function upload<T>(path: string, form: FormData, onProgress: (fraction: number) => void): Promise<T> {
    const once = (session: Session | null) =>
      new Promise<Response>((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open('POST', baseUrl + path);
        xhr.setRequestHeader('accept', 'application/json');
        if (session) xhr.setRequestHeader('authorization', `Bearer ${session.accessToken}`);
        xhr.upload.onprogress = (event) => {
          if (event.lengthComputable) onProgress(event.loaded / event.total);
        };
        xhr.onload = () =>
          resolve(new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText }));
        xhr.onerror = () => reject(unreachable());
        xhr.send(form);
      });
    const session = store.load();
    const response = await afterRefresh(await once(session), session, once);
    if (!response.ok) throw await problemOf(response);
    return (await response.json()) as T;
  }

  return {
    request,
    upload,
    get: <T>(path: string, options?: RequestOptions) => request<T>('GET', path, options).then((r) => r.body),
    post: <T>(path: string, body?: unknown, options?: RequestOptions) =>
      request<T>('POST', path, { ...options, body }).then((r) => r.body),
    put: <T>(path: string, body?: unknown, options?: RequestOptions) =>
      request<T>('PUT', path, { ...options, body }).then((r) => r.body),
    patch: <T>(path: string, body?: unknown, options?: RequestOptions) =>
      request<T>('PATCH', path, { ...options, body }).then((r) => r.body),
    delete: (path: string, options?: RequestOptions) =>
      request<void>('DELETE', path, options).then(() => undefined),
    session: () => store.load(),
    /** Keeps a guest order's token, from its checkout or its mail's link, so this browser can open it. */
    rememberOrderToken(orderId: string, token: string): void {
      guest?.setOrderToken(orderId, token);
    },
    signIn: (email: string, password: string) => openSession('/v1/auth/login', { email, password }),
    register: (input: { email: string; password: string; name: string }) =>
      openSession('/v1/auth/register', input),
    /** Joins the staff from an invitation's link: as someone new (with a name) or with an existing account. */
    acceptInvite: (input: { token: string; password: string; name?: string }) =>
      openSession('/v1/staff/invites/accept', input),
    /** Revokes the refresh token on the server; the browser forgets the session whatever the answer. */
    async signOut(): Promise<void> {
      const session = store.load();
      store.save(null);
      if (!session) return;
      await send('POST', '/v1/auth/logout', { body: { refreshToken: session.refreshToken } }, session).catch(
        () => undefined,
      );
    },
  };
}

/** A fresh key per checkout attempt: a retry of the same attempt reuses it (API.md, idempotency). */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}
