import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellWord } from './shell-word.ts';

describe('shellWord', () => {
  it.each(['.data', '/tmp/a b/.data', "it's", 'a$HOME`x`', 'semi;colon', '*', ''])(
    'the shell reads %j back as one word, unchanged',
    (text) => {
      const words = execFileSync('sh', ['-c', `printf '%s\\n' ${shellWord(text)} end`], { encoding: 'utf8' });
      expect(words).toBe(`${text}\nend\n`);
    },
  );

  it('leaves a plain path as it is', () => {
    expect(shellWord('.data/run/network.json')).toBe('.data/run/network.json');
  });
});
