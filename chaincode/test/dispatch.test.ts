/**
 * The compiled package (tsc with decorator metadata, as deployed to Fabric) driven through fabric-shim's real
 * contract dispatcher (contract-spi/chaincodefromcontract.js) and real ClientIdentity parsing of X.509 creators.
 */
import './quiet-logs';
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import type { ChaincodeResponse, ChaincodeStub, SerializedIdentity } from 'fabric-shim-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { FakeLedger } from './fake-stub';

// Not from fixtures: that loads the uncompiled contract, and @Default may be declared once per process.
const MSP = { operator: 'OperatorMSP', bank: 'NanjingBankMSP' } as const;
const chaincodeDir = join(__dirname, '..');
const load = createRequire(join(chaincodeDir, 'package.json'));

interface Chaincode { Invoke(stub: ChaincodeStub): Promise<ChaincodeResponse> }
let chaincode: Chaincode;

async function creator(mspId: string, ou: string, role?: string): Promise<SerializedIdentity> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify']);
  const extensions = role === undefined ? [] : [new x509.Extension('1.2.3.4.5.6.7.8.1', false, Buffer.from(JSON.stringify({ attrs: { 'lianxin.role': role } })))];
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: `C=CN, O=${mspId}, OU=${ou}, CN=user1`, keys, signingAlgorithm: alg, extensions });
  return { mspid: mspId, idBytes: Buffer.from(cert.toString('pem')) };
}

beforeAll(() => {
  execFileSync(process.execPath, [load.resolve('typescript/bin/tsc'), '-p', join(chaincodeDir, 'tsconfig.json')], { stdio: 'inherit' });
  const { contracts } = load('./dist/index.js') as { contracts: unknown[] };
  const ChaincodeFromContract = load('fabric-shim/lib/contract-spi/chaincodefromcontract.js') as new (...args: unknown[]) => Chaincode;
  const { JSONSerializer } = load('fabric-contract-api') as { JSONSerializer: unknown };
  chaincode = new ChaincodeFromContract(contracts, { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } }, {});
}, 120_000);

describe('deployed chaincode through fabric-contract-api dispatch', () => {
  it('bootstraps from an X.509 operator admin and reports errors as "<CODE>: <message>"', async () => {
    const ledger = new FakeLedger();
    const operator = await creator(MSP.operator, 'admin', 'operator');
    const ok = await ledger.invokeChaincode(chaincode, operator, ['RegisterOrganization', MSP.operator, 'Operator', 'Shanghai', 'operator']);
    expect(ok.status).toBe(200);
    expect(JSON.parse(Buffer.from(ok.payload ?? []).toString('utf8'))).toMatchObject({ mspId: MSP.operator, role: 'operator' });

    const bankClient = await creator(MSP.bank, 'client');
    const refused = await ledger.invokeChaincode(chaincode, bankClient, ['lianxin:RegisterOrganization', MSP.bank, 'Bank', 'Nanjing', 'bank']);
    expect(refused).toMatchObject({ status: 500, message: `FORBIDDEN: caller's organisation ${MSP.bank} is not registered` });

    const notAdmin = await ledger.invokeChaincode(chaincode, await creator(MSP.operator, 'client', 'operator'), ['RegisterOrganization', MSP.bank, 'Bank', 'Nanjing', 'bank']);
    expect(notAdmin.message).toMatch(/^FORBIDDEN: /);
    expect((await ledger.invokeChaincode(chaincode, operator, ['RegisterOrganization', MSP.bank, 'Bank', 'Nanjing', 'bank'])).status).toBe(200);

    const read = await ledger.invokeChaincode(chaincode, bankClient, ['GetOrganization', MSP.bank]);
    expect(JSON.parse(Buffer.from(read.payload ?? []).toString('utf8'))).toMatchObject({ mspId: MSP.bank, role: 'bank' });
  }, 60_000);

  it('rejects a wrong argument count before the contract runs', async () => {
    const ledger = new FakeLedger();
    const response = await ledger.invokeChaincode(chaincode, await creator(MSP.operator, 'admin', 'operator'), ['RegisterOrganization', MSP.operator]);
    expect(response).toMatchObject({ status: 500 });
    expect(response.message).toContain('Expected 4 parameters');
  });
});
