import { describe, expect, it } from 'vitest';
import { type WaitEntry, WaitQueue } from '../../src/kernel/wait.ts';

/** An entry that records its wakes in `log` under `name`, and runs `then` on its first wake. */
function entry(log: string[], name: string, then?: () => void): WaitEntry {
  let first = true;
  return {
    wake(key) {
      log.push(`${name}:${key}`);
      if (first && then) then();
      first = false;
    },
  };
}

describe('WaitQueue', () => {
  it('wakes its entries in the order they were added, each once however often it was added', () => {
    const q = new WaitQueue('q');
    const log: string[] = [];
    const a = entry(log, 'a');
    const b = entry(log, 'b');
    const c = entry(log, 'c');
    q.add(a);
    q.add(b);
    q.add(a);
    q.add(c);
    expect(q.size).toBe(3);
    q.wake(1);
    expect(log).toEqual(['a:1', 'b:1', 'c:1']);
  });

  it('keeps the order of the others when one in the middle is removed; removing an absent entry does nothing', () => {
    const q = new WaitQueue('q');
    const log: string[] = [];
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => entry(log, n));
    for (const e of [a!, b!, c!]) q.add(e);
    q.remove(b!);
    q.remove(d!);
    q.add(b!);
    expect(q.size).toBe(3);
    q.wake();
    expect(log).toEqual(['a:0', 'c:0', 'b:0']);
    q.remove(a!);
    q.remove(c!);
    q.remove(b!);
    expect(q.size).toBe(0);
    q.wake(5);
    expect(log).toHaveLength(3);
  });

  it('wakes the entries present when the wake began: one added by a callback waits for the next wake, one removed is still woken', () => {
    const q = new WaitQueue('q');
    const log: string[] = [];
    const late = entry(log, 'late');
    const b = entry(log, 'b');
    const a = entry(log, 'a', () => {
      q.add(late);
      q.remove(b);
    });
    q.add(a);
    q.add(b);
    q.wake(2);
    expect(log).toEqual(['a:2', 'b:2']);
    q.wake(3);
    expect(log).toEqual(['a:2', 'b:2', 'a:3', 'late:3']);
  });

  it('a single entry that adds another while woken: only the first is woken this time', () => {
    const q = new WaitQueue('q');
    const log: string[] = [];
    const late = entry(log, 'late');
    q.add(entry(log, 'only', () => q.add(late)));
    q.wake(4);
    expect(log).toEqual(['only:4']);
    expect(q.size).toBe(2);
  });
});
