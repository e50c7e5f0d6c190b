/**
 * Paginated reads. Listings use the shim's paginated partial-composite-key query (the peer seeks to the bookmark;
 * Fabric allows it only in evaluate, which is how every query here is called). Time windows inside a composite
 * key cannot use range queries (the shim refuses composite keys there, stub.js validateSimpleKeys), so they scan
 * the partial key in order, skip to the window and stop at its end, with the last returned key as bookmark.
 */
import type { Context } from 'fabric-contract-api';
import { invalid } from './errors';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export interface Page<T> {
  readonly items: T[];
  /** Pass back to get the next page; empty when there is nothing more. */
  readonly bookmark: string;
}

export function pageSizeOf(value: string): number {
  if (value === '') return DEFAULT_PAGE_SIZE;
  if (!/^[1-9]\d{0,2}$/.test(value) || Number(value) > MAX_PAGE_SIZE) return invalid('pageSize', `must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  return Number(value);
}

export async function listPage<T>(ctx: Context, objectType: string, attributes: string[], pageSize: string, bookmark: string): Promise<Page<T>> {
  const size = pageSizeOf(pageSize);
  const { iterator, metadata } = await ctx.stub.getStateByPartialCompositeKeyWithPagination(objectType, attributes, size, bookmark);
  const items: T[] = [];
  try {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      items.push(JSON.parse(Buffer.from(next.value.value).toString('utf8')) as T);
    }
  } finally {
    await iterator.close();
  }
  return { items, bookmark: items.length < size ? '' : metadata.bookmark };
}

/**
 * Scans `objectType`/`attributes` in key order for entries whose next attribute (a fixed-width time) lies in
 * [fromKey, toKey). The bookmark is the base64 of the last key returned.
 */
export async function scanWindow<T>(
  ctx: Context, objectType: string, attributes: string[], fromKey: string, toKey: string, pageSize: string, bookmark: string,
): Promise<Page<T>> {
  const size = pageSizeOf(pageSize);
  const prefix = ctx.stub.createCompositeKey(objectType, attributes);
  const after = bookmark === '' ? '' : Buffer.from(bookmark, 'base64').toString('utf8');
  if (after !== '' && !after.startsWith(prefix)) return invalid('bookmark', 'does not belong to this query');
  const items: T[] = [];
  let last = '';
  const iterator = await ctx.stub.getStateByPartialCompositeKey(objectType, attributes);
  try {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      const { key, value } = next.value;
      const time = ctx.stub.splitCompositeKey(key).attributes[attributes.length] ?? '';
      if (time >= toKey || items.length === size) break;
      if (time < fromKey || key <= after) continue;
      items.push(JSON.parse(Buffer.from(value).toString('utf8')) as T);
      last = key;
    }
  } finally {
    await iterator.close();
  }
  return { items, bookmark: items.length < size ? '' : Buffer.from(last, 'utf8').toString('base64') };
}
