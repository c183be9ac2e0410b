import sharp, { type OutputInfo, type Sharp } from 'sharp';
import { type Db, transact } from '../../platform/db/index.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { ObjectStorage } from '../../platform/storage/index.ts';
import { productArchived } from './errors.ts';
import { RENDITION_WIDTHS } from './schemas.ts';
import { type ProductImage, catalogStore as store } from './store.ts';

export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
/** A decompression bomb (a small file of enormous dimensions) is refused before it is decoded. */
const MAX_PIXELS = 40_000_000;

type Format = 'jpeg' | 'png' | 'webp' | 'avif';
const CONTENT_TYPES: Record<Format, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
};
const ENCODING: Record<Format, (image: Sharp) => Sharp> = {
  jpeg: (image) => image.jpeg({ quality: 85, mozjpeg: true }),
  png: (image) => image.png({ compressionLevel: 9 }),
  webp: (image) => image.webp({ quality: 80 }),
  avif: (image) => image.avif({ quality: 55, effort: 2 }),
};

/** What the bytes are, from their first bytes: the file name and the Content-Type a client sends prove nothing. */
export function sniffImage(bytes: Buffer): 'jpeg' | 'png' | 'webp' | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'png';
  if (
    bytes.subarray(0, 4).toString('latin1') === 'RIFF' &&
    bytes.subarray(8, 12).toString('latin1') === 'WEBP'
  )
    return 'webp';
  return undefined;
}

const notAnImage = (detail: string) =>
  new DomainError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported media type', detail);

/** The formats an Accept header names explicitly with a q above 0 (wildcards promise no new format). */
function acceptedFormats(accept: string | undefined): Set<string> {
  const accepted = new Set<string>();
  for (const range of (accept ?? '').toLowerCase().split(',')) {
    const [type, ...params] = range.split(';').map((part) => part.trim());
    const q = params.find((param) => param.startsWith('q='));
    if (q && !(Number(q.slice(2)) > 0)) continue;
    accepted.add(type);
  }
  return accepted;
}

/** The best format this client takes: AVIF, then WebP, else the format the image was uploaded in. */
export function negotiateFormat(accept: string | undefined, original: string): Format {
  const accepted = acceptedFormats(accept);
  if (accepted.has('image/avif')) return 'avif';
  if (accepted.has('image/webp')) return 'webp';
  return (
    (Object.keys(CONTENT_TYPES) as Format[]).find((format) => CONTENT_TYPES[format] === original) ?? 'jpeg'
  );
}

/** The rendition width for a requested one: the next step up, never wider than the image itself. */
export function renditionWidth(requested: number | undefined, imageWidth: number): number {
  if (requested === undefined) return imageWidth;
  const step = RENDITION_WIDTHS.find((width) => width >= requested) ?? RENDITION_WIDTHS.at(-1)!;
  return Math.min(step, imageWidth);
}

export interface Rendition {
  bytes: Buffer;
  contentType: string;
  /** Strong and immutable: an image's bytes never change under its id (a new upload is a new id). */
  etag: string;
}

const imageJson = (row: { id: string; width: number; height: number; alt: string }): ProductImage => ({
  id: row.id,
  url: `/v1/images/${row.id}`,
  width: row.width,
  height: row.height,
  alt: row.alt,
});

/** An image's folder in object storage: its original and its renditions. */
const folderOf = (id: string) => `images/${id}`;
const originalKey = (id: string) => `${folderOf(id)}/original`;

