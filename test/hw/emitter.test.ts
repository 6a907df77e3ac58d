import { EventEmitter } from 'eventemitter3';
import { describe, expect, it } from 'vitest';
import { CountingEmitter, hasListeners } from '../../src/hw/emitter.ts';
import { createSimulator } from '../../src/sim/simulator.ts';

describe('CountingEmitter', () => {
  it('every way of adding or removing a listener moves listenerGeneration, a once listener also when it fires', () => {
    const e = new CountingEmitter<{ a: () => void; b: () => void }>();
    const f = () => {};
    const seen: number[] = [e.listenerGeneration];
    e.on('a', f);
    seen.push(e.listenerGeneration);
    e.addListener('b', f);
    seen.push(e.listenerGeneration);
    e.once('a', f);
    seen.push(e.listenerGeneration);
    e.emit('a');
    e.emit('b');
    seen.push(e.listenerGeneration);
    e.off('b', f);
    seen.push(e.listenerGeneration);
    e.removeListener('a', f);
    seen.push(e.listenerGeneration);
    e.removeAllListeners();
    seen.push(e.listenerGeneration);
    // The emit of `a` removed the once listener (one change); the emit of `b` changed nothing.
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([e.listenerCount('a'), e.listenerCount('b')]).toEqual([0, 0]);
  });

  it('listens() answers as listenerCount() > 0 through adds, removals and a once listener that fired', () => {
    const e = new CountingEmitter<{ a: () => void; b: () => void }>();
    const f = () => {};
    const both = () => [e.listens('a'), e.listens('b')];
    const seen = [both()];
    e.on('a', f);
    seen.push(both());
    e.once('b', f);
    seen.push(both());
    e.emit('b');
    seen.push(both());
    e.off('a', f);
    seen.push(both());
    expect(seen).toEqual([
      [false, false],
      [true, false],
      [true, true],
      [true, false],
      [false, false],
    ]);
    // Any other emitter is asked every time.
    type Ab = { a: () => void; b: () => void };
    const plain = new EventEmitter<Ab>();
    plain.on('a', f);
    expect([hasListeners<Ab>(plain, 'a'), hasListeners<Ab>(plain, 'b')]).toEqual([true, false]);
    plain.off('a', f);
    expect(hasListeners<Ab>(plain, 'a')).toBe(false);
  });

  it("a listener added to a simulator's bus between syscalls hears the next ones, and none after it is removed", async () => {
    const sim = createSimulator({ platform: 'ideal' });
    const names: string[] = [];
    const listener = (e: { name: string }) => names.push(e.name);
    sim.spawn(
      'p',
      async (sys) => {
        await sys.getpid();
        sim.events.on('syscall:exit', listener);
        await sys.getpid();
        await sys.close(99);
        sim.events.off('syscall:exit', listener);
        await sys.getpid();
        return 0;
      },
      { stdio: false },
    );
    await sim.run();
    expect(names).toEqual(['getpid', 'close']);
  });
});
