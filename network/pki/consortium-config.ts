/**
 * The consortium YAML (DESIGN §8): one file names the channel, every institution, its nodes and its users.
 * It is read once at the operator's edge and narrowed here; everything downstream trusts these types.
 */
import { readFile } from 'node:fs/promises';
import { MSP_ID, MSP_ID_LIKE_USCC, USCC_LIKE } from '../../chaincode/src/protocol-portable.ts';
import { CHANNEL_ID } from '../fabric/names.ts';
import { parseYamlWithLines, type YamlWithLines } from '../yaml-lines.ts';
import { DEFAULT_USERS } from './constants.ts';
import { PkiError } from './errors.ts';

export const ORG_ROLES = ['agency', 'bank', 'platform', 'regulator', 'operator'] as const;
/** The institution's role in the consortium, carried in every certificate it issues (DESIGN §3). */
export type OrgRole = (typeof ORG_ROLES)[number];

/** Fabric NodeOUs (`msp/mspimplsetup.go` setupNodeOUs); a certificate carries exactly one. */
export type NodeOU = 'client' | 'peer' | 'admin' | 'orderer';

export const NODE_TYPES = ['peer', 'orderer'] as const;
export type NodeType = (typeof NODE_TYPES)[number];

export interface NodePorts {
  readonly grpc: number;
  /** libp2p port of an institution node; the operator's ledger and orderer have none. */
  readonly p2p?: number;
}

export interface OrgNode {
  /** Folder name under `peers/` or `orderers/`, and the signing certificate's CN. */
  readonly name: string;
  /** DNS alias the node's TLS certificate is issued for; every node listens on 127.0.0.1. */
  readonly host: string;
  readonly type: NodeType;
  readonly ports: NodePorts;
}

export interface Organization {
  readonly mspId: string;
  /** Display name, may be Chinese and English. */
  readonly name: string;
  readonly city: string;
  readonly role: OrgRole;
  readonly domain: string;
  readonly nodes: readonly OrgNode[];
  readonly users: readonly string[];
}

/** The node an institution runs: its `peer` entry. The operator's organisation runs the ledger, not a node. */
export function institutionNode(org: Organization): OrgNode | undefined {
  return org.role === 'operator' ? undefined : org.nodes.find((n) => n.type === 'peer');
}

/**
 * Signature suites the PKI can issue. DESIGN §3 keeps a suite field everywhere so SM2/SM3 can join later; Fabric
 * 2.5 accepts only this one. Spelled as in the registry chaincode (`chaincode/src/keys.ts`).
 */
export const SUITES = ['ecdsa-p256-sha256'] as const;
export type Suite = (typeof SUITES)[number];

export interface Consortium {
  readonly channel: string;
  readonly suite: Suite;
  readonly organizations: readonly Organization[];
}

