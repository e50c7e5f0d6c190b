/**
 * `npm run ledger -- --chaincode NAME=PATH | NAME=service:HOST:PORT` (scripts/ledger.ts, as npm start runs it):
 * the unmodified fabric-samples asset-transfer-basic chaincode deployed both ways on a ledger process, driven by
 * the official client; malformed flags are refused in one line before anything listens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerNode } from '../network/consortium-ledger.ts';
import type { LedgerConnection } from '../network/client/index.ts';
import { parseLedgerServingLine } from '../scripts/ledger-serving-line.ts';
import { startChaincodeServer, type ChaincodeServer } from './support/chaincode-server.ts';
import { runScript } from './support/run-script.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { ASSET_CONTRACT_DIR } from './support/test-ledger.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const utf8 = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

let members: TestConsortium;
let server: ChaincodeServer;
let ledger: ChildProcess;
let address: string;
let stderr = '';
const connections: LedgerConnection[] = [];

beforeAll(async () => {
  members = await createTestConsortium();
  server = await startChaincodeServer({
    chaincodeId: 'remote:1',
    modulePath: ASSET_CONTRACT_DIR,
    peerMspId: ledgerNode(members.consortium).org.mspId,
  });
  // A relative PATH, as an operator types it from the repository root.
  ledger = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'scripts/ledger.ts',
      '--data-dir',
      members.dir,
      '--port',
      '0',
      '--chaincode',
      'basic=test/fixtures/asset-transfer',
      '--chaincode',
      `remote=service:${server.address}`,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  ledger.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  address = await new Promise<string>((resolve, reject) => {
    createInterface({ input: ledger.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const parsed = parseLedgerServingLine(line);
      if (parsed !== undefined) resolve(parsed);
    });
    ledger.once('exit', (code) => {
      reject(new Error(`ledger exited ${String(code)}: ${stderr}`));
    });
  });
}, 60_000);

afterAll(async () => {
  for (const c of connections) c.close();
  if (ledger.exitCode === null) {
    const exited = once(ledger, 'exit');
    ledger.kill('SIGTERM');
    await exited;
  }
  await server.stop();
  await members.cleanup();
});

async function contract(name: string) {
  const connection = await members.connect(address, 'ShanghaiBankMSP');
  connections.push(connection);
  return connection.gateway.getNetwork(members.consortium.channel).getContract(name);
}

describe('--chaincode on the ledger process', () => {
  it('runs a chaincode package given by PATH in the ledger process', async () => {
    const basic = await contract('basic');
    await basic.submitTransaction('CreateAsset', 'p1', 'blue', '5', 'Tomoko', '300');
    expect(JSON.parse(utf8(await basic.evaluateTransaction('ReadAsset', 'p1')))).toMatchObject({ Owner: 'Tomoko' });
  });

  it('dials a chaincode-as-a-service given by service:HOST:PORT, with its own namespace', async () => {
    const remote = await contract('remote');
    await remote.submitTransaction('CreateAsset', 'r1', 'red', '3', 'Max', '100');
    expect(JSON.parse(utf8(await remote.evaluateTransaction('ReadAsset', 'r1')))).toMatchObject({ Owner: 'Max' });
    // Namespaces are per chaincode, as on a Fabric peer: basic never saw r1.
    const basic = await contract('basic');
    expect(utf8(await basic.evaluateTransaction('AssetExists', 'r1'))).toBe('false');
  });

  it('keeps the consortium chaincode alongside', async () => {
    const lianxin = await contract('lianxin');
    const metadata = JSON.parse(utf8(await lianxin.evaluateTransaction('org.hyperledger.fabric:GetMetadata'))) as {
      contracts: Record<string, unknown>;
    };
    expect(Object.keys(metadata.contracts).length).toBeGreaterThan(1);
  });
});

describe('a malformed --chaincode', () => {
  // Each refusal's words: network/ledger/chaincode/chaincode-spec.test.ts.
  it('is refused in one line before anything listens, exit code 1', async () => {
    const run = await runScript('ledger.ts', '--data-dir', members.dir, '--port', '0', '--chaincode', 'bad name=x');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^lianxin ledger: cannot start: --chaincode name must match .*, got "bad name"\n$/);
  });
});
