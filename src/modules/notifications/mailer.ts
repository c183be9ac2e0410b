import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';

export interface OutgoingMail {
  /** Names the file in the file transport, so a resend overwrites rather than duplicates. */
  id: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  readonly transport: 'smtp' | 'file';
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** SMTP when a URL is configured; otherwise .eml files under `mailDir` (development, tests). */
export function createMailer(options: { smtpUrl?: string; smtpTimeoutMs: number; mailDir: string }): Mailer {
  const message = (mail: OutgoingMail) => ({
    from: mail.from,
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
  });
  if (options.smtpUrl) {
    // Every wait is bounded: a server that accepts and then says nothing fails the send, not the worker.
    const smtp = nodemailer.createTransport({
      url: options.smtpUrl,
      connectionTimeout: options.smtpTimeoutMs,
      greetingTimeout: options.smtpTimeoutMs,
      socketTimeout: options.smtpTimeoutMs,
    });
    return {
      transport: 'smtp',
      async send(mail) {
        await smtp.sendMail(message(mail));
      },
      close: () => smtp.close(),
    };
  }
  const files = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  // Made once, not per message; forgotten if making it failed, so the next message tries again.
  let directory: Promise<unknown> | undefined;
  const ensureDirectory = () => {
    directory ??= mkdir(options.mailDir, { recursive: true }).catch((error: unknown) => {
      directory = undefined;
      throw error;
    });
    return directory;
  };
  return {
    transport: 'file',
    async send(mail) {
      const info = await files.sendMail(message(mail));
      await ensureDirectory();
      const file = path.join(options.mailDir, `${mail.id}.eml`);
      // Write then rename: a reader never sees half a message.
      await writeFile(`${file}.tmp`, info.message as Buffer);
      await rename(`${file}.tmp`, file);
    },
    close: () => files.close(),
  };
}
