/**
 * The chaincode package deployed as chaincode-as-a-service (issue 3): fabric-shim's `fabric-chaincode-node server`
 * runs the compiled package in its own process, the ledger dials it as a Fabric 2.5 peer dials a CCaaS endpoint, and
 * the official client onboards the consortium and anchors a checkpoint through it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordLog, testUscc } from './support/chaincode-log.ts';
import {
  AGENCY,
  BANK,
  CHAINCODE_DIR,
  CHAINCODE_NAME,
  OPERATOR,
  onboardConsortium,
  registerLogNode,
  startLianxinNetwork,
  type LianxinNetwork,
} from './support/chaincode-network.ts';
import { startChaincodeServer, type ChaincodeServer } from './support/chaincode-server.ts';

let server: ChaincodeServer;
let net: LianxinNetwork;

beforeAll(async () => {
  server = await startChaincodeServer({
    chaincodeId: `${CHAINCODE_NAME}:1`,
    modulePath: CHAINCODE_DIR,
    peerMspId: OPERATOR,
  });
  net = await startLianxinNetwork({ chaincode: { kind: 'service', name: CHAINCODE_NAME, address: server.address } });
});

afterAll(async () => {
  await net.close();
  await server.stop();
});

describe('the chaincode as a service', () => {
  it('onboards the consortium and anchors a checkpoint with index entries through the CLI-started server', async () => {
    await onboardConsortium(net);
    const node = await registerLogNode(net, AGENCY);
    const log = new RecordLog(node.origin);
    for (let n = 0; n < 5; n++) log.append(testUscc(300 + n), 'loan', `record-${n}`);
    const agency = await net.as(AGENCY);
    expect(
      await agency.submit('AnchorCheckpoint', log.checkpoint(node.key), '[]', JSON.stringify(log.entries(0))),
    ).toMatchObject({
      origin: node.origin,
      size: '5',
      indexCount: 5,
    });
    const bank = await net.as(BANK);
    expect(await bank.evaluate('GetIndexChunk', node.origin, '5', '0')).toMatchObject({ entries: log.entries(0) });
  });

  it('reports contract rejections from the server process as chaincode errors', async () => {
    const bankAdmin = await net.as(BANK, 'Admin');
    expect(await bankAdmin.refusedSubmit('SetOrganizationStatus', AGENCY, 'suspended')).toMatchObject({
      code: 'FORBIDDEN',
    });
  });
});
