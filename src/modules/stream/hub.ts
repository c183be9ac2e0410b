import type { WebSocket } from 'ws';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';

export interface SocketHubOptions {
  logger: Logger;
  metrics: Metrics;
  /** A socket whose unsent data exceeds this is too slow to keep: it is closed, not waited for. */
  maxBufferedBytes?: number;
  /** How often sockets are pinged; one without a pong by the next round is terminated. */
  heartbeatMs?: number;
}

/** WebSocket close codes (RFC 6455 §7.4.1 and the IANA registry). */
export const CLOSE = { goingAway: 1001, policyViolation: 1008, tryAgainLater: 1013 } as const;

/** Application close code (4000-4999 are ours): the access token ended; reconnect with a fresh one. */
export const TOKEN_ENDED = 4001;

/**
 * The sockets this instance holds, by user. `deliver` only writes to local sockets; fan-out
 * across instances (Redis pub/sub) goes in front of it, calling `deliver` on every instance.
 */
export function createSocketHub(options: SocketHubOptions) {
  const { logger, metrics } = options;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  const connections = metrics.gauge('stream_connections', 'Open WebSocket stream connections');
  const pushed = metrics.counter('stream_messages_total', 'Messages pushed to stream sockets');
  const dropped = metrics.counter('stream_disconnects_total', 'Stream sockets closed by the server', [
    'reason',
  ]);
  const byUser = new Map<string, Set<WebSocket>>();
  /** The sockets of staff who see the shop's orders: they also get its staff feed. */
  const staff = new Set<WebSocket>();
  const alive = new WeakMap<WebSocket, boolean>();
  let heartbeat: NodeJS.Timeout | undefined;

  function remove(userId: string, socket: WebSocket): void {
    const sockets = byUser.get(userId);
    if (!sockets?.delete(socket)) return;
    connections.dec();
    if (sockets.size === 0) byUser.delete(userId);
    if (byUser.size === 0 && heartbeat) {
      clearInterval(heartbeat);
      heartbeat = undefined;
    }
  }

  /** Writes to each open socket without waiting on any; a backed-up one is closed and dropped. */
  function send(sockets: Iterable<WebSocket>, message: string, drop: (socket: WebSocket) => void): void {
    for (const socket of [...sockets]) {
      if (socket.readyState !== socket.OPEN) continue;
      if (socket.bufferedAmount + Buffer.byteLength(message) > maxBufferedBytes) {
        logger.info({ buffered: socket.bufferedAmount }, 'closing a stream socket that cannot keep up');
        dropped.inc({ reason: 'slow' });
        socket.close(CLOSE.tryAgainLater, 'too slow: reconnect and catch up');
        drop(socket);
        continue;
      }
      socket.send(message);
      pushed.inc();
    }
  }

  function beat(): void {
    for (const sockets of byUser.values()) {
      for (const socket of sockets) {
        if (!alive.get(socket)) {
          dropped.inc({ reason: 'no_pong' });
          socket.terminate();
          continue;
        }
        alive.set(socket, false);
        socket.ping();
      }
    }
  }

  return {
    /** Holds the socket for the user until it closes, or until `expiresAtMs` (its token's expiry). */
    add(userId: string, socket: WebSocket, expiresAtMs?: number): void {
      const sockets = byUser.get(userId) ?? new Set();
      byUser.set(userId, sockets);
      sockets.add(socket);
      connections.inc();
      alive.set(socket, true);
      socket.on('pong', () => alive.set(socket, true));
      const expiry =
        expiresAtMs === undefined
          ? undefined
          : setTimeout(
              () => {
                dropped.inc({ reason: 'token_expired' });
                socket.close(TOKEN_ENDED, 'access token expired: reconnect with a new one');
                remove(userId, socket);
              },
              Math.max(0, expiresAtMs - Date.now()),
            );
      expiry?.unref();
      socket.on('close', () => {
        if (expiry) clearTimeout(expiry);
        remove(userId, socket);
      });
      if (!heartbeat) {
        heartbeat = setInterval(beat, heartbeatMs);
        heartbeat.unref();
      }
    },

    /** Closes every socket of the user on this instance: their access tokens were revoked. */
    closeUser(userId: string): void {
      for (const socket of [...(byUser.get(userId) ?? [])]) {
        dropped.inc({ reason: 'token_revoked' });
        socket.close(TOKEN_ENDED, 'signed out, or the password or role changed: reconnect with a new token');
        remove(userId, socket);
      }
    },

    /** Writes to every socket of the user without waiting on any; a backed-up one is closed. */
    deliver(userId: string, message: string): void {
      send(byUser.get(userId) ?? [], message, (socket) => remove(userId, socket));
    },

    /** Also gives this (already added) socket the shop's staff feed: new orders, low stock. */
    watchShop(socket: WebSocket): void {
      staff.add(socket);
      socket.on('close', () => staff.delete(socket));
    },

    /** Writes to every socket watching the shop. */
    deliverToStaff(message: string): void {
      send(staff, message, (socket) => staff.delete(socket));
    },

    connectionCount(): number {
      let count = 0;
      for (const sockets of byUser.values()) count += sockets.size;
      return count;
    },

    closeAll(): void {
      for (const [userId, sockets] of byUser) {
        for (const socket of sockets) {
          socket.close(CLOSE.goingAway, 'server shutting down');
          remove(userId, socket);
        }
      }
    },
  };
}

export type SocketHub = ReturnType<typeof createSocketHub>;
