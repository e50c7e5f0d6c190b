/**
 * The YAML configuration of an institution's node in a local consortium (npm start, tests): crypto material from
 * the PKI's MSP folders, the node's own keys and data under `<dataRoot>/nodes/<MSP>`. Written as a file, so an
 * operator can read, edit and reuse it (`node.yaml`).
 */
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { replaceFile } from '../../network/fs/index.ts';
import { ledgerNode } from '../../network/consortium-ledger.ts';
import { orgPaths, type Consortium, type OrgNode, type Organization } from '../../network/pki/index.ts';
import { sha256Hex } from '../../network/crypto/index.ts';
import { ensureNodeKeys, type NodeKeys } from './node-keys.ts';

export interface LocalLedger {
  readonly address: string;
  readonly hostAlias: string;
  readonly tlsCaFile: string;
  readonly channel: string;
  readonly chaincode: string;
}

/** The consortium's embedded ledger as its nodes reach it: the operator's peer, its TLS CA, the channel. */
export function consortiumLedger(
  consortium: Consortium,
  cryptoDir: string,
  address: string,
  chaincode: string,
): LocalLedger {
  const operator = ledgerNode(consortium);
  return {
    address,
    hostAlias: operator.peer.host,
    tlsCaFile: orgPaths(cryptoDir, operator.org.mspId).tlsca.cert,
    channel: consortium.channel,
    chaincode,
  };
}

export interface LocalNodeOptions {
  readonly consortium: Consortium;
  readonly org: Organization;
  readonly node: OrgNode;
  readonly cryptoDir: string;
  /** The node's data, keys and config go to `<dataRoot>/nodes/<MSP>`. */
  readonly dataRoot: string;
  readonly ledger: LocalLedger;
  /** Default: 127.0.0.1 and the node's gRPC port from the consortium; `:0` for a free port. */
  readonly grpcListen?: string;
  readonly metricsListen?: string;
  /**
   * IP:port of the node's libp2p host. Default: 127.0.0.1 and the node's p2p port from the consortium, when its
   * entry has one; null: no p2p (tests that do not exchange reports, so that they share no fixed port).
   */
  readonly p2pListen?: string | null;
  /** Extra fields (e.g. `checkpoint`), merged over the defaults. */
  readonly settings?: Readonly<Record<string, unknown>>;
}

export interface LocalNode {
  readonly configFile: string;
  readonly keys: NodeKeys;
  /** The operator edited node.yaml since it was written: it was kept as it is, not regenerated. */
  readonly operatorEdited: boolean;
  /** Where a torn node.yaml (see {@link writeLocalNodeConfig}) was moved before a new one was written. */
  readonly tornMovedTo?: string;
}

/**
 * Beside node.yaml, the SHA-256 of the text last written to it. A node.yaml whose hash differs was edited by its
 * operator (or predates the stamp) and is never written over; an unedited one follows the consortium's changes.
 */
const GENERATED_STAMP = '.node.yaml.generated-sha256';

/**
 * The operations endpoint of node N (gRPC port 7100+N) listens on 9443+N: next to Fabric's peer operations
 * default (9443) and clear of node_exporter's 9100, so that every node of a local consortium has its own.
 */
const OPERATIONS_PORT_BASE = 9_443;
const GRPC_PORT_BASE = 7_100;
const operationsPort = (grpcPort: number): number => OPERATIONS_PORT_BASE + (grpcPort - GRPC_PORT_BASE);

/**
 * Writes node.yaml (and its stamp) for the node, each whole or not at all (replaceFile), unless the operator edited
 * it. A node.yaml that differs from its stamp but is a strict beginning of the text it would get now was torn by a
 * crash of an older writer (or a power loss), not edited: it is moved to node.yaml.torn (replacing an older one) and
 * written afresh, said so in `tornMovedTo` — kept, it would have been taken for an operator's choice for good, a cut
 * before `p2p:` starting the node with no exchange. Anything else is the operator's, a YAML error too: the node
 * refuses it naming the file and line, and the operator's edit is not thrown away.
 */
