/**
 * The admission mode against a typed fake of the chain calls it makes (GetSettings, the chain's height, the
 * registry's event stream): the stricter of the node's and the registry's, followed at each registry change, and a
 * failed read after a change read again rather than lost. The running node's half is in test/node-notary.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { UsccMode } from '../../chaincode/src/protocol.ts';
import { ChainError, type LianxinChain, type RegistryChange } from '../ledger/index.ts';
import { FakeEventStream } from '../ledger/test-event-stream.ts';
import { createLogger } from '../logging/index.ts';
import { eventually } from '../../test/support/eventually.ts';
import { UsccAdmission } from './uscc-mode.ts';

type AdmissionChain = ConstructorParameters<typeof UsccAdmission>[0];

const running: UsccAdmission[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((a) => a.stop()));
});

/** A registry whose mode the test sets, whose reads fail while `failing` counts down, and its event streams. */
function registry(mode: UsccMode) {
  const state = { mode, failing: 0, reads: 0 };
  const streams: FakeEventStream<RegistryChange>[] = [];
  const chain: AdmissionChain = {
    getSettings: () => {
      state.reads++;
      if (state.failing > 0) {
        state.failing--;
        return Promise.reject(new ChainError('UNAVAILABLE', 'the gateway did not answer in time'));
      }
      return Promise.resolve({ usccMode: state.mode });
    },
    chainInfo: () => Promise.resolve({ height: 7n } as Awaited<ReturnType<LianxinChain['chainInfo']>>),
    registryChanges: () => {
      const stream = new FakeEventStream<RegistryChange>();
      streams.push(stream);
      return Promise.resolve(stream);
    },
  };
  const settingsChanged = () => {
    streams.at(-1)?.push({ mspId: 'OperatorMSP', kind: 'settings', blockNumber: 9n, transactionId: 'tx' });
  };
  return { state, streams, chain, settingsChanged };
}

function admission(chain: AdmissionChain, configured: UsccMode): UsccAdmission {
  const a = new UsccAdmission(chain, configured, createLogger({ level: 'silent' }), {
    retryInitialMs: 1,
    retryMaxMs: 1,
  });
  running.push(a);
  return a;
}

describe('UsccAdmission', () => {
  it('admits in the stricter of the two modes, and keeps its own when the ledger does not answer at start', async () => {
    const lenient = registry('lenient');
    const strictNode = admission(lenient.chain, 'strict');
    await strictNode.refresh();
    expect(strictNode.usccMode).toBe('strict');

    const strict = registry('strict');
    strict.state.failing = 1;
    const lenientNode = admission(strict.chain, 'lenient');
    await lenientNode.refresh();
    expect(lenientNode.usccMode).toBe('lenient');
    await lenientNode.refresh();
    expect(lenientNode.usccMode).toBe('strict');
  });

  it('follows the registry both ways while running, and reads again after a failed read rather than lose a change', async () => {
    const r = registry('lenient');
    const node = admission(r.chain, 'lenient');
    await node.refresh();
    node.start();
    await eventually(() => Promise.resolve(r.streams.length === 1 ? true : undefined));

    r.state.mode = 'strict';
    r.settingsChanged();
    await eventually(() => Promise.resolve(node.usccMode === 'strict' ? true : undefined));

    // SetUsccMode lenient commits, and the read its event asks for fails once: read again, not kept strict.
    r.state.mode = 'lenient';
    r.state.failing = 1;
    const reads = r.state.reads;
    r.settingsChanged();
    await eventually(() => Promise.resolve(node.usccMode === 'lenient' ? true : undefined), {
      what: 'the lenient mode read again after a failed read',
    });
    expect(r.state.reads).toBeGreaterThanOrEqual(reads + 2);
  });
});
