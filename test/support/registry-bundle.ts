/** The trust bundle an offline verifier would build from the registry as a member reads it (no CA certificates). */
import { buildTrustBundle, parseTrustBundle, type TrustBundle } from '../../node/receipts/index.ts';
import type { TestNetwork } from './test-node.ts';

export async function registryTrustBundle(net: TestNetwork, asMspId: string): Promise<TrustBundle> {
  const snapshot = await (await net.chain(asMspId)).registrySnapshot();
  return parseTrustBundle(
    buildTrustBundle({
      channel: net.members.consortium.channel,
      exportedAt: new Date(),
      ...snapshot,
      certificates: [],
    }),
  );
}