export async function writeLocalNodeConfig(options: Readonly<LocalNodeOptions>): Promise<LocalNode> {
  const { org, node } = options;
  // Absolute: the node resolves relative paths against node.yaml's own directory.
  const cryptoDir = resolve(options.cryptoDir);
  const ledger = { ...options.ledger, tlsCaFile: resolve(options.ledger.tlsCaFile) };
  const home = resolve(options.dataRoot, 'nodes', org.mspId);
  await mkdir(home, { recursive: true });
  const keys = await ensureNodeKeys(join(home, 'keys'));
  const paths = orgPaths(cryptoDir, org.mspId).node(node);
  const clientCaBundle = await writeClientCaBundle(options.consortium, cryptoDir);
  // The address register-institution puts on chain for this node: other nodes dial it there.
  const p2pListen = localP2pListen(options);
  const config = {
    mspId: org.mspId,
    role: org.role,
    dataDir: join(home, 'data'),
    grpc: { listen: options.grpcListen ?? `127.0.0.1:${node.ports.grpc}` },
    metrics: { listen: options.metricsListen ?? `127.0.0.1:${operationsPort(node.ports.grpc)}` },
    tls: { cert: paths.tls.cert, key: paths.tls.key, clientCaBundle },
    identity: { mspDir: paths.msp.dir },
    keys: {
      log: keys.files.log,
      receipt: keys.files.receipt,
      ...(p2pListen === undefined ? {} : { p2p: keys.files.p2p }),
    },
    ...(p2pListen === undefined ? {} : { p2p: { listen: p2pListen } }),
    ledger: {
      address: ledger.address,
      tlsCa: ledger.tlsCaFile,
      hostAlias: ledger.hostAlias,
      channel: ledger.channel,
      chaincode: ledger.chaincode,
    },
    ...options.settings,
  };
  const configFile = join(home, 'node.yaml');
  const text = `# ${org.name}: node ${node.name}, written by npm start (node/bootstrap). LIANXIN_* variables override it.\n# Edit freely: npm start regenerates this file only while it is as it wrote it.\n${stringify(config)}`;
  const found = await existingConfig(configFile, join(home, GENERATED_STAMP), text);
  if (found === 'edited') return { configFile, keys, operatorEdited: true };
  const tornMovedTo = found === 'torn' ? `${configFile}.torn` : undefined;
  if (tornMovedTo !== undefined) await rename(configFile, tornMovedTo);
  // node.yaml first: a crash before its stamp leaves it as generated now, which the next run sees as unedited.
  await replaceFile(configFile, text);
  await replaceFile(join(home, GENERATED_STAMP), `${sha256Hex(Buffer.from(text))}\n`);
  return { configFile, keys, operatorEdited: false, ...(tornMovedTo !== undefined && { tornMovedTo }) };
}

/** Where the node's libp2p host listens (undefined: no p2p), as written to node.yaml. */
function localP2pListen(options: Pick<LocalNodeOptions, 'node' | 'p2pListen'>): string | undefined {
  if (options.p2pListen === null) return undefined;
  return (
    options.p2pListen ?? (options.node.ports.p2p === undefined ? undefined : `127.0.0.1:${options.node.ports.p2p}`)
  );
}

/**
 * What node.yaml is: missing or as the generator last wrote it (its stamp) or would write now; torn (see
 * {@link writeLocalNodeConfig}); or edited by its operator (or older than the stamp).
 */
async function existingConfig(
  configFile: string,
  stampFile: string,
  generated: string,
): Promise<'generated' | 'torn' | 'edited'> {
  const current = await readFile(configFile).catch((err: unknown) => {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return undefined;
    throw err;
  });
  const wanted = Buffer.from(generated);
  if (current === undefined || current.equals(wanted)) return 'generated';
  const stamp = await readFile(stampFile, 'utf8').catch(() => undefined);
  if (stamp?.trim() === sha256Hex(current)) return 'generated';
  const isPrefix = current.length < wanted.length && wanted.subarray(0, current.length).equals(current);
  return isPrefix ? 'torn' : 'edited';
}

/** Every member's TLS CA in one PEM file: the node requires client certificates issued by one of them. */
async function writeClientCaBundle(consortium: Consortium, cryptoDir: string): Promise<string> {
  const pems = await Promise.all(
    consortium.organizations.map((o) => readFile(orgPaths(cryptoDir, o.mspId).msp.tlscacert, 'utf8')),
  );
  const file = join(cryptoDir, 'consortium-tls-cas.pem');
  await replaceFile(file, pems.map((pem) => pem.trim()).join('\n') + '\n');
  return file;
}
