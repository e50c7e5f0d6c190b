/**
 * Changing the running channel's membership the way Fabric does it (`npm run network -- add-org`, add-org-command.ts,
 * is the operator's command; npm start uses `admitMissingOrganizations`).
 *
 * Adding: the organisation's crypto material (only the new organisation's is created), a channel config update
 * adding its MSP to /Channel/Application, signed by a majority of the member organisations' admins
 * (channel-admins.ts), broadcast to the ledger's orderer; once the config block is on chain, the operator registers the organisation,
 * its admin registers its node and keys, and its node.yaml is written. Removing: the operator suspends it in the
 * registry, then a config update removes its MSP, after which the ledger refuses its identities.
 */
import type { common } from '@hyperledger/fabric-protos';
import { addOrganizationUpdate, removeOrganizationUpdate } from '../../network/client/index.ts';
import { ledgerNode } from '../../network/consortium-ledger.ts';
import { readChannelMsps, type ChannelOrg } from '../../network/ledger/block/index.ts';
import {
  describeGeneration,
  generateCryptoMaterial,
  institutionNode,
  loadOrgRootCerts,
  type Organization,
} from '../../network/pki/index.ts';
import {
  registerNode,
  registerOrganizations,
  writeLocalNodeConfig,
  type LocalNodeOptions,
} from '../../node/bootstrap/index.ts';
import { envName, loadNodeConfig, type NodeConfig } from '../../node/config/index.ts';
import { ChannelChangeError, withAdmins, type ChannelAdminOptions } from './channel-admins.ts';
import type { Removal } from './removed-organizations.ts';

export interface ChannelMembershipOptions extends ChannelAdminOptions {
  /** The organisation to add or remove, listed in the consortium YAML. */
  readonly mspId: string;
  readonly say?: (line: string) => void;
}

export interface AddOrganizationOptions extends ChannelMembershipOptions {
  /** Nodes' data, keys and node.yaml go to `<dataDir>/nodes/<MSP>`. */
  readonly dataDir: string;
  /** How the new node listens (default: the consortium entry's ports). */
  readonly node?: Pick<LocalNodeOptions, 'grpcListen' | 'metricsListen' | 'p2pListen' | 'settings'>;
  /**
   * Make it active in the registry again when it is suspended (the operator said so); otherwise a suspended
   * institution is refused before any change, unless {@link removal} lifts it.
   */
  readonly reactivate?: boolean;
  /**
   * Its removal recorded in this data directory (removed-organizations.ts): the suspension that removal made
   * ({@link RemovedOrganization.suspendedAt}), and only while nothing changed the registration since, is lifted
   * without `reactivate`. One recorded without a suspension (before removals kept theirs, or of an institution
   * suspended already) lifts none.
   */
  readonly removal?: Pick<Removal, 'removedAt' | 'suspendedAt'>;
}

export interface RemovedOrganization {
  /** The config block that removed it (undefined: it was no member). */
  readonly configBlock: number | undefined;
  /**
   * The registry's `updatedAt` of the suspension this removal made; undefined when it was suspended already (by
   * the regulator, for misconduct) or not registered: then no removal of it may lift a suspension.
   */
  readonly suspendedAt: string | undefined;
}

export interface AddedOrganization {
  readonly mspId: string;
  /** The config block that made it a member (undefined: it already was one). */
  readonly configBlock: number | undefined;
  readonly configFile: string;
  /** As the node will read it, with this ledger address. */
  readonly config: NodeConfig;
}

/** The channel membership change, the registration, the node's config: everything but starting the node. */
export async function addOrganization(o: Readonly<AddOrganizationOptions>): Promise<AddedOrganization> {
  const say = o.say ?? (() => undefined);
  const org = o.consortium.organizations.find((x) => x.mspId === o.mspId);
  if (!org)
    throw new ChannelChangeError(`${o.mspId} is not an organisation of the consortium YAML: add its entry first`);
  const node = institutionNode(org);
  if (!node) throw new ChannelChangeError(`${o.mspId} has no institution node in the consortium YAML`);
  const generated = await generateCryptoMaterial(o.consortium, o.cryptoDir);
  say(`crypto material in ${o.cryptoDir}: ${describeGeneration(generated)}`);

  return withAdmins(o, async (session) => {
    const operator = await session.asAdmin(ledgerNode(o.consortium).org.mspId);
    const registration = await operator.getOrganization(o.mspId);
    const suspended = registration?.status === 'suspended';
    const byRemoval = o.removal?.suspendedAt;
    const liftable = o.reactivate === true || (byRemoval !== undefined && registration?.updatedAt === byRemoval);
    if (suspended && !liftable) {
      throw new ChannelChangeError(
        `${o.mspId} is suspended in the registry, ${whyNotLifted(o.removal, registration.updatedAt)}: ` +
          'add --reactivate to make it active again',
      );
    }
    const roots = await loadOrgRootCerts(o.cryptoDir, o.mspId);
    const channelOrg: ChannelOrg = {
      mspId: o.mspId,
      rootCerts: roots.rootCerts.map((c) => c.toString()),
      tlsRootCerts: roots.tlsRootCerts.map((c) => c.toString()),
    };
    const configBlock = await session.update(
      'Application',
      (config) => addOrganizationUpdate(o.consortium.channel, config, channelOrg),
      (now) => applicationMembers(now.block).includes(o.mspId),
    );
    say(
      configBlock === undefined
        ? `${o.mspId} is already a member of channel ${o.consortium.channel}`
        : `${o.mspId} added to channel ${o.consortium.channel} by config block ${String(configBlock)}`,
    );
    const registered = await registerOrganizations(session.asAdmin, o.consortium.organizations);
    if (registered.length > 0) say(`registered on chain: ${registered.join(', ')}`);
    // Re-admitting an institution removed earlier: its registration was suspended with the removal.
    if (suspended) {
      await operator.setOrganizationStatus(o.mspId, 'active');
      say(`${o.mspId} active again in the registry`);
    }
    const written = await writeLocalNodeConfig({
      consortium: o.consortium,
      org,
      node,
      cryptoDir: o.cryptoDir,
      dataRoot: o.dataDir,
      ledger: session.ledger,
      ...o.node,
    });
    const p2pListen = o.node?.p2pListen;
    const done = await registerNode(session.asAdmin, {
      mspId: o.mspId,
      node,
      shard: '0',
      keys: written.keys,
      ...(typeof p2pListen === 'string' ? { p2pListen } : {}),
    });
    if (done.length > 0) say(`${o.mspId} registered its ${done.join(', ')}`);
    const config = await loadNodeConfig(written.configFile, { [envName('ledger.address')]: o.ledgerAddress });
    return { mspId: o.mspId, configBlock, configFile: written.configFile, config };
  });
}

