/**
 * Where a command's connection settings come from, in one place: the command line, the environment (LIANXIN_*,
 * and Fabric's CORE_PEER_* where they mean the same as a lianxin flag, so a shell set up for `peer` works), a
 * profile file (`--profile`, YAML), or a default. Flags win over the environment, the environment over the
 * profile, the profile over defaults. Each setting is defined once here: the flag, its help and its variables.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { z } from 'zod';
import { CliError, fileErrorReason, messageOf } from './errors.ts';

export const DEFAULT_CONSORTIUM_FILE = 'network/consortium.yaml';

interface SettingSpec {
  /** The flag without its dashes; also the profile key. */
  readonly flag: string;
  readonly value: string;
  readonly help: string;
  /** Environment variables, strongest first. */
  readonly env: readonly string[];
  /** A file or folder: relative paths in a profile are relative to the profile's folder. */
  readonly path?: true;
}

/** How a command reaches an institution's node (every node command). */
const NODE_SETTINGS = [
  { flag: 'node', value: 'host:port', help: "the node's gRPC address", env: ['LIANXIN_NODE'] },
  {
    flag: 'tls-ca',
    value: 'file',
    help: "PEM of the CA of the node's TLS certificate (default: every member's TLS CA)",
    env: ['LIANXIN_TLS_CA'],
    path: true,
  },
  {
    flag: 'cert',
    value: 'file',
    help: "TLS client certificate (mutual TLS: the node authorizes by it; default: --user's tls/client.crt)",
    env: ['LIANXIN_CERT', 'CORE_PEER_TLS_CLIENTCERT_FILE'],
    path: true,
  },
  {
    flag: 'key',
    value: 'file',
    help: "its private key (default: --user's tls/client.key)",
    env: ['LIANXIN_KEY', 'CORE_PEER_TLS_CLIENTKEY_FILE'],
    path: true,
  },
  {
    flag: 'server-name',
    value: 'name',
    help: "the host name in the node's TLS certificate, when it differs from --node's host",
    env: ['LIANXIN_SERVER_NAME'],
  },
] as const satisfies readonly SettingSpec[];

/** Who the CLI acts as, in the consortium's crypto material (node and ledger commands). */
const MEMBER_SETTINGS = [
  {
    flag: 'crypto-dir',
    value: 'dir',
    help: 'consortium crypto material; with --msp it fills in the node, TLS files and identity',
    env: ['LIANXIN_CRYPTO_DIR'],
    path: true,
  },
  { flag: 'msp', value: 'MSP', help: 'your organisation', env: ['LIANXIN_MSP', 'CORE_PEER_LOCALMSPID'] },
  { flag: 'user', value: 'name', help: 'user under the organisation (default User1)', env: ['LIANXIN_USER'] },
  {
    flag: 'consortium',
    value: 'file',
    help: `consortium YAML: organisations, nodes, ledger (default ${DEFAULT_CONSORTIUM_FILE})`,
    env: ['LIANXIN_CONSORTIUM'],
    path: true,
  },
] as const satisfies readonly SettingSpec[];

/** How a command reaches the ledger, a Fabric Gateway (`bundle export`, `ledger info`). */
const LEDGER_SETTINGS = [
  {
    flag: 'ledger',
    value: 'host:port',
    help: "the ledger's gateway (default: the consortium's ledger peer)",
    env: ['LIANXIN_LEDGER', 'CORE_PEER_ADDRESS'],
  },
  {
    flag: 'ledger-tls-ca',
    value: 'file',
    help: "CA of the ledger's TLS certificate (default: the ledger organisation's TLS CA)",
    env: ['LIANXIN_LEDGER_TLS_CA', 'CORE_PEER_TLS_ROOTCERT_FILE'],
    path: true,
  },
  {
    flag: 'ledger-server-name',
    value: 'name',
    help: "name in the ledger's TLS certificate (default: the ledger peer's host alias)",
    env: ['LIANXIN_LEDGER_SERVER_NAME', 'CORE_PEER_TLS_SERVERHOSTOVERRIDE'],
  },
  {
    flag: 'msp-dir',
    value: 'dir',
    help: "the identity that signs ledger queries, an MSP folder (default: --user's msp/)",
    env: ['LIANXIN_MSP_DIR', 'CORE_PEER_MSPCONFIGPATH'],
    path: true,
  },
  {
    flag: 'chaincode',
    value: 'name',
    help: "the Lianxin chaincode's name on the channel (default lianxin)",
    env: ['LIANXIN_CHAINCODE'],
  },
] as const satisfies readonly SettingSpec[];

const PROFILE: SettingSpec = {
  flag: 'profile',
  value: 'file',
  help: 'a YAML file of these settings, keyed by flag name (relative paths: from its folder)',
  env: ['LIANXIN_PROFILE'],
};

const ALL_SETTINGS: readonly SettingSpec[] = [...NODE_SETTINGS, ...MEMBER_SETTINGS, ...LEDGER_SETTINGS];

type FlagOf<T extends readonly SettingSpec[]> = T[number]['flag'];
export type NodeSettingName = FlagOf<typeof NODE_SETTINGS> | FlagOf<typeof MEMBER_SETTINGS>;
export type LedgerSettingName = FlagOf<typeof LEDGER_SETTINGS> | FlagOf<typeof MEMBER_SETTINGS>;
export type SettingName = NodeSettingName | LedgerSettingName;

