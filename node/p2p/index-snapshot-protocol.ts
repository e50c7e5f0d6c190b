/**
 * `/lianxin/index-snapshot/1.0.0`: a node serves the chain index snapshots it took (node/chain-index
 * snapshot-store.ts) to the other registered nodes — the gater admits only active institutions' peer IDs. The
 * content is the consortium's chain index, which every node holds anyway; what a requester trusts is decided by
 * the quorum of signed statements and the manifest's chunk hashes (node/chain-index snapshot-quorum.ts), never by
 * this peer.
 *
 * Each stream carries one request, a length-prefixed JSON `{op, digest?}`:
 *   statements            → one frame: the node's signed statements, newest first
 *   manifest <digest>     → one frame: the manifest bytes
 *   chunks <digest> <from> → one frame per chunk from `from`, at most CHUNKS_PER_REQUEST, then an end frame
 *
 * Chunks come a few per request because libp2p buffers what a stream receives before it is read, and resets the
 * stream past 4 MiB: a loader writing to LevelDB reads slower than a server reads files, so the requester asks
 * for the next chunks only when it wants them.
 * Every answer frame starts with a tag byte: 0 data, 1 error (UTF-8 reason), 2 end.
 */
import type { Connection, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import {
  decodeStatements,
  encodeStatements,
  IndexSnapshotError,
  MAX_CHUNK_BYTES,
  MAX_MANIFEST_BYTES,
  parseManifest,
  type SignedStatement,
} from '../chain-index/index.ts';
import { DEFAULT_MESSAGE_TIMEOUT_MS } from './constants.ts';
import type { P2pHost } from './p2p-host.ts';

export const INDEX_SNAPSHOT_PROTOCOL = '/lianxin/index-snapshot/1.0.0';
/** Statements one node lists at most (it keeps a few snapshots). */
const MAX_STATEMENTS = 16;
const MAX_FRAME_BYTES = Math.max(MAX_MANIFEST_BYTES, MAX_CHUNK_BYTES) + 1;
const MAX_REQUEST_BYTES = 256;
/** Two chunks of ≈1 MiB per request: well inside libp2p's 4 MiB read buffer. */
const CHUNKS_PER_REQUEST = 2;
const HEX_64 = /^[0-9a-f]{64}$/;

const DATA = 0;
const ERROR = 1;
const END = 2;

/** What a node serves: its snapshot store (IndexSnapshotStore). */
export interface IndexSnapshotSource {
  statements(): readonly SignedStatement[];
  manifest(digest: string): Promise<Buffer | undefined>;
  chunks(digest: string, lengths: readonly number[], from: number, count: number): AsyncIterable<Buffer>;
}

type Request =
  | { readonly op: 'statements' }
  | { readonly op: 'manifest'; readonly digest: string }
  | { readonly op: 'chunks'; readonly digest: string; readonly from: number };

function parseRequest(bytes: Uint8Array): Request {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new IndexSnapshotError('BAD_MANIFEST', '"request" is not JSON');
  }
  const r = value as Record<string, unknown> | null;
  if (r?.op === 'statements') return { op: 'statements' };
  if (r?.op === 'manifest' && typeof r.digest === 'string' && HEX_64.test(r.digest))
    return { op: r.op, digest: r.digest };
  if (
    r?.op === 'chunks' &&
    typeof r.digest === 'string' &&
    HEX_64.test(r.digest) &&
    typeof r.from === 'number' &&
    Number.isSafeInteger(r.from) &&
    r.from >= 0
  )
    return { op: r.op, digest: r.digest, from: r.from };
  throw new IndexSnapshotError('BAD_MANIFEST', '"request" must be {op: statements|manifest|chunks, digest, from}');
}

const frame = (tag: number, body: Uint8Array = Buffer.alloc(0)): Buffer => Buffer.concat([Buffer.of(tag), body]);

