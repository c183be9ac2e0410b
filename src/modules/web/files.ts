import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export type Encoding = 'br' | 'gzip';

/** One built file held in memory with what answering it needs. */
export interface WebFile {
  body: Buffer;
  /** The file compressed so, made at its first request and kept; undefined when that would not be smaller. */
  encoded(encoding: Encoding): Buffer | undefined;
  type: string;
  etag: string;
  /** Vite names files under assets/ by a hash of their content: they never change. */
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};
const COMPRESSIBLE = /^(text\/|application\/(json|manifest\+json)|image\/svg)/;

async function* walk(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.isFile()) yield full;
  }
}

function compressor(body: Buffer, type: string): WebFile['encoded'] {
  if (!COMPRESSIBLE.test(type) || body.length <= 512) return () => undefined;
  const made = new Map<Encoding, Buffer | undefined>();
  return (encoding) => {
    if (!made.has(encoding)) {
      const compressed =
        encoding === 'br'
          ? brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } })
          : gzipSync(body, { level: 9 });
      made.set(encoding, compressed.length < body.length ? compressed : undefined);
    }
    return made.get(encoding);
  };
}

/**
 * Reads the build output once at start, keyed by URL path ("/assets/app-1a2b.js"). It is small
 * (a few hundred KB), so serving from memory costs no disk reads per request; each file is
 * compressed once, at its first request, so starting (every test system too) stays cheap.
 * Dot files (the build stamp) are not served. `rewriteHtml` fills in the pages' server settings.
 */
export async function loadWebFiles(
  distDir: string,
  rewriteHtml: (html: string) => string = (html) => html,
): Promise<Map<string, WebFile>> {
  const files = new Map<string, WebFile>();
  for await (const full of walk(distDir)) {
    const relative = path.relative(distDir, full).split(path.sep).join('/');
    if (relative.split('/').some((part) => part.startsWith('.'))) continue;
    const type = TYPES[path.extname(full).toLowerCase()] ?? 'application/octet-stream';
    const read = await readFile(full);
    const body = type.startsWith('text/html') ? Buffer.from(rewriteHtml(read.toString('utf8'))) : read;
    files.set(`/${relative}`, {
      body,
      encoded: compressor(body, type),
      type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      immutable: relative.startsWith('assets/'),
    });
  }
  return files;
}
