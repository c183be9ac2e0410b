import { readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { startS3 } from '../../../test/support/s3.ts';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';
import { s3Storage } from '../../platform/storage/s3.ts';

let skuSequence = 0;
const sku = () => `IMG-${process.pid}-${++skuSequence}`;

/** A multipart/form-data body as a browser's FormData makes it. */
async function form(fields: Record<string, string | { bytes: Buffer; name: string; type: string }>) {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === 'string') data.append(name, value);
    else data.append(name, new Blob([new Uint8Array(value.bytes)], { type: value.type }), value.name);
  }
  const request = new Request('http://localhost/', { method: 'POST', body: data });
  return {
    payload: Buffer.from(await request.arrayBuffer()),
    contentType: request.headers.get('content-type')!,
  };
}

/** A photo taken sideways: 800×600 pixels with EXIF orientation 6 (turn 90°) and a camera's metadata. */
const sidewaysPhoto = () =>
  sharp({ create: { width: 800, height: 600, channels: 3, background: '#c33' } })
    .jpeg()
    .withMetadata({ orientation: 6, exif: { IFD0: { Copyright: 'GPS 52.37N 4.89E', Make: 'Camera' } } })
    .toBuffer();
const png = (width = 400, height = 400) =>
  sharp({ create: { width, height, channels: 4, background: '#3c3' } })
    .png()
    .toBuffer();

const storageKinds = ['a directory', 'S3'] as const;
const cases = dbKinds.flatMap((db) =>
  storageKinds
    .filter((storage) => storage === 'a directory' || db === 'pglite')
    .map((storage) => [db, storage] as const),
);

