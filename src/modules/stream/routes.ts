import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { WebSocket } from 'ws';
import { type AccessTokenVerifier, bearerToken, type Principal } from '../../platform/http/auth.ts';
import { problemResponse, problems } from '../../platform/http/openapi.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { upgradeRequired } from './errors.ts';
import { CLOSE, type SocketHub } from './hub.ts';

const AUTH_MESSAGE = 'the first message must be {"type":"auth","token":"<access token>"}';

export function streamRoutes(
  hub: SocketHub,
  verifier: AccessTokenVerifier,
  settings: { authTimeoutMs: number; startFanout: () => Promise<void>; metrics: Metrics },
) {
  function accept(socket: WebSocket, principal: Principal): void {
    hub.add(principal.id, socket, principal.expiresAtMs);
    const watchesShop = principal.permissions.includes('orders:read');
    if (watchesShop) hub.watchShop(socket);
    socket.send(JSON.stringify({ type: 'authenticated', userId: principal.id, staffFeed: watchesShop }));
  }

  /** Without a token on the upgrade, the client has a short while to send one as its first message. */
  function awaitAuthMessage(socket: WebSocket): void {
    const timer = setTimeout(() => socket.close(CLOSE.policyViolation, AUTH_MESSAGE), settings.authTimeoutMs);
    socket.once('close', () => clearTimeout(timer));
    socket.once('message', async (raw) => {
      clearTimeout(timer);
      let token: unknown;
      try {
        const message = JSON.parse(String(raw));
        if (message?.type === 'auth') token = message.token;
      } catch {
        // Not JSON: refused below like any other malformed first message.
      }
      if (typeof token !== 'string') return socket.close(CLOSE.policyViolation, AUTH_MESSAGE);
      try {
        accept(socket, await verifier.verify(token));
      } catch {
        socket.close(CLOSE.policyViolation, 'invalid or expired access token');
      }
    });
  }

  return async (scope: FastifyInstance) => {
    await scope.register(websocket, { options: { maxPayload: 16 * 1024 } });
    // Whatever the process role, a server holding sockets consumes the events it pushes.
    scope.addHook('onReady', settings.startFanout);
    scope.addHook('onClose', async () => hub.closeAll());
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    app.route({
      method: 'GET',
      url: '/stream',
      schema: {
        operationId: 'openEventStream',
        tags: ['realtime'],
        summary: "WebSocket: the signed-in user's order and payment events as CloudEvents JSON",
        description:
          'Upgrade to a WebSocket with the access token as ?access_token= or as the first message ' +
          '{"type":"auth","token":"…"}. The server closes it with code 4001 when the token expires or is ' +
          'revoked. A plain GET answers 426.',
        response: {
          426: { ...problemResponse(426), headers: { upgrade: { type: 'string' } } },
          ...problems(401),
        },
        querystring: Type.Object({ access_token: Type.Optional(Type.String({ maxLength: 8192 })) }),
      },
      // A token on the upgrade request is checked before upgrading: a bad one answers 401.
      preHandler: async (request) => {
        const token = request.query.access_token ?? bearerToken(request);
        if (token) request.principal = await verifier.verify(token);
      },
      // A plain GET (no Upgrade header) is told how to connect instead of getting a bare 404.
      handler: async () => {
        throw upgradeRequired();
      },
      wsHandler: (socket, request) => {
        // The upgrade hijacks the reply, so onResponse (which ends the in-flight count) never runs:
        // the socket counts as in flight until it closes.
        socket.once('close', () => settings.metrics.httpInFlight.dec());
        if (request.principal) accept(socket, request.principal);
        else awaitAuthMessage(socket);
      },
    });
  };
}
