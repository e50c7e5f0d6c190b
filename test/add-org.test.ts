/**
 * Issue 12 end to end: a running consortium whose channel was created without Hefei; `add-org` (the library
 * behind `tsx scripts/network/add-org.ts --org HefeiCreditMSP`) adds Hefei's MSP by a config update signed by a
 * majority of the member admins, registers it, its node and keys, and writes its node.yaml; its node starts from
 * that file, ingests, anchors and attests; a bank's `lianxin verify` accepts the attestation with a trust bundle
 * exported afresh from the chain, whose Hefei CA roots come from the new config block.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerConnection } from '../network/client/index.ts';
import { consortiumLedgerOptions, ledgerNode } from '../network/consortium-ledger.ts';
import { createLedger, type Ledger } from '../network/ledger/index.ts';
import { registerOrganizations, type AdminChain } from '../node/bootstrap/index.ts';
import { lianxin } from '../node/cli/test-io.ts';
import { LianxinChain } from '../node/ledger/index.ts';
import { createNode, type LianxinNode } from '../node/node.ts';
import { parseTrustBundle } from '../node/receipts/index.ts';
import {
  addOrganization,
  admitMissingOrganizations,
  removeOrganization,
  type AddOrganizationOptions,
} from '../scripts/network/add-org.ts';
import { testUscc } from './support/chaincode-log.ts';
import { CHAINCODE_NAME, IN_PROCESS_CHAINCODE, quietChaincodeLogs } from './support/chaincode-network.ts';
import { cliFlags, CONSORTIUM_FILE, createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { quietLogs } from './support/test-node.ts';

const NEW_ORG = 'HefeiCreditMSP';
const BANK = 'ShanghaiBankMSP';

let members: TestConsortium;
let ledger: Ledger;
let node: LianxinNode | undefined;
/** The removal below, as removed-organizations.json records it: with the suspension it made. */
let removal: { removedAt: string; suspendedAt?: string } | undefined;
const connections: LedgerConnection[] = [];

beforeAll(async () => {
  quietChaincodeLogs();
  members = await createTestConsortium();
  const founders = {
    ...members.consortium,
    organizations: members.consortium.organizations.filter((o) => o.mspId !== NEW_ORG),
  };
  ledger = await createLedger(
    await consortiumLedgerOptions({
      consortium: founders,
      cryptoDir: members.cryptoDir,
      dataDir: join(members.dir, 'ledger'),
      chaincodes: [IN_PROCESS_CHAINCODE],
      port: 0,
      batch: { batchTimeoutMs: 10 },
    }),
  );
  const asAdmin: AdminChain = async (mspId) => {
    const connection = await members.connect(ledger.address, mspId, 'Admin');
    connections.push(connection);
    return new LianxinChain(connection.gateway.getNetwork(founders.channel), CHAINCODE_NAME);
  };
  await registerOrganizations(asAdmin, founders.organizations);
}, 60_000);

afterAll(async () => {
  await node?.stop();
  for (const c of connections) c.close();
  await ledger.stop();
  await members.cleanup();
});

