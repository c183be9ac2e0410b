import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { eventually } from './shop.ts';

/** A written .eml with folded headers, quoted-printable soft line breaks and escapes undone. */
export async function readMail(file: string): Promise<string> {
  return (await readFile(file, 'utf8'))
    .replace(/\r?\n[ \t]+/g, ' ')
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** The links matching `link` in the mails of `kind` written to `email` under DATA_DIR/mail (the file transport), oldest first. */
export async function linksMailed(
  dataDir: string,
  kind: string,
  email: string,
  link: RegExp,
): Promise<string[]> {
  const dir = path.join(dataDir, 'mail');
  const files = (await readdir(dir).catch(() => [])).filter((file) => file.endsWith(`-${kind}.eml`));
  const links: string[] = [];
  for (const file of files.sort()) {
    const eml = await readMail(path.join(dir, file));
    const found = eml.includes(`To: ${email}`) && eml.match(link)?.[0];
    if (found) links.push(found);
  }
  return links;
}

/** As `linksMailed`, once there are at least `count` (the worker mails on its own time). */
export function mailedLinks(dataDir: string, kind: string, email: string, link: RegExp, count = 1) {
  return eventually(async () => {
    const links = await linksMailed(dataDir, kind, email, link);
    return links.length >= count ? links : undefined;
  });
}
