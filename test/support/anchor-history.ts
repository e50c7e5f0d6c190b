import type { AnchoredCheckpoint } from '../../node/ledger/index.ts';
import { CHAINCODE_NAME } from './chaincode-network.ts';
import type { TestConsortium } from './test-consortium.ts';

/** The chain's history of anchors of `origin`, oldest first, through ListCheckpoints as a bank. */
export async function anchorHistory(
  members: TestConsortium,
  ledgerAddress: string,
  origin: string,
): Promise<AnchoredCheckpoint[]> {
  const connection = await members.connect(ledgerAddress, 'ShanghaiBankMSP');
  try {
    const contract = connection.gateway.getNetwork(members.consortium.channel).getContract(CHAINCODE_NAME);
    const items: AnchoredCheckpoint[] = [];
    let bookmark = '';
    do {
      const bytes = await contract.evaluateTransaction('ListCheckpoints', origin, '200', bookmark);
      const page = JSON.parse(Buffer.from(bytes).toString('utf8')) as { items: AnchoredCheckpoint[]; bookmark: string };
      items.push(...page.items);
      bookmark = page.bookmark;
    } while (bookmark !== '');
    return items;
  } finally {
    connection.close();
  }
}
