/**
 * `npm run fabric:artefacts`: the consortium's Fabric 2.5 deployment artefacts (README "Deploying on Fabric
 * 2.5"), from the consortium YAML and the crypto material `npm run crypto` wrote (made here if missing):
 *
 *   tsx scripts/fabric-artefacts.ts [--config network/consortium.yaml] [--data-dir .data] [--out <data-dir>/fabric]
 *       [--peer-url grpcs://localhost:7051] [--chaincode-address lianxin_ccaas:9999] [--chaincode-tls-ca <pem>]
 *       [--label lianxin_1.0]
 *
 * Writes configtx.yaml, connection-<MSP>.json per organisation, <label>.tar.gz (the CCaaS package),
 * chaincode.Dockerfile and start-chaincode.sh; prints the package ID.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ledgerNode } from '../network/consortium-ledger.ts';
import {
  ccaasPackage,
  CHAINCODE_DOCKERFILE,
  chaincodeStartCommands,
  configtxYaml,
  connectionProfile,
  FabricArtefactError,
} from '../network/fabric/artefacts.ts';
import { generateCryptoMaterial, loadConsortium, orgPaths, PkiError } from '../network/pki/index.ts';
import { isParseArgsError, USAGE_EXIT_CODE } from './usage-exit.ts';

const USAGE =
  'usage: npm run fabric:artefacts -- [--config network/consortium.yaml] [--data-dir .data] [--out <data-dir>/fabric] [--peer-url grpcs://localhost:7051] [--chaincode-address lianxin_ccaas:9999] [--chaincode-tls-ca <pem>] [--label lianxin_1.0]';

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', default: process.env.LIANXIN_CONFIG ?? 'network/consortium.yaml' },
      'data-dir': { type: 'string', default: process.env.LIANXIN_DATA_DIR ?? '.data' },
      out: { type: 'string' },
      'peer-url': { type: 'string' },
      'chaincode-address': { type: 'string', default: 'lianxin_ccaas:9999' },
      // The CA of the chaincode server's TLS certificate: the peer dials it over TLS (plaintext without).
      'chaincode-tls-ca': { type: 'string' },
      label: { type: 'string', default: 'lianxin_1.0' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const consortium = await loadConsortium(values.config);
  const cryptoDir = join(values['data-dir'], 'crypto');
  await generateCryptoMaterial(consortium, cryptoDir);
  const out = values.out ?? join(values['data-dir'], 'fabric');
  await mkdir(out, { recursive: true });
  // configtxgen resolves these against configtx.yaml's directory.
  const fromOut = (path: string) => relative(out, path);
  const locator = {
    mspDir: (mspId: string) => fromOut(orgPaths(cryptoDir, mspId).msp.dir),
    nodeTlsCert: (mspId: string, nodeName: string) => {
      const node = consortium.organizations.find((o) => o.mspId === mspId)?.nodes.find((n) => n.name === nodeName);
      if (!node) throw new Error(`no node ${nodeName} in ${mspId}`);
      return fromOut(orgPaths(cryptoDir, mspId).node(node).tls.cert);
    },
  };
  const written: string[] = [];
  const write = async (name: string, content: string | Buffer) => {
    await writeFile(join(out, name), content);
    written.push(join(out, name));
  };
  await write('configtx.yaml', configtxYaml(consortium, locator));

  const operator = ledgerNode(consortium);
  const tlsCaPem = await readFile(orgPaths(cryptoDir, operator.org.mspId).tlsca.cert, 'utf8');
  const url = values['peer-url'] ?? `grpcs://localhost:${String(operator.peer.ports.grpc)}`;
  for (const org of consortium.organizations) {
    const profile = connectionProfile(consortium, org.mspId, { url, tlsCaPem });
    await write(`connection-${org.mspId}.json`, `${JSON.stringify(profile, null, 2)}\n`);
  }

  const tlsCa = values['chaincode-tls-ca'];
  const pkg = ccaasPackage({
    label: values.label,
    address: values['chaincode-address'],
    ...(tlsCa === undefined ? {} : { tlsRootCert: await readFile(tlsCa, 'utf8') }),
  });
  await write(`${values.label}.tar.gz`, pkg.bytes);
  await write('chaincode.Dockerfile', CHAINCODE_DOCKERFILE);
  const container = values['chaincode-address'].slice(0, values['chaincode-address'].lastIndexOf(':'));
  await write('start-chaincode.sh', `#!/bin/sh\nset -e\n${chaincodeStartCommands(pkg, container)}`);
  console.log(written.join('\n'));
  console.log(`package ID ${pkg.packageId}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof FabricArtefactError || err instanceof PkiError) console.error(`fabric:artefacts: ${err.message}`);
  else if (isParseArgsError(err)) {
    console.error(`fabric:artefacts: ${err.message}\n${USAGE}`);
  } else console.error(err);
  process.exit(isParseArgsError(err) ? USAGE_EXIT_CODE : 1);
});