/** A resolved value and where it came from, for messages that name the source (`CORE_PEER_LOCALMSPID`). */
export interface Setting {
  readonly value: string;
  readonly source: string;
}

export type Settings<N extends string = SettingName> = Partial<Record<N, Setting>>;

export const PRECEDENCE_HELP = 'Each setting: flag > environment variable > --profile file > default.';

function addSettings(command: Command, heading: string, specs: readonly SettingSpec[]): void {
  for (const spec of specs) {
    const env = spec.env.join(', ');
    command.addOption(new Option(`--${spec.flag} <${spec.value}>`, `${spec.help} [env ${env}]`).helpGroup(heading));
  }
}

/** Adds the node connection options (and --profile) to a command. */
export function addNodeOptions(command: Command): Command {
  addSettings(command, 'Connection to the node:', [...NODE_SETTINGS, ...MEMBER_SETTINGS, PROFILE]);
  return command.addHelpText('after', `\n${PRECEDENCE_HELP}`);
}

/** Adds the ledger connection options (and --profile) to a command. */
export function addLedgerOptions(command: Command): Command {
  addSettings(command, 'Connection to the ledger:', [...MEMBER_SETTINGS, ...LEDGER_SETTINGS, PROFILE]);
  return command.addHelpText('after', `\n${PRECEDENCE_HELP}`);
}

/**
 * Adds the ledger options alone (next to the node options, which already carry the member settings): for a
 * node command that also reads the chain's registry.
 */
export function addRegistryOptions(command: Command): Command {
  addSettings(command, "The chain's registry, through the ledger (as --msp):", LEDGER_SETTINGS);
  return command;
}

/** Commander's camelCase attribute of a flag (`tls-ca` → `tlsCa`). */
const attributeOf = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

type Env = Readonly<Record<string, string | undefined>>;

/**
 * A profile: flag names to strings, nothing else (an unknown key is a typo that would be silently ignored). Built
 * on first use, with yaml and zod imported then: every command's definition imports this module, and most runs
 * read no profile (the two cost ≈0.4 s of CPU to load).
 */
async function profileParsers(): Promise<{
  parseYaml: (text: string) => unknown;
  schema: z.ZodObject<Record<SettingName, z.ZodOptional<z.ZodString>>, z.core.$strict>;
}> {
  const [{ parse: parseYaml }, { z }] = await Promise.all([import('yaml'), import('zod')]);
  const schema = z.strictObject(
    Object.fromEntries(ALL_SETTINGS.map((s) => [s.flag, z.string().min(1).optional()])) as Record<
      SettingName,
      z.ZodOptional<z.ZodString>
    >,
  );
  return { parseYaml, schema };
}

/**
 * Reads and checks a profile file.
 * @throws CliError `FILE_ERROR` when it cannot be read, `CONFIGURATION` naming the key that is wrong.
 */
export async function readProfile(file: string): Promise<Settings> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError('FILE_ERROR', `cannot read the profile ${file}: ${fileErrorReason(err)}`, { cause: err });
  }
  const { parseYaml, schema: profileSchema } = await profileParsers();
  let document: unknown;
  try {
    document = parseYaml(text) ?? {};
  } catch (err) {
    throw new CliError('CONFIGURATION', `the profile ${file} is not YAML: ${messageOf(err)}`, { cause: err });
  }
  const parsed = profileSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : (issue?.path.map(String).join('.') ?? '');
    const why =
      issue?.code === 'unrecognized_keys'
        ? `is no setting (settings: ${ALL_SETTINGS.map((s) => s.flag).join(', ')})`
        : 'must be a non-empty string';
    throw new CliError('CONFIGURATION', `the profile ${file}: ${key === '' ? 'the document' : key} ${why}`);
  }
  const base = dirname(file);
  const settings: Settings = {};
  for (const spec of ALL_SETTINGS) {
    const value = parsed.data[spec.flag as SettingName];
    if (value === undefined) continue;
    settings[spec.flag as SettingName] = {
      value: spec.path === true && !isAbsolute(value) ? resolve(base, value) : value,
      source: `profile ${file}`,
    };
  }
  return settings;
}

/**
 * The settings of a command: its parsed options, then the environment, then the profile (`--profile` or
 * LIANXIN_PROFILE). Defaults are left to the caller, which knows what each derives from.
 */
export async function resolveSettings(options: object, env: Env): Promise<Settings> {
  const flags = options as Readonly<Record<string, unknown>>;
  const flagProfile = flags.profile;
  const profileFile = typeof flagProfile === 'string' ? flagProfile : env.LIANXIN_PROFILE;
  const profile = profileFile === undefined || profileFile === '' ? {} : await readProfile(profileFile);
  const settings: Settings = {};
  for (const spec of ALL_SETTINGS) {
    const name = spec.flag as SettingName;
    const flag = flags[attributeOf(spec.flag)];
    if (typeof flag === 'string') {
      settings[name] = { value: flag, source: `--${spec.flag}` };
      continue;
    }
    const variable = spec.env.find((v) => env[v] !== undefined && env[v] !== '');
    if (variable !== undefined) {
      settings[name] = { value: env[variable] ?? '', source: variable };
      continue;
    }
    const fromProfile = profile[name];
    if (fromProfile !== undefined) settings[name] = fromProfile;
  }
  return settings;
}

/** The flag to name in a message about a setting given by `source` (itself when it was a variable). */
export function sourceNote(setting: Setting): string {
  return setting.source.startsWith('--') ? '' : ` (from ${setting.source})`;
}
