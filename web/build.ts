import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

const WEB = import.meta.dirname;
const ROOT = path.dirname(WEB);
const DIST = path.join(WEB, 'dist');
/** A digest of everything the build reads, written into the output after a build. */
const STAMP = path.join(DIST, '.build-inputs');

async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && !entry.name.endsWith('.test.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** Content, not modification times: a fresh clone or a branch switch gives every file a new mtime. */
export async function inputsDigest(): Promise<string> {
  const files = [
    path.join(WEB, 'index.html'),
    path.join(WEB, 'admin/index.html'),
    path.join(WEB, 'vite.config.ts'),
    path.join(ROOT, 'src/modules/web/pages.ts'),
    path.join(ROOT, 'package-lock.json'),
    ...(await filesUnder(path.join(WEB, 'src'))),
    ...(await filesUnder(path.join(WEB, 'public'))),
  ].sort();
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(path.relative(ROOT, file)).update('\0');
    hash.update(await readFile(file)).update('\0');
  }
  return hash.digest('hex');
}

/** Builds web/dist unless it was built from exactly these inputs; true when it built. */
export async function buildWeb(options: { ifStale?: boolean } = {}): Promise<boolean> {
  const digest = await inputsDigest();
  if (options.ifStale && existsSync(STAMP) && (await readFile(STAMP, 'utf8')) === digest) return false;
  // Vite loads only when a build is needed: `npm start` on a built checkout stays fast.
  const { build } = await import('vite');
  // Built beside web/dist and swapped in by rename, so a server starting meanwhile (another test
  // file's) reads the old build or the new one, never a half-written directory.
  const staging = `${DIST}.staging-${process.pid}`;
  const retired = `${DIST}.retired-${process.pid}`;
  await build({
    configFile: path.join(WEB, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: staging, emptyOutDir: true },
  });
  await writeFile(path.join(staging, path.basename(STAMP)), digest);
  await rename(DIST, retired).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await rename(staging, DIST);
  await rm(retired, { recursive: true, force: true });
  return true;
}

if (import.meta.main) {
  const ifStale = process.argv.includes('--if-stale');
  const started = performance.now();
  const built = await buildWeb({ ifStale });
  process.stdout.write(
    built
      ? `web: built web/dist in ${Math.round(performance.now() - started)} ms\n`
      : 'web: web/dist is up to date\n',
  );
}