describe('add-org on a running channel', () => {
  it('the new institution joins, anchors and attests, and a bank verifies its attestation', async () => {
    const lines: string[] = [];
    const added = await addOrganization({
      consortium: members.consortium,
      mspId: NEW_ORG,
      cryptoDir: members.cryptoDir,
      ledgerAddress: ledger.address,
      dataDir: members.dir,
      node: {
        grpcListen: '127.0.0.1:0',
        metricsListen: '127.0.0.1:0',
        p2pListen: null,
        settings: { log: { level: 'warn' }, checkpoint: { intervalSeconds: 1, leaves: 100 } },
      },
      say: (line) => lines.push(line),
    });
    expect(added.configBlock).toBeGreaterThan(0);
    expect(lines).toContain(`${NEW_ORG} added to channel lianxin by config block ${String(added.configBlock)}`);
    expect(lines).toContain(`registered on chain: ${NEW_ORG}`);

    node = await createNode(added.config, { logDestination: quietLogs() });
    const as = (mspId: string) => cliFlags(node?.address ?? '', members.cryptoDir, mspId);
    const csv = join(members.dir, 'hefei.csv');
    await writeFile(
      csv,
      `subject,kind,version,content_type,content\n${testUscc(1)},loan,1,text/plain,"hefei record"\n`,
    );
    const ingest = await lianxin(['ingest', csv, ...as(NEW_ORG)]);
    expect(ingest).toMatchObject({ code: 0, stderr: '' });
    await node.anchorer.whenAnchored(1);

    const bundleFile = join(members.dir, 'bundle.json');
    const exported = await lianxin([
      'bundle',
      'export',
      '--out',
      bundleFile,
      '--crypto-dir',
      members.cryptoDir,
      '--msp',
      BANK,
      '--consortium',
      CONSORTIUM_FILE,
      '--ledger',
      ledger.address,
    ]);
    expect(exported).toMatchObject({ code: 0, stderr: '' });
    const bundle = parseTrustBundle(await readFile(bundleFile, 'utf8'));
    expect(bundle.originOwner(node.origin)).toBe(NEW_ORG);
    expect(bundle.organization(NEW_ORG)?.rootCerts).toHaveLength(1);

    const attestation = join(members.dir, 'attestation.binpb');
    const attest = await lianxin(['attest', testUscc(1), 'loan', '--out', attestation, ...as(BANK)]);
    expect(attest.code).toBe(0);
    const verify = await lianxin(['verify', attestation, '--bundle', bundleFile, '--require-anchored']);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`origin      ${node.origin}`);
  }, 60_000);

  it('run again, changes nothing: the institution is already a member and registered', async () => {
    const lines: string[] = [];
    const again = await addOrganization(rerunOptions(lines));
    expect(again.configBlock).toBeUndefined();
    expect(lines).toContain(`${NEW_ORG} is already a member of channel lianxin`);
  });

  it('remove-org suspends it and takes it off the channel: its node can no longer reach the chain', async () => {
    const removed = await removeOrganization(rerunOptions([]));
    expect(removed.configBlock).toBeGreaterThan(0);
    removal = {
      removedAt: new Date().toISOString(),
      ...(removed.suspendedAt === undefined ? {} : { suspendedAt: removed.suspendedAt }),
    };
    const hefei = await members.connect(ledger.address, NEW_ORG);
    connections.push(hefei);
    const refused: unknown = await new LianxinChain(hefei.gateway.getNetwork('lianxin'), CHAINCODE_NAME)
      .listOrganizations()
      .catch((e: unknown) => e);
    expect(String(refused)).toMatch(/creator org unknown|FAILED_PRECONDITION/);
    const bank = await members.connect(ledger.address, BANK);
    connections.push(bank);
    const orgs = await new LianxinChain(bank.gateway.getNetwork('lianxin'), CHAINCODE_NAME).listOrganizations();
    expect(orgs.find((o) => o.mspId === NEW_ORG)).toMatchObject({
      status: 'suspended',
      updatedAt: removal.suspendedAt,
    });
  });

  it("npm start's step: every YAML entry missing from the channel joins it (here, the removed one again)", async () => {
    const lines: string[] = [];
    const options = {
      consortium: members.consortium,
      cryptoDir: members.cryptoDir,
      ledgerAddress: ledger.address,
      say: (line: string) => lines.push(line),
    };
    expect(await admitMissingOrganizations(options)).toEqual([NEW_ORG]);
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^${NEW_ORG} added to channel lianxin by config block \\d+$`)),
    ]);
    const hefei = await members.connect(ledger.address, NEW_ORG);
    connections.push(hefei);
    const orgs = await new LianxinChain(hefei.gateway.getNetwork('lianxin'), CHAINCODE_NAME).listOrganizations();
    expect(orgs.map((o) => o.mspId)).toContain(NEW_ORG);
    expect(await admitMissingOrganizations(options)).toEqual([]);
  });

  it('re-adding lifts the suspension of the removal it names; any other suspension needs reactivate', async () => {
    // After the admission above it is a member again but still suspended in the registry. Without the removal's
    // suspension (a data directory that recorded none) that is a suspension for misconduct: add-org refuses.
    const lines: string[] = [];
    const options = rerunOptions(lines);
    await expect(addOrganization(options)).rejects.toThrow(
      `${REFUSED}, not by a removal recorded in this data directory: add --reactivate`,
    );
    expect(lines).toEqual([expect.stringMatching(/^crypto material in /)]);
    // A removal recorded before removals kept their suspension names none: refused, saying so.
    const removedAt = '2026-12-01T08:00:00.000Z';
    await expect(addOrganization({ ...options, removal: { removedAt } })).rejects.toThrow(
      `${REFUSED}, and its removal recorded in this data directory at ${removedAt} names no suspension of its own`,
    );
    await addOrganization({ ...options, ...(removal === undefined ? {} : { removal }) });
    expect(lines).toContain(`${NEW_ORG} active again in the registry`);
  });

  it('refuses to remove the organisation that runs the ledger, saying why, and leaves it active', async () => {
    const operatorId = ledgerNode(members.consortium).org.mspId;
    await expect(removeOrganization({ ...rerunOptions([]), mspId: operatorId })).rejects.toThrow(
      `${operatorId} runs the ledger`,
    );
    expect((await (await operatorChain()).getOrganization(operatorId))?.status).toBe('active');
  });

  it('a removal lifts no suspension it did not make, before it or after it', async () => {
    const operator = await operatorChain();
    // Removed while active, then suspended again by the operator (the regulator's finding): a re-add naming the
    // removal's suspension must not lift the newer one.
    const removed = await removeOrganization(rerunOptions([]));
    expect(removed.suspendedAt).toBeDefined();
    await operator.setOrganizationStatus(NEW_ORG, 'suspended');
    // Removed again while suspended (the regulator's suspension first): this removal suspended nothing.
    expect(await removeOrganization(rerunOptions([]))).toEqual({ configBlock: undefined, suspendedAt: undefined });
    await admitMissingOrganizations({ ...rerunOptions([]), organizations: members.consortium.organizations });
    const removedAt = new Date().toISOString();
    const options = {
      ...rerunOptions([]),
      removal: { removedAt, ...(removed.suspendedAt === undefined ? {} : { suspendedAt: removed.suspendedAt }) },
    };
    await expect(addOrganization(options)).rejects.toThrow(
      `${REFUSED}, changed since the suspension its removal recorded in this data directory at ${removedAt} made`,
    );
    const lines: string[] = [];
    await addOrganization({ ...rerunOptions(lines), reactivate: true });
    expect(lines).toContain(`${NEW_ORG} active again in the registry`);
  });
});

const REFUSED = `${NEW_ORG} is suspended in the registry`;

/** The operator's admin on the running ledger (the registry's suspensions). */
async function operatorChain(): Promise<LianxinChain> {
  const connection = await members.connect(ledger.address, ledgerNode(members.consortium).org.mspId, 'Admin');
  connections.push(connection);
  return new LianxinChain(connection.gateway.getNetwork(members.consortium.channel), CHAINCODE_NAME);
}

/** addOrganization of the new institution again, on the running ledger, its lines said into `lines`. */
function rerunOptions(lines: string[]): AddOrganizationOptions {
  return {
    consortium: members.consortium,
    mspId: NEW_ORG,
    cryptoDir: members.cryptoDir,
    ledgerAddress: ledger.address,
    dataDir: members.dir,
    node: { grpcListen: '127.0.0.1:0', metricsListen: '127.0.0.1:0', p2pListen: null },
    say: (line) => lines.push(line),
  };
}
