import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConsortium, parseConsortium } from './index.ts';

const DEMO = fileURLToPath(new URL('../consortium.yaml', import.meta.url));

/** A valid two-organisation consortium as plain data, for tests to break one field at a time. */
function sample(): { channel: unknown; organizations: Record<string, unknown>[] } {
  return {
    channel: 'lianxin',
    organizations: [
      {
        mspId: 'ShanghaiBankMSP',
        name: '上海银行 Bank of Shanghai',
        city: 'Shanghai',
        role: 'bank',
        domain: 'shanghai-bank.lianxin.local',
        nodes: [{ name: 'node0', ports: { grpc: 7101, p2p: 7201 } }],
      },
      {
        mspId: 'OperatorMSP',
        name: 'Operator',
        city: 'Shanghai',
        role: 'operator',
        domain: 'operator.lianxin.local',
        nodes: [
          { name: 'ledger0', ports: { grpc: 7051 } },
          { name: 'orderer0', type: 'orderer', ports: { grpc: 7050 } },
        ],
      },
    ],
  };
}

function parseWith(mutate: (doc: ReturnType<typeof sample>) => void) {
  const doc = sample();
  mutate(doc);
  return () => parseConsortium(stringify(doc), 'test.yaml');
}

function org(doc: ReturnType<typeof sample>, index: number): Record<string, unknown> {
  const o = doc.organizations[index];
  if (!o) throw new Error(`no organization ${index}`);
  return o;
}

