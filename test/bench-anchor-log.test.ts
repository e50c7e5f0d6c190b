/**
 * bench/node-metrics.ts AnchorLogFollower: consortium-ingest stops its clock on the node's "anchor committed" log
 * lines, read as the file grows. A line arrives in pieces (a chunk may end inside it, even inside a character), and
 * the node's stdout and stderr share the file, so a piece of one can land inside a line of the other: such a line
 * must fail the run loudly, not crash the bench from a watch callback nor leave its leaves uncounted in silence.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AnchorLogFollower } from '../bench/node-metrics.ts';

const committed = (leaves: number, origin: string) =>
  `${JSON.stringify({ level: 30, origin, leaves, msg: 'anchor committed' })}\n`;

describe('AnchorLogFollower', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-anchor-log-'));
    file = join(dir, 'node.log');
    writeFileSync(file, committed(1_000, 'before the follower started'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('counts the leaves of lines written after it started, a line split inside a character included', () => {
    using follower = new AnchorLogFollower(file);
    appendFileSync(file, `${JSON.stringify({ level: 30, msg: 'ingest batch' })}\n${committed(3, 'a')}`);
    expect(follower.anchored(3)).toMatchObject({ anchors: 1 });
    // "杭州" is three bytes a character: the first write ends one byte into it.
    const line = Buffer.from(committed(4, '杭州信用'));
    const split = line.indexOf(Buffer.from('杭')) + 1;
    appendFileSync(file, line.subarray(0, split));
    expect(follower.anchored(7)).toBeUndefined();
    appendFileSync(file, line.subarray(split));
    expect(follower.anchored(7)).toMatchObject({ anchors: 2 });
    expect(follower.anchored(8)).toBeUndefined();
  });

  it('throws INCOMPLETE once an "anchor committed" line is not a whole log entry', () => {
    using follower = new AnchorLogFollower(file);
    const line = committed(5, 'a');
    // A stderr chunk landed inside the line.
    appendFileSync(file, `${line.slice(0, 20)}Error: stderr chunk\n${line.slice(20)}`);
    expect(() => follower.anchored(5)).toThrow(expect.objectContaining({ code: 'INCOMPLETE' }) as Error);
  });
});