export function createImageService(deps: {
  db: Db;
  storage: ObjectStorage;
  logger: Logger;
  /** Drops the product's cached reads: its images are part of them. */
  evictProduct: (productId: string) => Promise<void>;
}) {
  const { db, storage } = deps;
  // Concurrent first requests for one rendition share one encoding.
  const encoding = new Map<string, Promise<Buffer>>();

  async function assertEditable(productId: string): Promise<void> {
    const state = await store.productState(db, productId);
    if (!state) throw notFound(`Product ${productId}`);
    if (state.archived) throw productArchived();
  }

  /** The product's images in order, locked; 404 unless `imageId` is one of them. */
  async function lockedOrder(tx: Db, productId: string, imageId: string): Promise<string[]> {
    const order = await store.lockImageOrder(tx, productId);
    if (!order.includes(imageId)) throw notFound(`Image ${imageId} of product ${productId}`);
    return order;
  }

  async function original(imageId: string): Promise<Buffer> {
    const bytes = await storage.get(originalKey(imageId));
    if (!bytes) throw notFound(`Image ${imageId}`);
    return bytes;
  }

  async function render(key: string, imageId: string, width: number, format: Format): Promise<Buffer> {
    const stored = await storage.get(key);
    if (stored) return stored;
    const source = await original(imageId);
    const bytes = await ENCODING[format](
      sharp(source, { limitInputPixels: MAX_PIXELS }).resize({ width }),
    ).toBuffer();
    await storage.put(key, bytes, CONTENT_TYPES[format]);
    return bytes;
  }

  return {
    /**
     * Stores an uploaded image after the product's others. The bytes must be a JPEG, PNG or WebP
     * (sniffed); orientation is applied and metadata (EXIF, GPS, camera) stripped before it is kept.
     */
    async upload(productId: string, bytes: Buffer, alt: string): Promise<ProductImage> {
      await assertEditable(productId);
      const format = sniffImage(bytes);
      if (!format) throw notAnImage('Upload a JPEG, PNG or WebP image; this file is none of them');
      let cleaned: { data: Buffer; info: OutputInfo };
      try {
        // sharp writes no metadata unless asked to; rotate() first applies the EXIF orientation.
        cleaned = await ENCODING[format](
          sharp(bytes, { limitInputPixels: MAX_PIXELS, failOn: 'error' }).rotate(),
        ).toBuffer({ resolveWithObject: true });
      } catch (error) {
        deps.logger.info({ err: error }, 'an uploaded image could not be decoded');
        throw notAnImage(`This file looks like a ${format.toUpperCase()} but could not be read as one`);
      }
      const id = uuidv7();
      await storage.put(originalKey(id), cleaned.data, CONTENT_TYPES[format]);
      const image = {
        id,
        productId,
        contentType: CONTENT_TYPES[format],
        width: cleaned.info.width,
        height: cleaned.info.height,
        bytes: cleaned.data.length,
        alt,
      };
      try {
        await store.insertImage(db, image);
      } catch (error) {
        await storage.deleteByPrefix(folderOf(id));
        throw error;
      }
      await deps.evictProduct(productId);
      return imageJson(image);
    },

    /** Changes an image's alt text and/or moves it to `position` (0 makes it the main image). */
    async update(productId: string, imageId: string, change: { alt?: string; position?: number }) {
      await assertEditable(productId);
      const image = await transact(db, async (tx) => {
        const order = await lockedOrder(tx, productId, imageId);
        if (change.alt !== undefined) await store.setImageAlt(tx, imageId, change.alt);
        if (change.position !== undefined) {
          const rest = order.filter((id) => id !== imageId);
          rest.splice(Math.min(change.position, rest.length), 0, imageId);
          await store.setImageOrder(tx, productId, rest);
        }
        return (await store.imageById(tx, imageId))!;
      });
      await deps.evictProduct(productId);
      return imageJson(image);
    },

    async remove(productId: string, imageId: string): Promise<void> {
      await assertEditable(productId);
      await transact(db, async (tx) => {
        const order = await lockedOrder(tx, productId, imageId);
        await store.deleteImage(tx, imageId);
        await store.setImageOrder(
          tx,
          productId,
          order.filter((id) => id !== imageId),
        );
      });
      await deps.evictProduct(productId);
      // After the commit: a failed delete leaves unreferenced files, never a product showing a missing image.
      await storage.deleteByPrefix(folderOf(imageId)).catch((error) => {
        deps.logger.warn({ err: error, imageId }, 'the files of a removed image could not be deleted');
      });
    },

    /** The image at the requested width in the best format the client accepts (encoded once, then stored). */
    async rendition(
      imageId: string,
      requestedWidth: number | undefined,
      accept: string | undefined,
    ): Promise<Rendition> {
      const image = await store.imageById(db, imageId);
      if (!image) throw notFound(`Image ${imageId}`);
      const width = renditionWidth(requestedWidth, image.width);
      const format = negotiateFormat(accept, image.contentType);
      const etag = `"${imageId}.${width}.${format}"`;
      if (width === image.width && CONTENT_TYPES[format] === image.contentType)
        return { bytes: await original(imageId), contentType: image.contentType, etag };
      const key = `${folderOf(imageId)}/w${width}.${format}`;
      let pending = encoding.get(key);
      if (!pending) {
        pending = render(key, imageId, width, format).finally(() => encoding.delete(key));
        encoding.set(key, pending);
      }
      return { bytes: await pending, contentType: CONTENT_TYPES[format], etag };
    },
  };
}

export type ImageService = ReturnType<typeof createImageService>;