/** The stream handler a node registers for INDEX_SNAPSHOT_PROTOCOL. */
export function indexSnapshotServer(c: {
  readonly source: IndexSnapshotSource;
  readonly onError?: (error: unknown) => void;
}): (stream: Stream, connection: Connection) => void {
  // A transfer asks for chunks a few at a time: the manifest (≈200 KB at 23M entries) is parsed once per snapshot.
  const lengthsCache = new Map<string, readonly number[]>();
  const lengthsOf = (digest: string, manifest: Buffer): readonly number[] => {
    let lengths = lengthsCache.get(digest);
    if (lengths === undefined) {
      lengths = parseManifest(manifest).chunks.map(([, length]) => length);
      if (lengthsCache.size >= MAX_STATEMENTS) lengthsCache.clear();
      lengthsCache.set(digest, lengths);
    }
    return lengths;
  };
  const serve = async (stream: Stream): Promise<void> => {
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
    const request = parseRequest(
      (await lp.read({ signal: AbortSignal.timeout(DEFAULT_MESSAGE_TIMEOUT_MS) })).subarray(),
    );
    // Each chunk gets its own bound: a transfer of gigabytes is long, a stalled reader is not.
    const bound = () => AbortSignal.timeout(DEFAULT_MESSAGE_TIMEOUT_MS);
    if (request.op === 'statements') {
      await lp.write(frame(DATA, encodeStatements(c.source.statements().slice(0, MAX_STATEMENTS))), {
        signal: bound(),
      });
    } else {
      const manifest = await c.source.manifest(request.digest);
      if (manifest === undefined) {
        await lp.write(frame(ERROR, Buffer.from(`no snapshot with manifest ${request.digest}`)), { signal: bound() });
      } else if (request.op === 'manifest') {
        await lp.write(frame(DATA, manifest), { signal: bound() });
      } else {
        const lengths = lengthsOf(request.digest, manifest);
        for await (const chunk of c.source.chunks(request.digest, lengths, request.from, CHUNKS_PER_REQUEST)) {
          await lp.write(frame(DATA, chunk), { signal: bound() });
        }
        await lp.write(frame(END), { signal: bound() });
      }
    }
    await stream.close({ signal: bound() });
  };
  return (stream) => {
    void serve(stream).catch((err: unknown) => {
      c.onError?.(err);
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    });
  };
}

type Host = Pick<P2pHost, 'openStreamTo'>;

/** Opens a request to `address` (a multiaddr ending in /p2p/<peerId>) and yields its answer's data frames. */
async function* ask(
  host: Host,
  address: string,
  request: Request,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  const stream = await host.openStreamTo(address, INDEX_SNAPSHOT_PROTOCOL, signal ? { signal } : {});
  let done = false;
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
    const bound = () => AbortSignal.any([AbortSignal.timeout(DEFAULT_MESSAGE_TIMEOUT_MS), ...(signal ? [signal] : [])]);
    const body = Buffer.from(JSON.stringify(request));
    if (body.length > MAX_REQUEST_BYTES) throw new RangeError('index snapshot request too large');
    await lp.write(body, { signal: bound() });
    for (;;) {
      let answer: Uint8Array;
      try {
        answer = (await lp.read({ signal: bound() })).subarray();
      } catch (err) {
        throw new IndexSnapshotError('UNAVAILABLE', `${address} stopped answering: ${String(err)}`, { cause: err });
      }
      const tag = answer[0];
      if (tag === END) break;
      if (tag === ERROR)
        throw new IndexSnapshotError('NOT_FOUND', `${address}: ${Buffer.from(answer.subarray(1)).toString('utf8')}`);
      if (tag !== DATA) throw new IndexSnapshotError('UNAVAILABLE', `${address} sent a frame tagged ${String(tag)}`);
      yield answer.subarray(1);
      if (request.op !== 'chunks') break;
    }
    done = true;
    await stream.close().catch(() => undefined);
  } finally {
    if (!done) stream.abort(new Error('index snapshot request abandoned'));
  }
}

async function one(host: Host, address: string, request: Request, signal?: AbortSignal): Promise<Uint8Array> {
  for await (const data of ask(host, address, request, signal)) return data;
  throw new IndexSnapshotError('UNAVAILABLE', `${address} sent no answer`);
}

/** The statements of the node at `address`, as sent (the caller verifies them). */
export async function fetchSnapshotStatements(
  host: Host,
  address: string,
  { signal }: { signal?: AbortSignal } = {},
): Promise<SignedStatement[]> {
  return decodeStatements(await one(host, address, { op: 'statements' }, signal), MAX_STATEMENTS);
}

/** The manifest bytes of snapshot `digest`, as sent (the caller checks them against the digest). */
export function fetchSnapshotManifest(
  host: Host,
  address: string,
  digest: string,
  { signal }: { signal?: AbortSignal } = {},
): Promise<Uint8Array> {
  return one(host, address, { op: 'manifest', digest }, signal);
}

/**
 * The `count` chunks of snapshot `digest`, as they arrive (the caller checks each against the manifest), asked for
 * a few at a time as the caller consumes them.
 */
export async function* fetchSnapshotChunks(
  host: Host,
  address: string,
  digest: string,
  count: number,
  { signal }: { signal?: AbortSignal } = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  for (let from = 0; from < count;) {
    let received = 0;
    for await (const chunk of ask(host, address, { op: 'chunks', digest, from }, signal)) {
      received += 1;
      yield chunk;
    }
    // A server that sends nothing more has no more: the loader then finds the stream short of the manifest.
    if (received === 0) return;
    from += received;
  }
}
