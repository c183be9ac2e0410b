import { createHmac, randomBytes } from 'node:crypto';
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Addresses a webhook may never reach unless private targets are allowed: this host, private
 * networks, link-local (cloud metadata at 169.254.169.254 and fd00:ec2::254), CGNAT, multicast
 * and reserved ranges.
 */
const forbidden = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  forbidden.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  forbidden.addSubnet(network, prefix, 'ipv6');
}

/** True for an address a webhook must not reach (IPv4-mapped IPv6 is judged as its IPv4). */
export function isForbiddenAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return forbidden.check(mapped[1], 'ipv4');
  return forbidden.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

export class TargetRefused extends Error {
  override name = 'TargetRefused';
}

/** Checks the URL's form, then resolves its host and refuses if any address is forbidden. */
export async function checkTarget(target: string, allowPrivate: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new TargetRefused('not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TargetRefused('must be http or https');
  if (url.username || url.password) throw new TargetRefused('must not carry credentials');
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host)
    ? [host]
    : (await dns.promises.lookup(host, { all: true }).catch(() => [])).map((entry) => entry.address);
  if (addresses.length === 0) throw new TargetRefused(`cannot resolve ${host}`);
  const bad = addresses.find(isForbiddenAddress);
  if (bad) throw new TargetRefused(`${host} resolves to a private or reserved address (${bad})`);
  return url;
}

/**
 * The connection's own DNS lookup refuses forbidden addresses, so a name that resolved to a public
 * address when checked cannot be rebound to an internal one when connecting.
 */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const bad = addresses.find((entry) => isForbiddenAddress(entry.address));
    if (bad) {
      return callback(
        new TargetRefused(`${hostname} resolves to a forbidden address (${bad.address})`),
        '',
        0,
      );
    }
    if (options.all)
      return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
};

/** A new secret in the Standard Webhooks form: "whsec_" and base64 of 32 random bytes. */
export function generateSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The HMAC key of a secret: the base64 after "whsec_", or the secret's own bytes otherwise. */
function signingKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

/** Standard Webhooks signature: "v1," + base64 HMAC-SHA256 of "id.timestamp.body". */
export function sign(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', signingKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

export interface AttemptResult {
  succeeded: boolean;
  statusCode: number | null;
  latencyMs: number;
  responseSnippet: string | null;
  error: string | null;
}

const SNIPPET_BYTES = 512;

/** Posts one signed delivery; never throws: every outcome becomes an attempt record. */
export async function sendWebhook(input: {
  url: string;
  secret: string;
  messageId: string;
  body: string;
  allowPrivate: boolean;
  timeoutMs: number;
}): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let url: URL;
  try {
    url = await checkTarget(input.url, input.allowPrivate);
  } catch (error) {
    return {
      succeeded: false,
      statusCode: null,
      latencyMs: elapsed(),
      responseSnippet: null,
      error: String(error),
    };
  }
  const timestamp = Math.floor(Date.now() / 1000);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const request = client.request(
      url,
      {
        method: 'POST',
        timeout: input.timeoutMs,
        ...(input.allowPrivate ? {} : { lookup: guardedLookup }),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Emporium-Webhooks/1.0',
          'webhook-id': input.messageId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': sign(input.secret, input.messageId, timestamp, input.body),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size < SNIPPET_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        response.on('end', () => {
          const statusCode = response.statusCode ?? 0;
          // Redirects are not followed: a 3xx could point anywhere, including inside the network.
          const succeeded = statusCode >= 200 && statusCode < 300;
          resolve({
            succeeded,
            statusCode,
            latencyMs: elapsed(),
            responseSnippet: Buffer.concat(chunks).subarray(0, SNIPPET_BYTES).toString('utf8'),
            error: succeeded
              ? null
              : statusCode >= 300 && statusCode < 400
                ? 'redirects are not followed'
                : null,
          });
        });
        response.on('error', (error) =>
          resolve({
            succeeded: false,
            statusCode: response.statusCode ?? null,
            latencyMs: elapsed(),
            responseSnippet: null,
            error: String(error),
          }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no response within ${input.timeoutMs} ms`)));
    request.on('error', (error) =>
      resolve({
        succeeded: false,
        statusCode: null,
        latencyMs: elapsed(),
        responseSnippet: null,
        error: String(error),
      }),
    );
    request.end(input.body);
  });
}