describe('parseConsortium', () => {
  it('reads the Yangtze Delta demo: six organisations, one per role, ports that do not clash', async () => {
    const consortium = await loadConsortium(DEMO);
    expect(consortium.channel).toBe('lianxin');
    expect(consortium.suite).toBe('ecdsa-p256-sha256');
    expect(consortium.organizations.map((o) => [o.mspId, o.role, o.city])).toEqual([
      ['ShanghaiBankMSP', 'bank', 'Shanghai'],
      ['HangzhouCreditMSP', 'agency', 'Hangzhou'],
      ['NanjingSupplyChainMSP', 'platform', 'Nanjing'],
      ['HefeiCreditMSP', 'agency', 'Hefei'],
      ['RegulatorMSP', 'regulator', 'Shanghai'],
      ['OperatorMSP', 'operator', 'Shanghai'],
    ]);
    const operator = consortium.organizations.find((o) => o.role === 'operator');
    expect(operator?.nodes).toEqual([
      { name: 'ledger0', host: 'ledger0.operator.lianxin.local', type: 'peer', ports: { grpc: 7051 } },
      { name: 'orderer0', host: 'orderer0.operator.lianxin.local', type: 'orderer', ports: { grpc: 7050 } },
    ]);
    const ports = consortium.organizations.flatMap((o) =>
      o.nodes.flatMap((n) => [n.ports.grpc, n.ports.p2p ?? []].flat()),
    );
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('defaults users to Admin and User1, the host alias to <name>.<domain> and the node type to peer', () => {
    const consortium = parseConsortium(stringify(sample()));
    const bank = consortium.organizations[0];
    expect(bank?.users).toEqual(['Admin', 'User1']);
    expect(bank?.nodes[0]).toEqual({
      name: 'node0',
      host: 'node0.shanghai-bank.lianxin.local',
      type: 'peer',
      ports: { grpc: 7101, p2p: 7201 },
    });
  });

  it('rejects an unknown role naming the field', () => {
    const parse = parseWith((doc) => (org(doc, 1).role = 'bnk'));
    expect(parse).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'organizations[1].role' }));
    expect(parse).toThrow(/organizations\[1\]\.role.*one of agency, bank, platform, regulator, operator/);
  });

  it('rejects an mspId shaped like a USCC, which a notarization would take for an enterprise', () => {
    const parse = parseWith((doc) => (org(doc, 1).mspId = 'AB123456CDEFGHJKLM'));
    expect(parse).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'organizations[1].mspId' }));
    expect(parse).toThrow(/must not be shaped like a Unified Social Credit Code/);
  });

  it("names the file's line of the field it refuses, of a missing field its organization's", () => {
    const text = stringify(sample());
    const lines = text.split('\n');
    const lineOf = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line)) + 1;
    const role = lineOf(/role: operator/);
    expect(() => parseConsortium(text.replace('role: operator', 'role: bnk'), 'test.yaml')).toThrow(
      new RegExp(`^test\\.yaml:${String(role)}: "organizations\\[1\\]\\.role" must be one of`),
    );
    // The second organization's item starts on the line of its first key.
    const second = lineOf(/mspId: OperatorMSP/);
    expect(() => parseConsortium(text.replace(/ {4}city: Shanghai\n {4}role: operator/, ''), 'test.yaml')).toThrow(
      new RegExp(`^test\\.yaml:${String(second)}: "organizations\\[1\\]\\.city" is required`),
    );
  });

  it('rejects a duplicate mspId', () => {
    const parse = parseWith((doc) => (org(doc, 1).mspId = 'ShanghaiBankMSP'));
    expect(parse).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'organizations[1].mspId' }));
  });

  it.each([
    ['a string', '7101x'],
    ['zero', 0],
    ['above 65535', 70000],
    ['a fraction', 7101.5],
  ])('rejects a port that is %s', (_, port) => {
    const parse = parseWith((doc) => (org(doc, 0).nodes = [{ name: 'node0', ports: { grpc: port, p2p: 7201 } }]));
    expect(parse).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'organizations[0].nodes[0].ports.grpc' }),
    );
  });

  it('rejects a port another node already uses', () => {
    const parse = parseWith((doc) => (org(doc, 1).nodes = [{ name: 'ledger0', ports: { grpc: 7201 } }]));
    expect(parse).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'organizations[1].nodes[0].ports.grpc' }),
    );
    expect(parse).toThrow(/already used by "organizations\[0\]\.nodes\[0\]\.ports\.p2p"/);
  });

  it.each(['mspId', 'name', 'city', 'role', 'domain'])('rejects an organization without %s', (field) => {
    const parse = parseWith((doc) => Reflect.deleteProperty(org(doc, 0), field));
    expect(parse).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: `organizations[0].${field}` }));
  });

  it('rejects a missing channel and an empty organization list', () => {
    expect(parseWith((doc) => delete (doc as Partial<typeof doc>).channel)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'channel' }),
    );
    expect(parseWith((doc) => (doc.organizations = []))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'organizations' }),
    );
  });

  it('defaults the suite to ECDSA P-256 with SHA-256 and rejects any other', () => {
    expect(parseConsortium(stringify(sample())).suite).toBe('ecdsa-p256-sha256');
    const parse = parseWith((doc) => Object.assign(doc, { suite: 'sm2-sm3' }));
    expect(parse).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'suite' }));
  });

  it('rejects a channel name Fabric would refuse', () => {
    const parse = parseWith((doc) => (doc.channel = 'LianXin'));
    expect(parse).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'channel' }));
  });

  it('rejects an unknown field, so a typo does not pass silently', () => {
    const parse = parseWith((doc) => (org(doc, 0).citty = 'Shanghai'));
    expect(parse).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'organizations[0].citty' }));
  });

  it('rejects an institution node without a p2p port', () => {
    const parse = parseWith((doc) => (org(doc, 0).nodes = [{ name: 'node0', ports: { grpc: 7101 } }]));
    expect(parse).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'organizations[0].nodes[0].ports.p2p' }),
    );
  });

  it('rejects an orderer outside the operator organization', () => {
    const parse = parseWith(
      (doc) => (org(doc, 0).nodes = [{ name: 'orderer1', type: 'orderer', ports: { grpc: 7110, p2p: 7210 } }]),
    );
    expect(parse).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'organizations[0].nodes[0].type' }));
  });

  it('rejects user and node names that would escape their folder', () => {
    expect(parseWith((doc) => (org(doc, 0).users = ['Admin', '../etc']))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'organizations[0].users[1]' }),
    );
    expect(parseWith((doc) => (org(doc, 0).mspId = 'Shanghai/BankMSP'))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'organizations[0].mspId' }),
    );
  });

  it("rejects an MSP ID the chain would not register (the chaincode's rule: no '_')", () => {
    expect(parseWith((doc) => (org(doc, 0).mspId = 'Shanghai_BankMSP'))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'organizations[0].mspId' }),
    );
  });

  it('rejects a duplicate user', () => {
    const parse = parseWith((doc) => (org(doc, 0).users = ['Admin', 'User1', 'Admin']));
    expect(parse).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'organizations[0].users[2]' }));
  });

  it('reports YAML syntax errors and duplicate keys as CONFIG_SYNTAX', () => {
    expect(() => parseConsortium('channel: [lianxin\n', 'x.yaml')).toThrow(
      expect.objectContaining({ code: 'CONFIG_SYNTAX' }),
    );
    expect(() => parseConsortium('channel: a\nchannel: b\norganizations: []\n')).toThrow(
      expect.objectContaining({ code: 'CONFIG_SYNTAX' }),
    );
  });

  it('reports an unreadable file as CONFIG_UNREADABLE', async () => {
    await expect(loadConsortium('/nonexistent/consortium.yaml')).rejects.toMatchObject({ code: 'CONFIG_UNREADABLE' });
  });
});
