/**
 * A config update computed as `configtxlator compute_update` does (internal/configtxlator/update/update.go):
 * the read set pins the version of every element the update depends on, the write set carries the changed
 * elements at version+1 (new ones at 0) and, for a changed group, every child it keeps (version only), so the
 * orderer can tell a removal from an omission.
 */
import { common } from '@hyperledger/fabric-protos';
import { BlockFormatError } from './errors.ts';

interface GroupSets {
  readonly read: common.ConfigGroup;
  readonly write: common.ConfigGroup;
  readonly updated: boolean;
}

/**
 * The ConfigUpdate taking `original` (the channel group of the current config) to `updated`.
 * @throws BlockFormatError `BAD_CONFIG` when nothing differs ("no differences detected", as configtxlator says).
 */
export function computeConfigUpdate(
  channelId: string,
  original: common.ConfigGroup,
  updated: common.ConfigGroup,
): common.ConfigUpdate {
  const sets = groupUpdate(original, updated);
  if (!sets.updated) {
    throw new BlockFormatError('BAD_CONFIG', 'no differences detected between original and updated config');
  }
  const update = new common.ConfigUpdate();
  update.setChannelId(channelId);
  update.setReadSet(sets.read);
  update.setWriteSet(sets.write);
  return update;
}

type Element = common.ConfigValue | common.ConfigPolicy;

/** update.go computePoliciesMapUpdate / computeValuesMapUpdate, for either kind. */
function membersUpdate<T extends Element>(
  original: ReadonlyMap<string, T>,
  updated: ReadonlyMap<string, T>,
  same: (a: T, b: T) => boolean,
  versionOnly: (version: number) => T,
  withVersion: (element: T, version: number) => T,
): {
  readonly readSet: Map<string, T>;
  readonly writeSet: Map<string, T>;
  readonly sameSet: Map<string, T>;
  /** An element was added or removed (a changed element alone leaves the group at its version). */
  readonly membersChanged: boolean;
} {
  const readSet = new Map<string, T>();
  const writeSet = new Map<string, T>();
  const sameSet = new Map<string, T>();
  let changed = false;
  for (const [name, before] of original) {
    const after = updated.get(name);
    if (!after) {
      changed = true;
      continue;
    }
    if (same(before, after)) {
      sameSet.set(name, versionOnly(before.getVersion()));
      continue;
    }
    writeSet.set(name, withVersion(after, before.getVersion() + 1));
  }
  for (const [name, after] of updated) {
    if (original.has(name)) continue;
    changed = true;
    writeSet.set(name, withVersion(after, 0));
  }
  return { readSet, writeSet, sameSet, membersChanged: changed };
}

function groupUpdate(original: common.ConfigGroup, updated: common.ConfigGroup): GroupSets {
  const policies = membersUpdate(
    new Map(original.getPoliciesMap().entries()),
    new Map(updated.getPoliciesMap().entries()),
    (a, b) =>
      a.getModPolicy() === b.getModPolicy() &&
      Buffer.from(a.getPolicy()?.serializeBinary() ?? []).equals(b.getPolicy()?.serializeBinary() ?? new Uint8Array()),
    (version) => {
      const p = new common.ConfigPolicy();
      p.setVersion(version);
      return p;
    },
    (element, version) => {
      const p = element.cloneMessage();
      p.setVersion(version);
      return p;
    },
  );
  const values = membersUpdate(
    new Map(original.getValuesMap().entries()),
    new Map(updated.getValuesMap().entries()),
    (a, b) => a.getModPolicy() === b.getModPolicy() && Buffer.from(a.getValue_asU8()).equals(b.getValue_asU8()),
    (version) => {
      const v = new common.ConfigValue();
      v.setVersion(version);
      return v;
    },
    (element, version) => {
      const v = element.cloneMessage();
      v.setVersion(version);
      return v;
    },
  );

  // update.go computeGroupsMapUpdate
  const readGroups = new Map<string, common.ConfigGroup>();
  const writeGroups = new Map<string, common.ConfigGroup>();
  const sameGroups = new Map<string, common.ConfigGroup>();
  let groupsChanged = false;
  const updatedGroups = new Map(updated.getGroupsMap().entries());
  for (const [name, before] of original.getGroupsMap().entries()) {
    const after = updatedGroups.get(name);
    if (!after) {
      groupsChanged = true;
      continue;
    }
    const child = groupUpdate(before, after);
    if (!child.updated) {
      sameGroups.set(name, child.read);
      continue;
    }
    readGroups.set(name, child.read);
    writeGroups.set(name, child.write);
  }
  for (const [name, after] of updatedGroups) {
    if (original.getGroupsMap().has(name)) continue;
    groupsChanged = true;
    // A new group enters whole, every element at version 0 (configtxgen output is).
    writeGroups.set(name, resetVersions(after));
  }

  const membersChanged =
    policies.membersChanged ||
    values.membersChanged ||
    groupsChanged ||
    original.getModPolicy() !== updated.getModPolicy();
  const version = original.getVersion();
  if (!membersChanged) {
    const nothing =
      readGroups.size === 0 && writeGroups.size === 0 && policies.writeSet.size === 0 && values.writeSet.size === 0;
    if (nothing) return { read: groupOf(version), write: groupOf(version), updated: false };
    // Only deeper elements changed: this group stays at its version, in both sets, with the changed children.
    return {
      read: groupOf(version, readGroups, policies.readSet, values.readSet),
      write: groupOf(version, writeGroups, policies.writeSet, values.writeSet),
      updated: true,
    };
  }
  for (const [name, g] of sameGroups) {
    readGroups.set(name, g);
    writeGroups.set(name, g);
  }
  for (const [name, p] of policies.sameSet) {
    policies.readSet.set(name, p);
    policies.writeSet.set(name, p);
  }
  for (const [name, v] of values.sameSet) {
    values.readSet.set(name, v);
    values.writeSet.set(name, v);
  }
  const write = groupOf(version + 1, writeGroups, policies.writeSet, values.writeSet);
  write.setModPolicy(updated.getModPolicy());
  return { read: groupOf(version, readGroups, policies.readSet, values.readSet), write, updated: true };
}

function groupOf(
  version: number,
  groups: ReadonlyMap<string, common.ConfigGroup> = new Map(),
  policies: ReadonlyMap<string, common.ConfigPolicy> = new Map(),
  values: ReadonlyMap<string, common.ConfigValue> = new Map(),
): common.ConfigGroup {
  const group = new common.ConfigGroup();
  group.setVersion(version);
  for (const [name, g] of groups) group.getGroupsMap().set(name, g);
  for (const [name, p] of policies) group.getPoliciesMap().set(name, p);
  for (const [name, v] of values) group.getValuesMap().set(name, v);
  return group;
}

function resetVersions(group: common.ConfigGroup): common.ConfigGroup {
  const copy = group.cloneMessage();
  const reset = (g: common.ConfigGroup): void => {
    g.setVersion(0);
    for (const [, v] of g.getValuesMap().entries()) v.setVersion(0);
    for (const [, p] of g.getPoliciesMap().entries()) p.setVersion(0);
    for (const [, child] of g.getGroupsMap().entries()) reset(child);
  };
  reset(copy);
  return copy;
}
