import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ObjectStorageConfig } from '../../config.ts';
import { assertKey } from './key.ts';
import { s3Storage } from './s3.ts';

/**
 * Where uploaded files live: keys are slash-separated paths (`images/<id>/original`). Objects are
 * written once and never changed in place, so readers need no locking.
 */
export interface ObjectStorage {
  readonly kind: 'directory' | 's3';
  put(key: string, bytes: Buffer, contentType: string): Promise<void>;
  /** The object's bytes, or undefined when there is none under the key. */
  get(key: string): Promise<Buffer | undefined>;
  /** Removes every object under the folder `prefix` (keys that start with `prefix/`). */
  deleteByPrefix(prefix: string): Promise<void>;
  /** Throws when the storage cannot be reached (readiness). */
  check(): Promise<void>;
}

/** Objects as files under a directory; each write lands whole (a temporary file, then a rename). */
export function directoryStorage(root: string): ObjectStorage {
  const file = (key: string) => {
    assertKey(key);
    return path.join(root, ...key.split('/'));
  };
  return {
    kind: 'directory',
    async put(key, bytes) {
      const target = file(key);
      await mkdir(path.dirname(target), { recursive: true });
      const temporary = `${target}.${randomUUID()}.tmp`;
      await writeFile(temporary, bytes);
      await rename(temporary, target);
    },
    async get(key) {
      try {
        return await readFile(file(key));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async deleteByPrefix(prefix) {
      assertKey(prefix);
      await rm(path.join(root, ...prefix.split('/')), { recursive: true, force: true });
    },
    async check() {
      await mkdir(root, { recursive: true });
    },
  };
}

/** S3-compatible storage when configured, otherwise a directory under DATA_DIR. */
export function openObjectStorage(config: ObjectStorageConfig | undefined, dataDir: string): ObjectStorage {
  return config ? s3Storage(config) : directoryStorage(path.join(dataDir, 'objects'));
}
