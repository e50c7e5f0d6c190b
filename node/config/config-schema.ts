/**
 * The configuration's rules as zod schemas, built from the field table (config-fields.ts): one schema per field
 * kind, each failing with the requirement it states ("must be an integer from 1 to 86400"), and the document's
 * shape as strict objects, so a key no field reads is reported as unknown rather than silently ignored.
 * node-config.ts turns the issues into messages that name the field and where its value came from.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { ORG_ROLES } from '../../network/pki/index.ts';
import { LOG_LEVELS } from '../logging/index.ts';
import { isNetwork } from '../operations/index.ts';
import { CONFIG_FIELDS, type FieldKind } from './config-fields.ts';

/** The schema of one field's value; its first issue's message is the requirement the value breaks. */
export function fieldSchema(kind: FieldKind): z.ZodType {
  switch (kind.type) {
    case 'integer': {
      const problem = `must be an integer from ${kind.min} to ${kind.max}`;
      return z.number({ error: problem }).int({ error: problem }).min(kind.min, { error: problem }).max(kind.max, {
        error: problem,
      });
    }
    case 'boolean':
      return z.boolean({ error: 'must be true or false' });
    case 'role':
      return z.enum(ORG_ROLES, { error: `must be one of ${ORG_ROLES.join(', ')}` });
    case 'logLevel':
      return z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` });
    case 'address': {
      const problem = 'must be host:port (port 0 to 65535)';
      return z.string({ error: problem }).refine(isListenAddress, { error: problem });
    }
    case 'string': {
      const nonEmpty = z
        .string({ error: 'must be a non-empty string' })
        .refine((s) => s.trim() !== '', { error: 'must be a non-empty string', abort: true });
      return kind.pattern === undefined
        ? nonEmpty
        : nonEmpty.regex(kind.pattern, { error: `must be ${kind.description ?? 'well-formed'}` });
    }
    case 'networks': {
      const problem = 'must be a list of IP addresses and CIDR networks (10.20.0.0/24, fd00:20::/64)';
      return z.array(z.string({ error: problem }).refine(isNetwork, { error: problem }), { error: problem });
    }
    case 'file':
    case 'dir':
    case 'path':
      return z
        .string({ error: 'must be a non-empty path' })
        .refine((s) => s.trim() !== '', { error: 'must be a non-empty path' });
  }
}

/** Field schemas by path, built once. */
export const FIELD_SCHEMAS: ReadonlyMap<string, z.ZodType> = new Map(
  Object.entries(CONFIG_FIELDS).map(([path, spec]) => [path, fieldSchema(spec.kind)]),
);

interface Section {
  [key: string]: Section | true;
}

/**
 * The document's shape: every section a strict object of its fields (any value: the field schemas judge
 * values), so an unrecognised key anywhere is an issue at its section's path.
 */
function shapeSchema(): z.ZodType {
  const tree: Section = {};
  for (const path of Object.keys(CONFIG_FIELDS)) {
    const keys = path.split('.');
    let node = tree;
    keys.forEach((key, i) => {
      if (i === keys.length - 1) node[key] = true;
      else node = (node[key] ??= {}) as Section;
    });
  }
  const build = (section: Section): z.ZodType =>
    z.strictObject(
      Object.fromEntries(
        Object.entries(section).map(([key, child]) => [
          key,
          child === true ? z.unknown().optional() : build(child).nullish(),
        ]),
      ),
      { error: 'must be a mapping' },
    );
  return build(tree);
}

export const DOCUMENT_SHAPE = shapeSchema();

/** `host:port` or `[ipv6]:port`; the host a DNS name or an IP address. */
export function isListenAddress(address: string): boolean {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  if (!match) return false;
  const [, v6, host, port] = match;
  if (Number(port) > 65535) return false;
  if (v6 !== undefined) return isIP(v6) === 6;
  return host !== undefined && (isIP(host) === 4 || /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(host));
}
