/**
 * Where each file of an organisation lives: Fabric's MSP folder layout as cryptogen writes it
 * (`internal/cryptogen/msp/generator.go`), so the same tree mounts into a real Fabric peer or orderer.
 */
import { join } from 'node:path';
import type { OrgNode } from './consortium-config.ts';

/** An MSP folder: the CAs it trusts and its NodeOU configuration. */
export interface MspPaths {
  readonly dir: string;
  readonly cacert: string;
  readonly tlscacert: string;
  /** Fabric's NodeOUs file. */
  readonly config: string;
}

/** A local MSP (signing identity) plus its TLS key pair. */
export interface IdentityPaths {
  readonly dir: string;
  readonly msp: MspPaths & {
    readonly signcert: string;
    readonly keystore: string;
    readonly key: string;
  };
  readonly tls: {
    readonly dir: string;
    /** The TLS CA certificate to trust. */
    readonly ca: string;
    /** `server.crt` for nodes, `client.crt` for users. */
    readonly cert: string;
    readonly key: string;
  };
}

export interface CaPaths {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
}

export interface OrgPaths {
  readonly dir: string;
  /** The signing CA that issues MSP identities. */
  readonly ca: CaPaths;
  /** The CA that issues TLS certificates. */
  readonly tlsca: CaPaths;
  /** The organisation's MSP definition, for the channel configuration. */
  readonly msp: MspPaths;
  user(name: string): IdentityPaths;
  node(node: Pick<OrgNode, 'name' | 'type'>): IdentityPaths;
}

/**
 * Paths of one organisation's material under `outDir`. Names come from a validated consortium (no separators).
 * @example orgPaths('.data/crypto', 'ShanghaiBankMSP').user('Admin').msp.dir
 */
export function orgPaths(outDir: string, mspId: string): OrgPaths {
  const dir = join(outDir, mspId);
  return {
    dir,
    ca: { dir: join(dir, 'ca'), cert: join(dir, 'ca', 'ca.pem'), key: join(dir, 'ca', 'ca_sk.pem') },
    tlsca: { dir: join(dir, 'tlsca'), cert: join(dir, 'tlsca', 'tlsca.pem'), key: join(dir, 'tlsca', 'tlsca_sk.pem') },
    msp: mspPaths(join(dir, 'msp')),
    user: (name) => identityPaths(join(dir, 'users', name), 'client'),
    node: (node) => identityPaths(join(dir, node.type === 'orderer' ? 'orderers' : 'peers', node.name), 'server'),
  };
}

function mspPaths(dir: string): MspPaths {
  return {
    dir,
    cacert: join(dir, 'cacerts', 'ca.pem'),
    tlscacert: join(dir, 'tlscacerts', 'tlsca.pem'),
    config: join(dir, 'config.yaml'),
  };
}

function identityPaths(dir: string, tlsRole: 'client' | 'server'): IdentityPaths {
  const msp = mspPaths(join(dir, 'msp'));
  const tls = join(dir, 'tls');
  return {
    dir,
    msp: {
      ...msp,
      signcert: join(msp.dir, 'signcerts', 'cert.pem'),
      keystore: join(msp.dir, 'keystore'),
      key: join(msp.dir, 'keystore', 'priv_sk'),
    },
    tls: { dir: tls, ca: join(tls, 'ca.crt'), cert: join(tls, `${tlsRole}.crt`), key: join(tls, `${tlsRole}.key`) },
  };
}
