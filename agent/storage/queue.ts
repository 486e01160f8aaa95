import type { StorageAuth } from './credentials.js';
import { expectStatus, resourceUrl, storageRequest, xmlElements, xmlEscape, xmlText } from './rest.js';

export interface ReceivedMessage {
  messageId: string;
  popReceipt: string;
  dequeueCount: number;
  /** The message text as stored (the agent sends base64 of JSON; see decodeMessageText). */
  text: string;
}

/** The four Queue operations the agent needs (create, send, receive, delete) on one queue. */
export class StorageQueue {
  constructor(
    private readonly auth: StorageAuth,
    private readonly endpoint: string,
    readonly name: string,
  ) {}

  async createIfAbsent(): Promise<void> {
    const res = await storageRequest(this.auth, 'PUT', resourceUrl(this.endpoint, this.name));
    expectStatus(res, [201, 204, 409], `create queue ${this.name}`);
  }

  async send(text: string): Promise<void> {
    const url = resourceUrl(this.endpoint, this.name, 'messages');
    const body = `<?xml version="1.0" encoding="utf-8"?><QueueMessage><MessageText>${xmlEscape(text)}</MessageText></QueueMessage>`;
    const res = await storageRequest(this.auth, 'POST', url, {
      body,
      headers: { 'content-type': 'application/xml' },
    });
    expectStatus(res, [201], `send to queue ${this.name}`);
  }

  async receive(count: number, visibilityTimeoutSeconds: number): Promise<ReceivedMessage[]> {
    const url = resourceUrl(this.endpoint, this.name, 'messages');
    url.searchParams.set('numofmessages', String(count));
    url.searchParams.set('visibilitytimeout', String(visibilityTimeoutSeconds));
    const res = expectStatus(await storageRequest(this.auth, 'GET', url), [200], `receive from queue ${this.name}`);
    return xmlElements(res.body.toString('utf8'), 'QueueMessage').map((m) => ({
      messageId: xmlText(m, 'MessageId') ?? '',
      popReceipt: xmlText(m, 'PopReceipt') ?? '',
      dequeueCount: Number(xmlText(m, 'DequeueCount') ?? 0),
      text: xmlText(m, 'MessageText') ?? '',
    }));
  }

  async delete(message: ReceivedMessage): Promise<void> {
    const url = resourceUrl(this.endpoint, this.name, 'messages', message.messageId);
    url.searchParams.set('popreceipt', message.popReceipt);
    expectStatus(await storageRequest(this.auth, 'DELETE', url), [204, 404], `delete from queue ${this.name}`);
  }
}

/**
 * Messages are base64 of the JSON text on the wire, as the Functions queue trigger expects (host.json
 * messageEncoding "base64"); a command sent as plain JSON text (e.g. by a script) is accepted too.
 */
export function decodeMessageText(text: string): string {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return trimmed;
  return Buffer.from(trimmed, 'base64').toString('utf8');
}

export const encodeMessageText = (json: string): string => Buffer.from(json, 'utf8').toString('base64');
