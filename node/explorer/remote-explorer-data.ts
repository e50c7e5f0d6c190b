/**
 * The explorer's views from a node over the network: its operations endpoint's data API over HTTPS, presenting a
 * member's client certificate (mutual TLS), so the node authorizes exactly as it would that member's browser. The
 * viewer argument is not used: whoever holds the certificate is the viewer, and the node decides. Answers are
 * attacker-controlled until parsed; the node's refusals come back as the same ExplorerError codes.
 */
import { request } from 'node:https';
import type { AuditQuery } from '../audit/index.ts';
import type { TrustBundleJson } from '../receipts/index.ts';
import { codeOfHttpStatus, ExplorerError } from './errors.ts';
import type { ExplorerData } from './explorer-data.ts';
import type { RecordQuery } from './explorer-query.ts';
import type { AuditView, ConsortiumView, ErrorView, RecordView } from './explorer-views.ts';

export interface RemoteExplorerOptions {
  /** host:port of the node's operations endpoint. */
  readonly node: string;
  /** PEM client certificate and key of the member's user; absent for a node whose explorer is public. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** PEM of the CA that issued the node's TLS certificate. */
  readonly ca: Buffer;
  /** The name in the node's certificate, when it differs from the host in `node`. */
  readonly serverName?: string;
}

/** A node's answer is bounded: a consortium view of thousands of anchors is well under this. */
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

export function remoteExplorerData(options: Readonly<RemoteExplorerOptions>): ExplorerData {
  const get = (path: string, params: Record<string, string | undefined>, signal?: AbortSignal) =>
    fetchFromNode(options, path, params, signal);
  const parsed = async <T>(path: string, params: Record<string, string | undefined>, signal?: AbortSignal) =>
    JSON.parse((await get(path, params, signal)).toString('utf8')) as T;
  return {
    consortium: (_viewer, o = {}) => parsed<ConsortiumView>('consortium', {}, o.signal),
    record: (_viewer, q: RecordQuery, o = {}) => parsed<RecordView>('record', { ...q }, o.signal),
    attestation: async (_viewer, q: RecordQuery, o = {}) =>
      new Uint8Array(await get('attestation', { ...q }, o.signal)),
    trustBundle: (_viewer, o = {}) => parsed<TrustBundleJson>('trust-bundle', {}, o.signal),
    audit: (_viewer, q: AuditQuery, o = {}) => parsed<AuditView>('audit', { ...q }, o.signal),
  };
}

function fetchFromNode(
  options: Readonly<RemoteExplorerOptions>,
  name: string,
  params: Record<string, string | undefined>,
  signal: AbortSignal | undefined,
): Promise<Buffer> {
  const search = new URLSearchParams(
    Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined),
  ).toString();
  const url = new URL(`https://${options.node}/explorer/api/${name}${search === '' ? '' : `?${search}`}`);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        ca: options.ca,
        ...(options.cert && options.key && { cert: options.cert, key: options.key }),
        ...(options.serverName !== undefined && { servername: options.serverName }),
        ...(signal && { signal }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let length = 0;
        res.on('data', (chunk: Buffer) => {
          length += chunk.length;
          if (length > MAX_ANSWER_BYTES) {
            req.destroy(
              new ExplorerError('UNAVAILABLE', `${options.node} answered more than ${MAX_ANSWER_BYTES} bytes`),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          if (status === 200) {
            resolve(body);
            return;
          }
          reject(refusal(options.node, status, body));
        });
      },
    );
    req.on('error', (err) => {
      reject(
        err instanceof ExplorerError
          ? err
          : new ExplorerError('UNAVAILABLE', `cannot reach the explorer of ${options.node}: ${err.message}`, {
              cause: err,
            }),
      );
    });
    req.end();
  });
}

/** The node's ErrorView as an ExplorerError of the same code, field and message. */
function refusal(node: string, status: number, body: Buffer): ExplorerError {
  let view: Partial<ErrorView> = {};
  try {
    view = JSON.parse(body.toString('utf8')) as Partial<ErrorView>;
  } catch {
    // Not the explorer's answer: the status alone says what happened.
  }
  const message = typeof view.message === 'string' ? view.message : `${node} answered HTTP ${status}`;
  const field = typeof view.field === 'string' ? view.field : undefined;
  return new ExplorerError(codeOfHttpStatus(status), message, field === undefined ? {} : { field });
}
