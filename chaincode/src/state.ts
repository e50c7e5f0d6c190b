/** World-state access: namespaced composite keys and canonical JSON values. */
import type { Context } from 'fabric-contract-api';
import { canonicalJson } from './canonical-json';

/** Composite-key object types; the `lx.` prefix keeps this contract's keys apart from anything else in the namespace. */
export const NS = {
  settings: 'lx.settings',
  org: 'lx.org',
  node: 'lx.node',
  origin: 'lx.origin',
  key: 'lx.key',
  checkpoint: 'lx.cp',
  checkpointHistory: 'lx.cp.h',
  indexChunk: 'lx.idx.c',
  indexBinary: 'lx.idx.b',
  evidence: 'lx.ev',
  evidenceByDigest: 'lx.ev.d',
  consent: 'lx.consent',
  consentBySubject: 'lx.consent.s',
  receipt: 'lx.rcpt',
  receiptByTime: 'lx.rcpt.t',
  receiptBySubject: 'lx.rcpt.s',
  receiptByRequester: 'lx.rcpt.r',
  receiptByProvider: 'lx.rcpt.p',
} as const;

export async function getJson<T>(ctx: Context, objectType: string, attributes: string[]): Promise<T | undefined> {
  const bytes = await ctx.stub.getState(ctx.stub.createCompositeKey(objectType, attributes));
  return bytes.length === 0 ? undefined : (JSON.parse(Buffer.from(bytes).toString('utf8')) as T);
}

export async function putJson(ctx: Context, objectType: string, attributes: string[], value: unknown): Promise<void> {
  await ctx.stub.putState(
    ctx.stub.createCompositeKey(objectType, attributes),
    Buffer.from(canonicalJson(value), 'utf8'),
  );
}

/** Milliseconds since the epoch of the transaction timestamp: the only clock a deterministic contract may read. */
export function txTime(ctx: Context): number {
  const ts = ctx.stub.getTxTimestamp();
  return Number(ts.seconds.toString()) * 1000 + Math.floor(ts.nanos / 1_000_000);
}

export function emit(ctx: Context, name: string, payload: unknown): void {
  ctx.stub.setEvent(name, Buffer.from(canonicalJson(payload), 'utf8'));
}

/** Fixed-width decimal so that byte order of key attributes is numeric order. */
export function pad(n: number, width: number): string {
  return n.toString().padStart(width, '0');
}