/** Why a suspended institution's removal recorded here (if any) does not lift its suspension. */
function whyNotLifted(removal: AddOrganizationOptions['removal'], updatedAt: string): string {
  if (removal === undefined) return 'not by a removal recorded in this data directory';
  const removed = `its removal recorded in this data directory at ${removal.removedAt}`;
  if (removal.suspendedAt === undefined) {
    return `and ${removed} names no suspension of its own (recorded before removals kept theirs, or it was suspended already then)`;
  }
  return `changed since the suspension ${removed} made (${removal.suspendedAt}; its latest change ${updatedAt})`;
}

/**
 * Makes every organisation of the YAML a channel member, one config update each (npm start on a ledger whose
 * channel predates an entry appended to the YAML: without it the new institution's node is refused as "not a
 * member of the channel"). Returns the MSP IDs added.
 */
export async function admitMissingOrganizations(
  o: Readonly<Omit<ChannelMembershipOptions, 'mspId'>> & {
    /** The YAML's entries to admit (default: all; `network add-org --remove`'s are left out). */
    readonly organizations?: readonly Organization[];
  },
): Promise<string[]> {
  return withAdmins(o, async (session) => {
    const added: string[] = [];
    for (const org of o.organizations ?? o.consortium.organizations) {
      const roots = await loadOrgRootCerts(o.cryptoDir, org.mspId);
      const channelOrg: ChannelOrg = {
        mspId: org.mspId,
        rootCerts: roots.rootCerts.map((c) => c.toString()),
        tlsRootCerts: roots.tlsRootCerts.map((c) => c.toString()),
      };
      const configBlock = await session.update(
        'Application',
        (config) => addOrganizationUpdate(o.consortium.channel, config, channelOrg),
        (now) => applicationMembers(now.block).includes(org.mspId),
      );
      if (configBlock === undefined) continue;
      o.say?.(`${org.mspId} added to channel ${o.consortium.channel} by config block ${String(configBlock)}`);
      added.push(org.mspId);
    }
    return added;
  });
}

/**
 * Suspends the organisation in the registry (its members' chaincode calls are refused), then removes its MSP
 * from the channel (the ledger refuses its identities from the next block).
 */
export async function removeOrganization(o: Readonly<ChannelMembershipOptions>): Promise<RemovedOrganization> {
  const say = o.say ?? (() => undefined);
  const operatorId = ledgerNode(o.consortium).org.mspId;
  if (o.mspId === operatorId) {
    // Said first, in the operator's terms: the chaincode refuses the operator's suspension of itself, and the ledger a
    // config update that would leave its peer unable to endorse, each in its own words.
    throw new ChannelChangeError(
      `${o.mspId} runs the ledger: its peer endorses every transaction, and without it in the channel none commits`,
    );
  }
  return withAdmins(o, async (session) => {
    const operator = await session.asAdmin(operatorId);
    const registered = await operator.getOrganization(o.mspId);
    let suspendedAt: string | undefined;
    if (registered?.status === 'active') {
      suspendedAt = (await operator.setOrganizationStatus(o.mspId, 'suspended')).result.updatedAt;
      say(`${o.mspId} suspended in the registry`);
    }
    const configBlock = await session.update(
      'Application',
      (config) => removeOrganizationUpdate(o.consortium.channel, config, o.mspId),
      (now) => !applicationMembers(now.block).includes(o.mspId),
    );
    say(
      configBlock === undefined
        ? `${o.mspId} is not a member of channel ${o.consortium.channel}`
        : `${o.mspId} removed from channel ${o.consortium.channel} by config block ${String(configBlock)}`,
    );
    return { configBlock, suspendedAt };
  });
}

function applicationMembers(block: common.Block): string[] {
  return readChannelMsps(block)
    .filter((m) => m.group === 'Application')
    .map((m) => m.mspId);
}
