import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3 } from '../../../test/support/s3.ts';
import { directoryStorage, type ObjectStorage } from './index.ts';
import { s3Storage } from './s3.ts';

const kinds: Array<[string, () => Promise<{ storage: ObjectStorage; stop(): Promise<void> }>]> = [
  [
    'a directory',
    async () => {
      const root = await mkdtemp(path.join(tmpdir(), 'emporium-objects-'));
      return { storage: directoryStorage(root), stop: () => rm(root, { recursive: true, force: true }) };
    },
  ],
  [
    'an S3-compatible server',
    async () => {
      const s3 = await startS3();
      return { storage: s3Storage(s3.config), stop: s3.stop };
    },
  ],
];

describe.each(kinds)('object storage in %s', (_name, open) => {
  let storage: ObjectStorage;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ storage, stop } = await open());
  });
  afterAll(() => stop());

  it('keeps what is put, answers nothing for a missing key, and deletes a folder', async () => {
    await storage.check();
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    await storage.put('images/a1/original', bytes, 'image/png');
    await storage.put('images/a1/w320.webp', Buffer.from('webp'), 'image/webp');
    await storage.put('images/a10/original', Buffer.from('other'), 'image/png');
    expect(await storage.get('images/a1/original')).toEqual(bytes);
    expect(await storage.get('images/missing/original')).toBeUndefined();

    await storage.deleteByPrefix('images/a1');
    expect(await storage.get('images/a1/original')).toBeUndefined();
    expect(await storage.get('images/a1/w320.webp')).toBeUndefined();
    // A folder whose name only starts the same way is another folder.
    expect((await storage.get('images/a10/original'))?.toString()).toBe('other');
  });

  it('refuses a key that could leave its folder', async () => {
    await expect(storage.put('../escape', Buffer.from('x'), 'text/plain')).rejects.toThrow(/object key/);
  });
});

it('writes a directory object whole: no temporary file is left behind', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'emporium-objects-'));
  const storage = directoryStorage(root);
  await Promise.all(
    Array.from({ length: 20 }, (_, index) =>
      storage.put('images/b/original', Buffer.alloc(10_000, index), 'x'),
    ),
  );
  expect(await readdir(path.join(root, 'images', 'b'))).toEqual(['original']);
  const kept = (await storage.get('images/b/original'))!;
  expect(new Set(kept).size).toBe(1);
  await rm(root, { recursive: true, force: true });
});
