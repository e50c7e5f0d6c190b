/**
 * A channel config tree as Fabric's configtx validator sees it (common/configtx/configmap.go): one entry per
 * group, value and policy, keyed by its kind and path (`[Group]  /Channel/Application`,
 * `[Value]  /Channel/Application/Org1MSP/MSP`, `[Policy] /Channel/Application/Admins`). A group entry names its
 * children but holds none of them: an update that bumps a group's version and lists fewer children removes the
 * others, exactly as Fabric rebuilds the tree from the map (configMapToConfig).
 */
import { common } from '@hyperledger/fabric-protos';
import { BlockFormatError } from './errors.ts';

export const ROOT_GROUP = 'Channel';
const GROUP_PREFIX = '[Group]  ';
const VALUE_PREFIX = '[Value]  ';
const POLICY_PREFIX = '[Policy] ';

interface EntryBase {
  /** Path of the group holding this element (for a group: its parent), from the root, e.g. ['Channel']. */
  readonly path: readonly string[];
  readonly name: string;
  readonly version: number;
  readonly modPolicy: string;
}

export type ConfigEntry =
  | (EntryBase & {
      readonly kind: 'group';
      readonly groups: readonly string[];
      readonly values: readonly string[];
      readonly policies: readonly string[];
    })
  | (EntryBase & { readonly kind: 'value'; readonly value: Uint8Array })
  | (EntryBase & { readonly kind: 'policy'; readonly policy: common.Policy | undefined });

export type ConfigMap = ReadonlyMap<string, ConfigEntry>;

export function groupKey(path: readonly string[]): string {
  return `${GROUP_PREFIX}/${path.join('/')}`;
}

export function entryKey(entry: Pick<ConfigEntry, 'kind' | 'path' | 'name'>): string {
  const full = `/${[...entry.path, entry.name].join('/')}`;
  if (entry.kind === 'group') return GROUP_PREFIX + full;
  return (entry.kind === 'value' ? VALUE_PREFIX : POLICY_PREFIX) + full;
}

/** Flattens `root` (the channel group, named `Channel`). Names are attacker-controlled in an update's sets. */
export function configMap(root: common.ConfigGroup): Map<string, ConfigEntry> {
  const result = new Map<string, ConfigEntry>();
  const add = (entry: ConfigEntry): void => {
    if (entry.name === '' || entry.name.includes('/')) {
      throw new BlockFormatError('BAD_CONFIG', `config element name ${JSON.stringify(entry.name)} is not allowed`);
    }
    const key = entryKey(entry);
    if (result.has(key)) throw new BlockFormatError('BAD_CONFIG', `config element ${key} appears twice`);
    result.set(key, entry);
  };
  const walk = (group: common.ConfigGroup, path: readonly string[], name: string): void => {
    const own = [...path, name];
    const groups = [...group.getGroupsMap().entries()];
    const values = [...group.getValuesMap().entries()];
    const policies = [...group.getPoliciesMap().entries()];
    add({
      kind: 'group',
      path,
      name,
      version: group.getVersion(),
      modPolicy: group.getModPolicy(),
      groups: groups.map(([n]) => n),
      values: values.map(([n]) => n),
      policies: policies.map(([n]) => n),
    });
    for (const [n, v] of values) {
      add({
        kind: 'value',
        path: own,
        name: n,
        version: v.getVersion(),
        modPolicy: v.getModPolicy(),
        value: v.getValue_asU8(),
      });
    }
    for (const [n, p] of policies) {
      add({
        kind: 'policy',
        path: own,
        name: n,
        version: p.getVersion(),
        modPolicy: p.getModPolicy(),
        policy: p.getPolicy(),
      });
    }
    for (const [n, g] of groups) walk(g, own, n);
  };
  walk(root, [], ROOT_GROUP);
  return result;
}

/** Rebuilds the tree from a map (configtx `configMapToConfig`); a group naming a missing child is refused. */
export function configGroupOfMap(map: ConfigMap): common.ConfigGroup {
  const build = (path: readonly string[], name: string): common.ConfigGroup => {
    const key = entryKey({ kind: 'group', path, name });
    const entry = map.get(key);
    if (entry?.kind !== 'group') throw new BlockFormatError('BAD_CONFIG', `missing group at ${key}`);
    const own = [...path, name];
    const group = new common.ConfigGroup();
    group.setVersion(entry.version);
    group.setModPolicy(entry.modPolicy);
    for (const child of entry.values) {
      const value = map.get(entryKey({ kind: 'value', path: own, name: child }));
      if (value?.kind !== 'value') throw new BlockFormatError('BAD_CONFIG', `missing value ${child} in ${key}`);
      const configValue = new common.ConfigValue();
      configValue.setVersion(value.version);
      configValue.setModPolicy(value.modPolicy);
      configValue.setValue(value.value);
      group.getValuesMap().set(child, configValue);
    }
    for (const child of entry.policies) {
      const policy = map.get(entryKey({ kind: 'policy', path: own, name: child }));
      if (policy?.kind !== 'policy') throw new BlockFormatError('BAD_CONFIG', `missing policy ${child} in ${key}`);
      const configPolicy = new common.ConfigPolicy();
      configPolicy.setVersion(policy.version);
      configPolicy.setModPolicy(policy.modPolicy);
      if (policy.policy) configPolicy.setPolicy(policy.policy);
      group.getPoliciesMap().set(child, configPolicy);
    }
    for (const child of entry.groups) group.getGroupsMap().set(child, build(own, child));
    return group;
  };
  return build([], ROOT_GROUP);
}
