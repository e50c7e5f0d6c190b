/**
 * Fabric 2.5 deployment artefacts of a consortium, from the same YAML and crypto material as the embedded
 * ledger (DESIGN §8, reference fabric-operations §2, §5): configtx.yaml for configtxgen, one common connection
 * profile per organisation, and the contract's chaincode-as-a-service package with the command that runs it.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { ledgerNode } from '../consortium-ledger.ts';
import type { Consortium, Organization } from '../pki/index.ts';
import { tarGz } from './tar.ts';

export type FabricArtefactErrorCode = 'BAD_LABEL' | 'BAD_ADDRESS' | 'BAD_URL' | 'BAD_TLS_CA';

export class FabricArtefactError extends Error {
  override readonly name = 'FabricArtefactError';
  constructor(
    readonly code: FabricArtefactErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Where configtx.yaml finds an organisation's MSP folder and a node's TLS certificate, relative to itself. */
export interface CryptoLocator {
  mspDir(mspId: string): string;
  nodeTlsCert(mspId: string, nodeName: string): string;
}

/** Fabric's channel-participation profile (test-network configtx.yaml ChannelUsingRaft), with the orderer the
 * consortium's operator runs as the single Raft consenter. */
export const CHANNEL_PROFILE = 'LianxinChannel';

const signature = (rule: string) => ({ Type: 'Signature', Rule: rule });
const implicit = (rule: string) => ({ Type: 'ImplicitMeta', Rule: rule });

function orgSection(org: Organization, crypto: CryptoLocator, consortium: Consortium) {
  const id = org.mspId;
  const operator = ledgerNode(consortium);
  const section: Record<string, unknown> = {
    Name: id,
    ID: id,
    MSPDir: crypto.mspDir(id),
    // addOrg3/configtx.yaml's, but for Writers: the institution's node proposes and submits with its peer-OU
    // identity (peers/<node>/msp), which test-network's admin-or-client Writers refuses ("access denied" at
    // Endorse); the embedded ledger's genesis lets any member write, so the same node would pass there and fail here.
    Policies: {
      Readers: signature(`OR('${id}.admin', '${id}.peer', '${id}.client')`),
      Writers: signature(`OR('${id}.admin', '${id}.peer', '${id}.client')`),
      Admins: signature(`OR('${id}.admin')`),
      Endorsement: signature(`OR('${id}.peer')`),
    },
  };
  if (id === operator.org.mspId) {
    section.OrdererEndpoints = [`${operator.orderer.host}:${String(operator.orderer.ports.grpc)}`];
    section.AnchorPeers = [{ Host: operator.peer.host, Port: operator.peer.ports.grpc }];
  }
  return section;
}