describe.each(cases)('product images on %s, stored in %s', (kind, storageKind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  let customer: SignedInUser;
  let s3: Awaited<ReturnType<typeof startS3>> | undefined;

  const upload = async (productId: string, fields: Parameters<typeof form>[0], headers = staff.headers) => {
    const body = await form(fields);
    return system.app.inject({
      method: 'POST',
      url: `/v1/products/${productId}/images`,
      headers: { ...headers, 'content-type': body.contentType },
      payload: body.payload,
    });
  };
  const createProduct = async (name: string) => {
    const response = await system.app.inject({
      method: 'POST',
      url: '/v1/products',
      headers: staff.headers,
      payload: { name, variants: [{ sku: sku(), price: { amount: 1000, currency: 'EUR' }, stock: 1 }] },
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json().id as string;
  };
  const product = async (id: string) => (await system.app.inject({ url: `/v1/products/${id}` })).json();
  /** What is stored for an image: its original and renditions (their names). */
  const storedFiles = async (imageId: string): Promise<string[]> => {
    if (s3) {
      const storage = s3Storage(s3.config);
      const original = await storage.get(`images/${imageId}/original`);
      return original ? ['original'] : [];
    }
    return readdir(path.join(system.config.dataDir, 'objects', 'images', imageId)).catch(() => []);
  };

  beforeAll(async () => {
    if (storageKind === 'S3') s3 = await startS3();
    system = await createTestSystem(kind, s3?.env ?? {});
    staff = await signIn(system, 'staff');
    customer = await signIn(system, 'customer');
  });
  afterAll(async () => {
    await system?.dispose();
    await s3?.stop();
  });

  it('keeps an upload upright and without its metadata, lists it on the product and serves renditions', async () => {
    const productId = await createProduct('Sideways jacket');
    const response = await upload(productId, {
      file: { bytes: await sidewaysPhoto(), name: 'IMG_0001.JPG', type: 'image/jpeg' },
      alt: '  A red jacket  ',
    });
    expect(response.statusCode, response.body).toBe(201);
    const image = response.json();
    expect(image).toEqual({
      id: expect.any(String),
      url: `/v1/images/${image.id}`,
      width: 600,
      height: 800,
      alt: 'A red jacket',
    });
    expect(response.headers.location).toBe(image.url);
    expect((await product(productId)).images).toEqual([image]);

    // The original as stored: turned upright, with no EXIF left (the camera, the place).
    const original = await system.app.inject({ url: image.url, headers: { accept: 'image/jpeg' } });
    expect(original.statusCode).toBe(200);
    expect(original.headers['content-type']).toBe('image/jpeg');
    const stored = await sharp(original.rawPayload).metadata();
    expect([stored.width, stored.height, stored.exif, stored.orientation]).toEqual([
      600,
      800,
      undefined,
      undefined,
    ]);
    expect(original.rawPayload.includes(Buffer.from('GPS 52.37N'))).toBe(false);

    // A rendition: the next width up, in the best format the browser names, cached for good.
    const chrome = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
    const small = await system.app.inject({ url: `${image.url}?w=300`, headers: { accept: chrome } });
    expect(small.statusCode).toBe(200);
    expect(small.headers['content-type']).toBe('image/avif');
    expect(small.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(small.headers.vary).toContain('Accept');
    const rendered = await sharp(small.rawPayload).metadata();
    expect([rendered.format, rendered.width, rendered.height]).toEqual(['heif', 320, 427]);
    const webp = await system.app.inject({
      url: `${image.url}?w=300`,
      headers: { accept: 'image/webp,*/*', 'if-none-match': small.headers.etag as string },
    });
    expect(webp.statusCode).toBe(200);
    expect(webp.headers['content-type']).toBe('image/webp');
    expect((await sharp(webp.rawPayload).metadata()).width).toBe(320);
    // Held already: 304; a width beyond the image is the image's own.
    const again = await system.app.inject({
      url: `${image.url}?w=300`,
      headers: { accept: 'image/webp,*/*', 'if-none-match': webp.headers.etag as string },
    });
    expect(again.statusCode).toBe(304);
    const wide = await system.app.inject({ url: `${image.url}?w=4000`, headers: { accept: 'image/webp' } });
    expect((await sharp(wide.rawPayload).metadata()).width).toBe(600);
    // AVIF not named with q above 0: not sent.
    const noAvif = await system.app.inject({
      url: `${image.url}?w=160`,
      headers: { accept: 'image/avif;q=0, image/png' },
    });
    expect(noAvif.headers['content-type']).toBe('image/jpeg');
  });

  it('refuses what is not an image by its content, whatever its name and type say, and writes nothing', async () => {
    const productId = await createProduct('Refusals');
    const text = await upload(productId, {
      file: { bytes: Buffer.from('<?php echo "hello"; ?>'), name: 'photo.jpg', type: 'image/jpeg' },
    });
    expect(text.statusCode).toBe(415);
    expect(text.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(text.json()).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      detail: expect.stringMatching(/JPEG, PNG or WebP/),
    });

    // The right first bytes, then nothing an image decoder can read.
    const broken = await upload(productId, {
      file: {
        bytes: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 7)]),
        name: 'a.jpg',
        type: 'image/jpeg',
      },
    });
    expect(broken.statusCode).toBe(415);
    expect(broken.json().detail).toMatch(/could not be read/);

    const huge = await upload(productId, {
      file: {
        bytes: Buffer.concat([await png(), Buffer.alloc(10 * 1024 * 1024)]),
        name: 'big.png',
        type: 'image/png',
      },
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().code).toBe('PAYLOAD_TOO_LARGE');

    const noFile = await upload(productId, { alt: 'nothing attached' });
    expect(noFile.statusCode).toBe(400);

    const asJson = await system.app.inject({
      method: 'POST',
      url: `/v1/products/${productId}/images`,
      headers: staff.headers,
      payload: { file: 'x' },
    });
    expect(asJson.statusCode).toBe(415);

    for (const contentType of ['multipart/form-data', 'multipart/form-data; boundary=x']) {
      const garbled = await system.app.inject({
        method: 'POST',
        url: `/v1/products/${productId}/images`,
        headers: { ...staff.headers, 'content-type': contentType },
        payload: '--y\r\nnot a form',
      });
      expect(garbled.statusCode, `${contentType}: ${garbled.body}`).toBeGreaterThanOrEqual(400);
      expect(garbled.statusCode).toBeLessThan(500);
    }

    const byCustomer = await upload(
      productId,
      { file: { bytes: await png(), name: 'a.png', type: 'image/png' } },
      customer.headers,
    );
    expect(byCustomer.statusCode).toBe(403);
    const unknown = await upload('0190a0b0-0000-7000-8000-000000000000', {
      file: { bytes: await png(), name: 'a.png', type: 'image/png' },
    });
    expect(unknown.statusCode).toBe(404);
    expect((await product(productId)).images).toEqual([]);
  });

  it('orders images, makes one the main image, changes alt text and removes one with its files', async () => {
    const productId = await createProduct('Gallery');
    const ids: string[] = [];
    for (const size of [200, 300, 400]) {
      const response = await upload(productId, {
        file: { bytes: await png(size, size), name: `${size}.png`, type: 'image/png' },
      });
      expect(response.statusCode, response.body).toBe(201);
      ids.push(response.json().id);
    }
    expect((await product(productId)).images.map((image: { id: string }) => image.id)).toEqual(ids);

    const patch = (imageId: string, body: unknown) =>
      system.app.inject({
        method: 'PATCH',
        url: `/v1/products/${productId}/images/${imageId}`,
        headers: { ...staff.headers, 'content-type': 'application/merge-patch+json' },
        payload: JSON.stringify(body),
      });
    const main = await patch(ids[2], { position: 0, alt: 'The front' });
    expect(main.statusCode, main.body).toBe(200);
    expect(main.json().alt).toBe('The front');
    const shown = (await product(productId)).images;
    expect(shown.map((image: { id: string }) => image.id)).toEqual([ids[2], ids[0], ids[1]]);
    expect(shown[0].alt).toBe('The front');

    const removed = await system.app.inject({
      method: 'DELETE',
      url: `/v1/products/${productId}/images/${ids[0]}`,
      headers: staff.headers,
    });
    expect(removed.statusCode).toBe(204);
    expect((await product(productId)).images.map((image: { id: string }) => image.id)).toEqual([
      ids[2],
      ids[1],
    ]);
    expect((await system.app.inject({ url: `/v1/images/${ids[0]}` })).statusCode).toBe(404);
    expect(await storedFiles(ids[0])).toEqual([]);
    expect(await storedFiles(ids[1])).toContain('original');

    // An image of another product is not this product's to change.
    const other = await createProduct('Other');
    const wrong = await system.app.inject({
      method: 'DELETE',
      url: `/v1/products/${other}/images/${ids[1]}`,
      headers: staff.headers,
    });
    expect(wrong.statusCode).toBe(404);

    // An archived product's images stay as they were.
    await system.app.inject({ method: 'DELETE', url: `/v1/products/${productId}`, headers: staff.headers });
    const afterArchive = await upload(productId, {
      file: { bytes: await png(), name: 'a.png', type: 'image/png' },
    });
    expect(afterArchive.statusCode).toBe(409);
  });
});
