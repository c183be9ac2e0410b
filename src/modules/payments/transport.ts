import http from 'node:http';
import https from 'node:https';

export interface JsonAnswer {
  status: number;
  text: string;
}

/**
 * Sends JSON over pooled keep-alive connections. node:http rather than fetch: the provider is
 * called twice per checkout, and fetch's web-streams machinery cost several times more CPU per
 * call than the request itself.
 */
export function createJsonTransport(options: { maxSockets: number }) {
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: options.maxSockets, scheduling: 'lifo' }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: options.maxSockets, scheduling: 'lifo' }),
  };

  function send(
    method: 'GET' | 'POST',
    url: URL,
    body: string | undefined,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<JsonAnswer> {
    const secure = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const request = (secure ? https : http).request(
        url,
        {
          method,
          agent: agents[secure ? 'https:' : 'http:'],
          headers:
            body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          signal,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  return {
    send,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
