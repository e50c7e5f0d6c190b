/**
 * The consortium explorer as a read-only local server, for a member without a browser certificate:
 *
 *   npm run explorer -- --node 127.0.0.1:9445 --cert user.crt --key user.key --tls-ca tlsca.pem
 *                       [--server-name node0.hangzhoucredit.example.com] [--listen 127.0.0.1:8088 [--allow-remote]]
 *
 * `--node` is the node's operations endpoint (operations.tls enabled); the pages are served on `--listen` and every
 * view is fetched from the node with that client certificate, so whoever reaches the listener sees what the
 * certificate's holder may see: it is loopback unless `--allow-remote` says otherwise. Without --cert/--key, a node
 * whose explorer is public. Exit code 2: usage error; 1: the TLS pair cannot be used (a key open to other users, a key
 * not the certificate's, a missing file: named).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadTlsKeyPair, PkiError, type TlsKeyPair } from '../network/pki/index.ts';
import { hostOf } from '../node/config/node-config.ts';
import { startRemoteExplorer } from '../node/explorer/index.ts';
import { isLoopbackHost } from '../node/operations/index.ts';

const USAGE =
  'usage: npm run explorer -- --node host:port --tls-ca ca.pem [--cert user.crt --key user.key] ' +
  '[--server-name name] [--listen 127.0.0.1:8088 [--allow-remote]]';
const DEFAULT_LISTEN = '127.0.0.1:8088';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        node: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        'tls-ca': { type: 'string' },
        'server-name': { type: 'string' },
        listen: { type: 'string', default: DEFAULT_LISTEN },
        'allow-remote': { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { node, cert, key, 'tls-ca': tlsCa, 'server-name': serverName, listen, 'allow-remote': remote } = values;
  if (node === undefined || tlsCa === undefined || (cert === undefined) !== (key === undefined)) {
    console.error(`--node and --tls-ca are required, --cert and --key go together\n${USAGE}`);
    return 2;
  }
  if (!remote && !isLoopbackHost(hostOf(listen))) {
    console.error(
      `--listen ${listen} is not a loopback address: whoever reaches it sees what the certificate's holder may see; ` +
        `add --allow-remote to mean it\n${USAGE}`,
    );
    return 2;
  }
  let clientTls: TlsKeyPair | undefined;
  try {
    // The key by the key file rules (its owner's alone, one key, the certificate's), as every lianxin command reads it.
    clientTls = cert === undefined || key === undefined ? undefined : await loadTlsKeyPair(cert, key);
  } catch (err) {
    if (!(err instanceof PkiError)) throw err;
    console.error(`explorer: ${err.message}`);
    return 1;
  }
  const server = await startRemoteExplorer({
    node,
    ca: await readFile(tlsCa),
    listen,
    ...(clientTls && { cert: Buffer.from(clientTls.certPem), key: Buffer.from(clientTls.keyPem) }),
    ...(serverName !== undefined && { serverName }),
  });
  // The line a wrapper (or a test) waits for.
  console.log(`explorer ${server.url} (read-only, from ${node})`);
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return new Promise<number>(() => undefined);
}

process.exitCode = await main();
