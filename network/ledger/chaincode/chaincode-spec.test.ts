import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaincodeSpecError, parseChaincodeSpec, parseChaincodeSpecs } from './chaincode-spec.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-cc-spec-'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('parseChaincodeSpec', () => {
  it('reads NAME=service:HOST:PORT as chaincode-as-a-service', () => {
    expect(parseChaincodeSpec('basic=service:cc.example.com:9999')).toEqual({
      kind: 'service',
      name: 'basic',
      address: 'cc.example.com:9999',
    });
    expect(parseChaincodeSpec('v6=service:[::1]:7052')).toMatchObject({ address: '[::1]:7052' });
  });

  it('reads NAME=PATH as an in-process package, resolved from the given directory', () => {
    expect(parseChaincodeSpec('my-cc_2=.', dir)).toEqual({ kind: 'in-process', name: 'my-cc_2', contracts: dir });
  });

  it.each([
    ['basic', 'MALFORMED', '--chaincode must be NAME=service:HOST:PORT or NAME=PATH, got "basic"'],
    ['=x', 'BAD_NAME', '--chaincode name must match'],
    ['bad name=x', 'BAD_NAME', '--chaincode name must match'],
    ['-cc=x', 'BAD_NAME', '--chaincode name must match'],
    ['cc=', 'MALFORMED', '--chaincode cc: the PATH is empty'],
    ['cc=service:localhost', 'BAD_ADDRESS', '--chaincode cc: service address must be HOST:PORT'],
    ['cc=service::7052', 'BAD_ADDRESS', '--chaincode cc: service address must be HOST:PORT'],
    ['cc=service:localhost:0', 'BAD_ADDRESS', '--chaincode cc: service address must be HOST:PORT'],
    ['cc=service:localhost:70000', 'BAD_ADDRESS', '--chaincode cc: service address must be HOST:PORT'],
    ['cc=service:localhost:80a', 'BAD_ADDRESS', '--chaincode cc: service address must be HOST:PORT'],
    ['cc=service:[::1:7052', 'BAD_ADDRESS', '--chaincode cc: service address must be HOST:PORT'],
    ['cc=no/such/dir', 'NO_SUCH_PATH', '--chaincode cc: no chaincode package at'],
  ])('refuses %s (%s)', (spec, code, words) => {
    let err: unknown;
    try {
      parseChaincodeSpec(spec, dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChaincodeSpecError);
    expect(err).toMatchObject({ code });
    expect((err as Error).message).toContain(words);
  });

  it('refuses a name given twice', () => {
    expect(() => parseChaincodeSpecs(['cc=service:h:1', 'cc=.'], dir)).toThrow('--chaincode cc is given twice');
    expect(parseChaincodeSpecs(['a=service:h:1', 'b=.'], dir).map((d) => d.name)).toEqual(['a', 'b']);
  });
});
