/**
 * The consortium trust bundle as the chain states it now: the registry (organisations, every key ever registered,
 * every node's log origin) and each organisation's CA certificates from the channel's newest config block. The one
 * builder behind `lianxin bundle export` and the explorer's `trust-bundle.json` (the Verify page's "fetch").
 */
import type { LianxinChain } from '../ledger/index.ts';
import { buildTrustBundle, type TrustBundleJson } from './trust-bundle.ts';

export async function exportTrustBundle(
  chain: Pick<LianxinChain, 'registrySnapshot' | 'channelCaCertificates'>,
  channel: string,
  /** Told of each registered organisation the channel does not list (its entry then has no CA certificates). */
  onNotInChannel: (mspId: string) => void = () => {},
): Promise<TrustBundleJson> {
  const [registry, channelCas] = await Promise.all([chain.registrySnapshot(), chain.channelCaCertificates()]);
  const certificates = registry.organizations.flatMap((org) => {
    const certs = channelCas.get(org.mspId);
    if (certs === undefined) onNotInChannel(org.mspId);
    return certs === undefined ? [] : [certs];
  });
  return buildTrustBundle({ channel, exportedAt: new Date(), ...registry, certificates });
}
