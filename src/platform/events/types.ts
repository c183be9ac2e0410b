import { uuidv7 } from '../ids.ts';

/** A CloudEvents 1.0 envelope (structured JSON mode). */
export interface CloudEvent<T = Record<string, unknown>> {
  specversion: '1.0';
  id: string;
  type: string;
  source: string;
  /** The aggregate the event is about (e.g. an order id); delivery is in order per subject. */
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: T;
}

export function cloudEvent<T extends Record<string, unknown>>(
  source: string,
  type: string,
  subject: string,
  data: T,
): CloudEvent<T> {
  return {
    specversion: '1.0',
    id: uuidv7(),
    type,
    source,
    subject,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}

/** Just the envelope's fields (dropping the outbox's bookkeeping), as it goes on the wire. */
export function envelopeOf<T>(event: CloudEvent<T>): CloudEvent<T> {
  const { specversion, id, type, source, subject, time, datacontenttype, data } = event;
  return { specversion, id, type, source, subject, time, datacontenttype, data };
}