// MSP IDs (the chain's rule: it registers no other), user and node names become folder names: no separators, no
// leading dot.
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
const DNS_LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DNS_RE = new RegExp(`^(?=.{1,253}$)${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);

type Fields = Record<string, unknown>;

/**
 * Parses and validates consortium YAML. `source` (a file name) prefixes every message.
 * @throws PkiError `CONFIG_SYNTAX` or `CONFIG_INVALID` with `field` set to the offending path.
 * @example parseConsortium(await readFile('network/consortium.yaml', 'utf8'), 'network/consortium.yaml')
 */
export function parseConsortium(text: string, source = 'consortium'): Consortium {
  const { doc, lineOf } = parseYamlWithLines(text);
  const syntaxError = doc.errors[0];
  if (syntaxError) {
    throw new PkiError('CONFIG_SYNTAX', `${source}: ${syntaxError.message}`, undefined, { cause: syntaxError });
  }
  return new ConsortiumReader(source, lineOf).consortium(doc.toJS() as unknown);
}

/** Reads and validates a consortium file. */
export async function loadConsortium(file: string): Promise<Consortium> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const message = `cannot read consortium file ${file}: ${(err as Error).message}`;
    throw new PkiError('CONFIG_UNREADABLE', message, undefined, { cause: err });
  }
  return parseConsortium(text, file);
}

class ConsortiumReader {
  readonly #source: string;
  readonly #lineOf: YamlWithLines['lineOf'];
  /** Ports and host aliases are shared by every node on the machine: first path that claimed each. */
  readonly #ports = new Map<number, string>();
  readonly #hosts = new Map<string, string>();

  constructor(source: string, lineOf: YamlWithLines['lineOf']) {
    this.#source = source;
    this.#lineOf = lineOf;
  }

  consortium(value: unknown): Consortium {
    const top = this.#fields(value, '', ['channel', 'suite', 'organizations']);
    const channel = this.#string(top, 'channel', '', CHANNEL_ID, 'a Fabric channel name ([a-z][a-z0-9.-]*)');
    const suite = top['suite'] === undefined ? SUITES[0] : this.#oneOf(top, 'suite', '', SUITES);
    const orgs = this.#list(top, 'organizations', '');
    if (orgs.length === 0) this.#fail('organizations', 'must list at least one organization');
    const organizations = orgs.map((org, i) => this.#organization(org, `organizations[${i}]`));
    this.#unique(organizations, (o) => o.mspId, 'organizations', 'mspId');
    this.#unique(organizations, (o) => o.domain, 'organizations', 'domain');
    return { channel, suite, organizations };
  }

  #organization(value: unknown, path: string): Organization {
    const org = this.#fields(value, path, ['mspId', 'name', 'city', 'role', 'domain', 'nodes', 'users']);
    const mspId = this.#string(
      org,
      'mspId',
      path,
      MSP_ID,
      'an MSP ID: a letter, then letters, digits, "." or "-", at most 64',
    );
    if (USCC_LIKE.test(mspId)) this.#fail(join(path, 'mspId'), `${MSP_ID_LIKE_USCC}, got ${JSON.stringify(mspId)}`);
    const name = this.#string(org, 'name', path);
    const city = this.#string(org, 'city', path);
    const role = this.#oneOf(org, 'role', path, ORG_ROLES);
    const domain = this.#string(org, 'domain', path, DNS_RE, 'a lower-case DNS name');
    const nodes = org['nodes'] === undefined ? [] : this.#list(org, 'nodes', path);
    const orgNodes = nodes.map((node, j) => this.#node(node, `${path}.nodes[${j}]`, role, domain));
    this.#unique(orgNodes, (n) => n.name, `${path}.nodes`, 'name');
    const users =
      org['users'] === undefined
        ? DEFAULT_USERS
        : this.#list(org, 'users', path).map((user, k) => this.#name(user, `${path}.users[${k}]`));
    this.#unique(users, (u) => u, `${path}.users`, '');
    return { mspId, name, city, role, domain, nodes: orgNodes, users };
  }

  #node(value: unknown, path: string, role: OrgRole, domain: string): OrgNode {
    const node = this.#fields(value, path, ['name', 'host', 'type', 'ports']);
    const name = this.#name(node['name'], `${path}.name`);
    const host =
      node['host'] === undefined
        ? `${name}.${domain}`
        : this.#string(node, 'host', path, DNS_RE, 'a lower-case DNS name');
    this.#claim(this.#hosts, host, `${path}.host`, 'host alias');
    const type = node['type'] === undefined ? 'peer' : this.#oneOf(node, 'type', path, NODE_TYPES);
    if (type === 'orderer' && role !== 'operator') {
      this.#fail(`${path}.type`, 'must be "peer": only the operator organization runs orderers');
    }
    const ports = this.#fields(node['ports'], `${path}.ports`, ['grpc', 'p2p']);
    const grpc = this.#port(ports, 'grpc', `${path}.ports`);
    // Institution nodes talk to each other over libp2p (DESIGN §5); the operator's ledger does not.
    if (ports['p2p'] === undefined) {
      if (role !== 'operator') this.#fail(`${path}.ports.p2p`, 'is required for an institution node');
      return { name, host, type, ports: { grpc } };
    }
    return { name, host, type, ports: { grpc, p2p: this.#port(ports, 'p2p', `${path}.ports`) } };
  }

  #port(fields: Fields, key: string, path: string): number {
    const value = fields[key];
    const at = `${path}.${key}`;
    if (value === undefined) this.#fail(at, 'is required');
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
      this.#fail(at, `must be a TCP port (an integer from 1 to 65535), got ${JSON.stringify(value)}`);
    }
    this.#claim(this.#ports, value, at, 'port');
    return value;
  }

  #claim<K>(claimed: Map<K, string>, key: K, at: string, what: string): void {
    const owner = claimed.get(key);
    if (owner !== undefined) this.#fail(at, `${what} ${String(key)} is already used by "${owner}"`);
    claimed.set(key, at);
  }

  #fields(value: unknown, path: string, allowed: readonly string[]): Fields {
    if (value === undefined || value === null) this.#fail(path || '(document)', 'is required');
    if (typeof value !== 'object' || Array.isArray(value)) this.#fail(path || '(document)', 'must be a mapping');
    const fields = value as Fields;
    for (const key of Object.keys(fields)) {
      if (!allowed.includes(key))
        this.#fail(join(path, key), `is not a known field (expected one of ${allowed.join(', ')})`);
    }
    return fields;
  }

  #list(fields: Fields, key: string, path: string): unknown[] {
    const value = fields[key];
    const at = join(path, key);
    if (value === undefined || value === null) this.#fail(at, 'is required');
    if (!Array.isArray(value)) this.#fail(at, 'must be a list');
    return value as unknown[];
  }

  #string(fields: Fields, key: string, path: string, pattern?: RegExp, description?: string): string {
    const value = fields[key];
    const at = join(path, key);
    if (value === undefined || value === null) this.#fail(at, 'is required');
    if (typeof value !== 'string' || value.trim() === '') this.#fail(at, 'must be a non-empty string');
    if (pattern && !pattern.test(value))
      this.#fail(at, `must be ${description ?? pattern.source}, got ${JSON.stringify(value)}`);
    return value;
  }

  #name(value: unknown, at: string): string {
    if (value === undefined || value === null) this.#fail(at, 'is required');
    if (typeof value !== 'string' || !NAME_RE.test(value)) {
      this.#fail(at, `must be a name of letters, digits, "_", ".", "@" or "-", got ${JSON.stringify(value)}`);
    }
    return value;
  }

  #oneOf<T extends string>(fields: Fields, key: string, path: string, options: readonly T[]): T {
    const value = fields[key];
    const at = join(path, key);
    if (value === undefined || value === null) this.#fail(at, 'is required');
    if (!options.includes(value as T))
      this.#fail(at, `must be one of ${options.join(', ')}, got ${JSON.stringify(value)}`);
    return value as T;
  }

  #unique<T>(items: readonly T[], keyOf: (item: T) => string, path: string, key: string): void {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const k = keyOf(item);
      const first = seen.get(k);
      if (first !== undefined)
        this.#fail(join(`${path}[${i}]`, key), `duplicates ${path}[${first}]: ${JSON.stringify(k)}`);
      seen.set(k, i);
    });
  }

  #fail(field: string, message: string): never {
    const line = this.#lineOf(field);
    const at = line === undefined ? this.#source : `${this.#source}:${String(line)}`;
    throw new PkiError('CONFIG_INVALID', `${at}: "${field}" ${message}`, field);
  }
}

function join(path: string, key: string): string {
  if (key === '') return path;
  return path === '' ? key : `${path}.${key}`;
}
