/** NodeInfoService: who this node is and which keys it signs with, for monitoring and other nodes. */
import packageJson from '../../package.json' with { type: 'json' };
import type { OrgRole } from '../../network/pki/index.ts';
import type { NodeInfoServiceImpl } from '../api/handlers.ts';
import type { TransparencyLog } from '../log/index.ts';

export interface NodeInfoServiceComponents {
  readonly mspId: string;
  readonly role: OrgRole;
  readonly log: Pick<TransparencyLog, 'origin' | 'size'>;
  /** kid (hex SHA-256 of the SPKI DER) of the checkpoint-signing key. */
  readonly logKid: string;
  /** kid of the attestation and receipt signing key. */
  readonly receiptKid: string;
}

/** The software version, as package.json gives it. */
export const NODE_VERSION: string = packageJson.version;

export function createNodeInfoService(c: Readonly<NodeInfoServiceComponents>): NodeInfoServiceImpl {
  return {
    GetNodeInfo: () =>
      Promise.resolve({
        mspId: c.mspId,
        role: c.role,
        logOrigin: c.log.origin,
        // The durable tree size: what the log holds now, checkpointed or not.
        logSize: c.log.size,
        version: NODE_VERSION,
        logKeyId: c.logKid,
        receiptKeyId: c.receiptKid,
      }),
  };
}