/** configtx.yaml: `configtxgen -profile LianxinChannel -outputBlock lianxin.block -channelID <channel>`. */
export function configtxYaml(consortium: Consortium, crypto: CryptoLocator): string {
  const operator = ledgerNode(consortium);
  const organizations = consortium.organizations.map((o) => orgSection(o, crypto, consortium));
  const ordererOrg = organizations.find((o) => o.ID === operator.org.mspId);
  const capabilities = { Channel: { V2_0: true }, Orderer: { V2_0: true }, Application: { V2_5: true } };
  const application = {
    Organizations: null,
    Policies: {
      Readers: implicit('ANY Readers'),
      Writers: implicit('ANY Writers'),
      Admins: implicit('MAJORITY Admins'),
      LifecycleEndorsement: implicit('MAJORITY Endorsement'),
      Endorsement: implicit('MAJORITY Endorsement'),
    },
    Capabilities: capabilities.Application,
  };
  const ordererHost = `${operator.orderer.host}:${String(operator.orderer.ports.grpc)}`;
  const orderer = {
    OrdererType: 'etcdraft',
    Addresses: [ordererHost],
    EtcdRaft: {
      Consenters: [
        {
          Host: operator.orderer.host,
          Port: operator.orderer.ports.grpc,
          ClientTLSCert: crypto.nodeTlsCert(operator.org.mspId, operator.orderer.name),
          ServerTLSCert: crypto.nodeTlsCert(operator.org.mspId, operator.orderer.name),
        },
      ],
    },
    // Fabric's sampleconfig values but PreferredMaxBytes, test-network's 512 KB: a bulk anchor (≈1 MB: 10,000
    // entries) is then larger than a preferred batch, so the blockcutter cuts it alone at once instead of after the
    // 2 s BatchTimeout.
    // The embedded ledger cuts at the same sizes (network/ledger/orderer/batch-options.ts, DEFAULT_BATCH_OPTIONS);
    // only its timeout is shorter, being one process.
    BatchTimeout: '2s',
    BatchSize: { MaxMessageCount: 500, AbsoluteMaxBytes: '10 MB', PreferredMaxBytes: '512 KB' },
    Organizations: null,
    Policies: {
      Readers: implicit('ANY Readers'),
      Writers: implicit('ANY Writers'),
      Admins: implicit('MAJORITY Admins'),
      BlockValidation: implicit('ANY Writers'),
    },
  };
  const channel = {
    Policies: {
      Readers: implicit('ANY Readers'),
      Writers: implicit('ANY Writers'),
      Admins: implicit('MAJORITY Admins'),
    },
    Capabilities: capabilities.Channel,
  };
  const document = {
    Organizations: organizations,
    Capabilities: capabilities,
    Application: application,
    Orderer: orderer,
    Channel: channel,
    Profiles: {
      [CHANNEL_PROFILE]: {
        ...channel,
        Orderer: { ...orderer, Organizations: [ordererOrg], Capabilities: capabilities.Orderer },
        // Every organisation, the operator's included: its peer is the one that endorses on the embedded ledger.
        Application: { ...application, Organizations: organizations },
      },
    },
  };
  return `# Generated by npm run fabric:artefacts from the consortium YAML; configtxgen reads it (FABRIC_CFG_PATH).\n${stringify(document, { aliasDuplicateObjects: false, lineWidth: 0 })}`;
}

/** A common connection profile (fabric-samples test-network ccp-template.json) for one organisation's apps. */
export interface ConnectionProfile {
  readonly name: string;
  readonly version: '1.0.0';
  readonly client: { readonly organization: string; readonly connection: { readonly timeout: unknown } };
  readonly organizations: Record<string, { readonly mspid: string; readonly peers: readonly string[] }>;
  readonly peers: Record<
    string,
    {
      readonly url: string;
      readonly tlsCACerts: { readonly pem: string };
      readonly grpcOptions: { readonly 'ssl-target-name-override': string; readonly hostnameOverride: string };
    }
  >;
}

/**
 * The profile names the consortium's gateway peer (the ledger's) under the operator organisation, and the
 * client's organisation with its own peers, none in Lianxin: apps connect to the gateway peer.
 */
export function connectionProfile(
  consortium: Consortium,
  clientMspId: string,
  gateway: { readonly url: string; readonly tlsCaPem: string },
): ConnectionProfile {
  if (!/^grpcs?:\/\/[^/\s]+:\d+$/.test(gateway.url)) {
    throw new FabricArtefactError('BAD_URL', `peer url must be grpcs://HOST:PORT, got ${JSON.stringify(gateway.url)}`);
  }
  const operator = ledgerNode(consortium);
  const peerName = operator.peer.host;
  const organizations: ConnectionProfile['organizations'] = {
    [operator.org.mspId]: { mspid: operator.org.mspId, peers: [peerName] },
  };
  if (clientMspId !== operator.org.mspId) organizations[clientMspId] = { mspid: clientMspId, peers: [] };
  return {
    name: `${consortium.channel}-${clientMspId}`,
    version: '1.0.0',
    client: { organization: clientMspId, connection: { timeout: { peer: { endorser: '300' } } } },
    organizations,
    peers: {
      [peerName]: {
        url: gateway.url,
        tlsCACerts: { pem: gateway.tlsCaPem },
        grpcOptions: { 'ssl-target-name-override': peerName, hostnameOverride: peerName },
      },
    },
  };
}

