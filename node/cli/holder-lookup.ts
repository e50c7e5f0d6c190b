/**
 * Which node holds a log origin, from the chain's registry: the origin's record names the organisation and node
 * that registered it, the node's record its gRPC endpoint. `attest` names that node when another institution
 * holds the record, and dials it with `--follow`.
 */
import type { Consortium } from '../../network/pki/index.ts';
import { CliError, messageOf } from './errors.ts';
import { withLedger } from './ledger-connection.ts';
import type { Settings } from './settings.ts';

export interface OriginHolder {
  readonly origin: string;
  readonly mspId: string;
  readonly nodeId: string;
  /** host:port as registered. */
  readonly endpoint: string;
  /** Where to dial it and the name its TLS certificate is for (see dialAddress). */
  readonly address: string;
  readonly serverName?: string;
}

/**
 * The holder of `origin`, or why it could not be found (the registry could not be read, or has no such origin
 * or node): never throws for a lookup that failed, since naming the origin alone is still an answer.
 */
export async function lookupHolder(
  settings: Settings,
  origin: string,
): Promise<{ readonly holder: OriginHolder } | { readonly problem: string }> {
  try {
    return await withLedger(settings, async ({ chain, consortium }) => {
      const record = await chain.getOrigin(origin);
      if (record === undefined) return { problem: `the registry has no origin ${origin}` };
      const node = (await chain.listNodes(record.mspId)).find((n) => n.nodeId === record.nodeId);
      if (node === undefined) return { problem: `the registry has no node ${record.nodeId} of ${record.mspId}` };
      return {
        holder: {
          origin,
          mspId: record.mspId,
          nodeId: record.nodeId,
          endpoint: node.endpoint,
          ...dialAddress(consortium, node.endpoint),
        },
      };
    });
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    return { problem: messageOf(err) };
  }
}

/**
 * A registered endpoint whose host the consortium file places (a local network: every node on this host, a
 * port each, `npm start`) is dialled on 127.0.0.1 and checked against that name; any other is dialled as is.
 */
function dialAddress(consortium: Consortium, endpoint: string): { address: string; serverName?: string } {
  const colon = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, colon);
  const local = consortium.organizations.flatMap((o) => o.nodes).some((n) => n.host === host);
  return local ? { address: `127.0.0.1:${endpoint.slice(colon + 1)}`, serverName: host } : { address: endpoint };
}
