/**
 * The path tree's deferred children (PathTree.addInDeferred): sysfs attributes whose inodes are built when
 * their directory is first looked into, numbered when they were added.
 */
import { describe, expect, it } from 'vitest';
import { type FileOperations, type Inode, newInode, PathTree } from '../../src/kernel/vfs.ts';

const fops = {} as FileOperations;

const made: string[] = [];
function file(ino: number, name: string, mode: number): Inode {
  made.push(name);
  return newInode(ino, 'attr', mode, fops, name);
}

describe('PathTree.addInDeferred', () => {
  it('numbers the inodes when added, builds them at the first look into their directory, in order', () => {
    made.length = 0;
    const t = new PathTree();
    t.addInDeferred('/sys/dev', 'b', t.allocIno(), file, 'b', 0o444);
    t.addInDeferred('/sys/dev', 'a', t.allocIno(), file, 'a', 0o644);
    t.mkdir('/sys/dev/sub');
    t.addInDeferred('/sys/other', 'c', t.allocIno(), file, 'c', 0o444);
    expect(made).toEqual([]);
    const a = t.resolve('/sys/dev/a') as Inode;
    // The directory's two files are built (not /sys/other's), with the numbers taken when they were added
    // (b took 3 before /sys and /sys/dev were created, a took 6).
    expect(made).toEqual(['b', 'a']);
    expect([a.ino, a.mode, (t.lookup('/sys/dev/b') as Inode).ino]).toEqual([6, 0o644, 3]);
    expect(t.list('/sys/dev')).toEqual(['a', 'b', 'sub']);
    expect(t.list('/sys/other')).toEqual(['c']);
    expect(made).toEqual(['b', 'a', 'c']);
    t.remove('/sys/dev/a');
    expect(t.resolve('/sys/dev/a')).toBeLessThan(0);
  });

  it('a name added twice is a bug found when the directory is built', () => {
    const t = new PathTree();
    t.addInDeferred('/sys/d', 'x', t.allocIno(), file, 'x', 0o444);
    t.addInDeferred('/sys/d', 'x', t.allocIno(), file, 'x', 0o444);
    expect(() => t.list('/sys/d')).toThrow('path exists: x');
  });
});