/** What a Fabric Gateway client dials, read from a profile: the client org's peer, else the first one listed. */
export function gatewayPeerOf(profile: ConnectionProfile): {
  readonly address: string;
  readonly tlsRootCertPem: string;
  readonly hostAlias: string;
} {
  const own = profile.organizations[profile.client.organization]?.peers ?? [];
  const name = own[0] ?? Object.values(profile.organizations).flatMap((o) => o.peers)[0];
  const peer = name === undefined ? undefined : profile.peers[name];
  if (name === undefined || peer === undefined) {
    throw new FabricArtefactError('BAD_URL', `connection profile ${profile.name} names no peer`);
  }
  return {
    address: peer.url.replace(/^grpcs?:\/\//, ''),
    tlsRootCertPem: peer.tlsCACerts.pem,
    hostAlias: peer.grpcOptions['ssl-target-name-override'],
  };
}

/** core/chaincode/persistence/chaincode_package.go LabelRegexp. */
const LABEL = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$/;

export interface CcaasPackage {
  /** The package file (`peer lifecycle chaincode install <file>`). */
  readonly bytes: Buffer;
  /** `<label>:<hex SHA-256 of the file>`: what the chaincode server needs as CHAINCODE_ID. */
  readonly packageId: string;
  readonly connection: Record<string, unknown>;
}

/**
 * The chaincode-as-a-service package: metadata.json {type: ccaas, label} and code.tar.gz holding
 * connection.json, which the ccaas_builder's release step copies to chaincode/server/ for the peer to dial.
 */
export function ccaasPackage(options: {
  readonly label: string;
  /** host:port the peer dials (the chaincode container's name on the Docker network, in test-network). */
  readonly address: string;
  readonly dialTimeout?: string;
  /**
   * PEM of the CA that issued the chaincode server's TLS certificate: the peer then dials it over TLS and checks it
   * against this (connection.json `root_cert`). Absent, the peer and the chaincode talk in plaintext.
   */
  readonly tlsRootCert?: string;
}): CcaasPackage {
  if (!LABEL.test(options.label)) {
    throw new FabricArtefactError(
      'BAD_LABEL',
      `label must match ${LABEL.source}, got ${JSON.stringify(options.label)}`,
    );
  }
  if (!/^[^\s:]+:\d{1,5}$/.test(options.address)) {
    throw new FabricArtefactError(
      'BAD_ADDRESS',
      `chaincode address must be HOST:PORT, got ${JSON.stringify(options.address)}`,
    );
  }
  const { tlsRootCert } = options;
  if (tlsRootCert !== undefined && !/^-----BEGIN CERTIFICATE-----\r?\n/.test(tlsRootCert)) {
    throw new FabricArtefactError('BAD_TLS_CA', 'the chaincode TLS CA must be a PEM certificate');
  }
  const connection = {
    address: options.address,
    dial_timeout: options.dialTimeout ?? '10s',
    tls_required: tlsRootCert !== undefined,
    ...(tlsRootCert === undefined ? {} : { root_cert: tlsRootCert }),
  };
  const code = tarGz([{ name: 'connection.json', content: `${JSON.stringify(connection, null, 2)}\n` }]);
  const metadata = JSON.stringify({ type: 'ccaas', label: options.label });
  const bytes = tarGz([
    { name: 'metadata.json', content: metadata },
    { name: 'code.tar.gz', content: code },
  ]);
  const packageId = `${options.label}:${createHash('sha256').update(bytes).digest('hex')}`;
  return { bytes, packageId, connection };
}

/** The contract's image, built from chaincode/ (fabric-samples' CCaaS chaincode Dockerfiles). */
export const CHAINCODE_DOCKERFILE = `# docker build -t lianxin_ccaas_image:latest -f <this file> chaincode/   (after npm run build --workspace chaincode)
FROM node:22-alpine
WORKDIR /usr/src/app
COPY package.json ./
RUN npm install --omit=dev --no-audit --no-fund
COPY dist ./dist
ENV CHAINCODE_SERVER_ADDRESS=0.0.0.0:9999
EXPOSE 9999
# CHAINCODE_ID is the package ID printed by \`peer lifecycle chaincode calculatepackageid\`.
# CHAINCODE_TLS_CERT_FILE and CHAINCODE_TLS_KEY_FILE (PEM, both or neither): the server speaks TLS only.
CMD ["sh", "-c", "npx fabric-chaincode-node server --chaincode-address=$CHAINCODE_SERVER_ADDRESS --chaincode-id=$CHAINCODE_ID \${CHAINCODE_TLS_CERT_FILE:+--chaincode-tls-cert-file=$CHAINCODE_TLS_CERT_FILE} \${CHAINCODE_TLS_KEY_FILE:+--chaincode-tls-key-file=$CHAINCODE_TLS_KEY_FILE}"]
`;

/** Where the contract's container finds its TLS certificate and key (mounted from CHAINCODE_TLS_DIR). */
const CONTAINER_TLS_DIR = '/etc/lianxin/chaincode-tls';

/**
 * How to run the contract server: in Docker on test-network's network (the script's one command), listening on
 * the port of the address the peer dials; on the host as a comment, for whoever runs it there instead.
 */
export function chaincodeStartCommands(pkg: CcaasPackage, containerName: string): string {
  const address = String(pkg.connection.address);
  const listen = `0.0.0.0:${address.slice(address.lastIndexOf(':') + 1)}`;
  if (pkg.connection.tls_required !== true) {
    return `# The Lianxin contract as chaincode-as-a-service, package ID ${pkg.packageId}
# In Docker, on fabric-samples test-network's network (the peer dials ${address}, in plaintext):
docker run --rm -d --name ${containerName} --network fabric_test \\
  -e CHAINCODE_ID=${pkg.packageId} -e CHAINCODE_SERVER_ADDRESS=${listen} lianxin_ccaas_image:latest
# Or instead on the host, from the repository root:
# CHAINCODE_ID=${pkg.packageId} CHAINCODE_SERVER_ADDRESS=${listen} npm run start:server --workspace chaincode
`;
  }
  const tls = `${CONTAINER_TLS_DIR}/server`;
  return `# The Lianxin contract as chaincode-as-a-service, package ID ${pkg.packageId}
# In Docker, on fabric-samples test-network's network (the peer dials ${address} over TLS, checking the
# server's certificate against the package's root_cert): CHAINCODE_TLS_DIR holds server.crt (for the name
# the peer dials) and server.key.
docker run --rm -d --name ${containerName} --network fabric_test \\
  -v "\${CHAINCODE_TLS_DIR:?the folder of the chaincode server's server.crt and server.key}:${CONTAINER_TLS_DIR}:ro" \\
  -e CHAINCODE_TLS_CERT_FILE=${tls}.crt -e CHAINCODE_TLS_KEY_FILE=${tls}.key \\
  -e CHAINCODE_ID=${pkg.packageId} -e CHAINCODE_SERVER_ADDRESS=${listen} lianxin_ccaas_image:latest
# Or instead on the host, from the repository root:
# CHAINCODE_ID=${pkg.packageId} CHAINCODE_SERVER_ADDRESS=${listen} npm run start:server --workspace chaincode -- \\
#   --chaincode-tls-cert-file=$CHAINCODE_TLS_DIR/server.crt --chaincode-tls-key-file=$CHAINCODE_TLS_DIR/server.key
`;
}
