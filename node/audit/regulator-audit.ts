/**
 * The regulator's audit as `lianxin audit` runs it, from the regulator node's own configuration (node.yaml): its
 * MSP identity reads the chain (ListAccessReceipts by subject or time is the regulator's alone), and a libp2p host
 * with the node's registered p2p key, dialling only, fetches the bundles: the institutions' nodes serve
 * `/lianxin/audit/1.0.0` only to peer IDs the registry lists for a regulator. Everything opened is closed on return.
 */
import type { NodeConfig } from '../config/index.ts';
import { readP2pKey } from '../keys/index.ts';
import { LianxinChain } from '../ledger/index.ts';
import { connectLedger } from '../node.ts';
import { fetchBundles, loadRegistryView, startP2pHost } from '../p2p/index.ts';
import { auditAccesses, type AuditedAccess, type AuditQuery } from './access-audit.ts';
import { AuditError } from './errors.ts';

/**
 * Runs one audit with the identity and p2p key of the node `config` describes.
 * @throws AuditError `INVALID_CONFIG` (no or bad `keys.p2p`), `INVALID_QUERY`; chain and ledger errors as thrown.
 */
export async function runRegulatorAudit(
  config: NodeConfig,
  query: AuditQuery,
  options: { signal?: AbortSignal } = {},
): Promise<AuditedAccess[]> {
  const keyFile = config.keys.p2p;
  if (keyFile === undefined) {
    throw new AuditError(
      'INVALID_CONFIG',
      '"keys.p2p" is required: bundles are fetched over p2p with the node\'s peer ID',
      {
        field: 'keys.p2p',
      },
    );
  }
  let privateKey;
  try {
    // The node's own reader: one key, and not open to other users — as when the node starts on this file.
    privateKey = await readP2pKey(keyFile, 'keys.p2p');
  } catch (err) {
    throw new AuditError('INVALID_CONFIG', (err as Error).message, { field: 'keys.p2p', cause: err });
  }
  const connection = await connectLedger(config);
  try {
    const chain = new LianxinChain(connection.gateway.getNetwork(config.ledger.channel), config.ledger.chaincode);
    const registry = await loadRegistryView(chain);
    const host = await startP2pHost({ privateKey, listen: [], registry });
    try {
      return await auditAccesses(
        {
          chain,
          keys: registry,
          fetchBundles: (mspId, digests, fetchOptions) =>
            fetchBundles({ host, registry }, mspId, digests, fetchOptions),
        },
        query,
        options,
      );
    } finally {
      await host.stop();
    }
  } finally {
    connection.close();
  }
}
