/**
 * The node's configuration (DESIGN §6 operations): one YAML file validated at start, `LIANXIN_*` environment
 * overrides, errors that name the field.
 */
export { loadNodeConfig, parseNodeConfig, type NodeConfig, type ConfigEnv, type ParseOptions } from './node-config.ts';
export { CONFIG_FIELDS, envName, type FieldPath, type FieldSpec, type FieldKind } from './config-fields.ts';
export { NodeConfigError, type ConfigIssue, type NodeConfigErrorCode } from './errors.ts';
export * from './constants.ts';
export { levelDbTunings, type LevelDbOpenOptions } from './leveldb-tunings.ts';
