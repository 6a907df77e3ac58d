/**
 * sysfs attribute files as kernfs serves them: a show that formats the whole value at the first read, a
 * store that sees the written bytes, the access checks of kernfs_fop_open (rules SYSFS-1..5, 7) and
 * kernfs_generic_poll's change event (POLL-6, docs/quirks.md).
 */
import { EACCES, EFAULT, EINVAL, EIO, ENODEV } from '../uapi/errno.ts';
import { DEFAULT_POLLMASK, POLLERR, POLLPRI } from '../uapi/poll.ts';
import type { PathTree } from './vfs.ts';
import { type File, type FileOperations, genericFileLlseek, type Inode, newInode } from './vfs.ts';
import type { Sleep } from './wait.ts';

/** A device attribute (`struct device_attribute`). */
export interface Attribute {
  /** The text, ending in "\n", or a negative errno (or a sleep, when the show needs a lock it waits for). */
  show(): string | number | Sleep;
  /** Parses `text`; returns 0 (or any value >= 0) on success, or a negative errno. Absent: read-only. */
  store?(text: string): number | Sleep;
  /** Permission bits; default 0644 with a store, 0444 without. */
  mode?: number;
}

/** Largest write a store sees (PAGE_SIZE, rule SYSFS-4), also the size of every text attribute's inode. */
const SYSFS_MAX_WRITE = 4096;

interface OpenAttr {
  readonly attr: Attribute;
  readonly alive: () => boolean;
  /** The text shown at the first read of this open file (kernfs seq_file buffer). */
  text: string | null;
  /** Where the last read ended (`seq_file.read_pos`): the buffer's rest is served from there. */
  readPos: number;
  /**
   * The change count this open file last showed (`kernfs_open_file.event`): 0 until its first show, while the
   * attribute's count starts at 1 (`kernfs_get_open_node`) and nothing here notifies a change.
   */
  event: number;
}

/** `kernfs_open_node.event` of every attribute: 1 from the first open on (nothing calls sysfs_notify). */
const ATTR_EVENT = 1;

const decoder = new TextDecoder('latin1');
const encoder = new TextEncoder();

function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

const kernfsFops: FileOperations = {
  open(inode, file) {
    const a = inode.priv as { attr: Attribute; alive: () => boolean };
    const mode = a.attr.mode ?? (a.attr.store ? 0o644 : 0o444);
    if (file.canWrite && ((mode & 0o222) === 0 || !a.attr.store)) return -EACCES;
    if (file.canRead && (mode & 0o444) === 0) return -EACCES;
    file.privateData = { attr: a.attr, alive: a.alive, text: null, readPos: 0, event: 0 } satisfies OpenAttr;
    return 0;
  },
  /**
   * Mirrors `seq_read_iter()` over kernfs' seq ops: the first read shows the whole value into the buffer, later
   * reads continue from it. Only a read that needs a new show (nothing left in the buffer, or the position was
   * moved) goes through `kernfs_seq_start()`, whose active-reference check is the -ENODEV of a removed device
   * (SYSFS-7): the rest of a value partly read before the removal still comes back (docs/quirks.md).
   */
  read(file, buf, count, task) {
    const o = file.privateData as OpenAttr;
    // seq_read_iter() returns before anything for an empty read.
    if (count === 0) return 0;
    if (!o.alive()) {
      const buffered = o.text !== null && o.readPos === file.pos ? o.text.length - file.pos : 0;
      if (buffered <= 0) return -ENODEV;
    } else if (file.pos === 0 || o.text === null) {
      // kernfs_seq_show() records the change count before the attribute's show runs, whatever it returns.
      o.event = ATTR_EVENT;
      const shown = o.attr.show();
      if (typeof shown !== 'string') return shown;
      o.text = shown;
    }
    const bytes = latin1Bytes((o.text ?? '').slice(file.pos, file.pos + count));
    if (bytes.length === 0) return 0;
    const n = task.mm.copyToUserPrefix(buf, bytes);
    if (n === 0) return -EFAULT;
    file.pos += n;
    o.readPos = file.pos;
    return n;
  },
  write(file, buf, count, task) {
    const o = file.privateData as OpenAttr;
    if (!o.alive()) return -ENODEV;
    if (count === 0) return 0;
    const n = Math.min(count, SYSFS_MAX_WRITE);
    const bytes = task.mm.copyFromUser(buf, n);
    if (!bytes) return -EFAULT;
    const ret = o.attr.store!(decoder.decode(bytes));
    if (typeof ret !== 'number') return ret;
    return ret < 0 ? ret : n;
  },
  /**
   * Mirrors `kernfs_fop_poll()` and `kernfs_generic_poll()`: readable and writable, plus POLLERR|POLLPRI ("the
   * value changed, read it again") while this open file has not shown the current value: before its first
   * read, and once the attribute is gone.
   */
  poll(file) {
    const o = file.privateData as OpenAttr;
    if (!o.alive() || o.event !== ATTR_EVENT) return DEFAULT_POLLMASK | POLLERR | POLLPRI;
    return DEFAULT_POLLMASK;
  },
  // kernfs_fop_llseek(): the active-reference check first (-ENODEV once the device is gone, SYSFS-7); then,
  // sysfs attributes having no llseek op, generic_file_llseek() over the inode's size, which sysfs sets to
  // PAGE_SIZE for every text attribute.
  llseek(file, offset, whence) {
    if (!(file.privateData as OpenAttr).alive()) return -ENODEV;
    return genericFileLlseek(file, offset, whence, SYSFS_MAX_WRITE);
  },
};

/** The inode of attribute file `attr` (built when its directory is first looked into). */
function attrInode(ino: number, attr: Attribute, alive: () => boolean): Inode {
  return newInode(ino, 'attr', attr.mode ?? (attr.store ? 0o644 : 0o444), kernfsFops, { attr, alive });
}

/** A group of attribute files under one directory, removable together (device unregistration). */
export class SysfsGroup {
  readonly #paths: PathTree;
  readonly #files: string[] = [];
  /** Files added with {@link SysfsGroup.addIn}: directory and name, one after the other. */
  readonly #inDirs: string[] = [];
  #alive = true;
  /** Shared by every file of the group (one closure per group: a device registers a hundred attributes). */
  readonly #isAlive: () => boolean;

  constructor(paths: PathTree) {
    this.#paths = paths;
    this.#isAlive = () => this.#alive;
  }

  /** Creates the attribute file `path`. */
  add(path: string, attr: Attribute): void {
    const alive = this.#isAlive;
    this.#paths.add(
      path,
      newInode(this.#paths.allocIno(), 'attr', attr.mode ?? (attr.store ? 0o644 : 0o444), kernfsFops, {
        attr,
        alive,
      }),
    );
    this.#files.push(path);
  }

  /** {@link SysfsGroup.add} of `${dir}/${name}`, `name` being one component (see {@link PathTree.addIn}). */
  addIn(dir: string, name: string, attr: Attribute): void {
    this.#paths.addInDeferred(dir, name, this.#paths.allocIno(), attrInode, attr, this.#isAlive);
    this.#inDirs.push(dir, name);
  }

  /** Creates the (empty) directory `path`, removed with the group's files. */
  addDir(path: string): void {
    this.#paths.mkdir(path);
    this.#files.push(path);
  }

  /** Removes every file; files still open then answer -ENODEV (SYSFS-7). */
  removeAll(): void {
    this.#alive = false;
    for (const p of this.#files) this.#paths.remove(p);
    for (let i = 0; i < this.#inDirs.length; i += 2)
      this.#paths.remove(`${this.#inDirs[i]}/${this.#inDirs[i + 1]}`);
  }
}

/** Text of a user write as the store sees it (exposed for tests of stores). */
export function storeText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Bytes of a shown value (exposed for tests). */
export function showBytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Keeps the File type reachable for attribute implementations. */
export type { File };

/** The kobject actions a write to `uevent` may name (`kobject_action_type()`, lib/kobject_uevent.c). */
const UEVENT_ACTIONS = ['add', 'remove', 'change', 'move', 'online', 'offline', 'bind', 'unbind'];

/** A store accepting only `words` (a trailing newline allowed), -EINVAL otherwise. */
function oneOf(words: readonly string[]): (text: string) => number {
  return (text) => (words.includes(text.replace(/\n$/, '')) ? 0 : -EINVAL);
}

/** The runtime-PM group of a device whose runtime PM was never enabled (drivers/base/power/sysfs.c). */
const POWER_FILES: Readonly<Record<string, Attribute>> = {
  async: { show: () => 'disabled\n', store: oneOf(['enabled', 'disabled']) },
  // Without autosuspend (`use_autosuspend` unset), both the show and the store of the delay are -EIO.
  autosuspend_delay_ms: { show: () => -EIO, store: () => -EIO },
  control: { show: () => 'auto\n', store: oneOf(['auto', 'on']) },
  runtime_active_kids: { show: () => '0\n' },
  runtime_active_time: { show: () => '0\n' },
  runtime_enabled: { show: () => 'disabled\n' },
  runtime_status: { show: () => 'unsupported\n' },
  runtime_suspended_time: { show: () => '0\n' },
  runtime_usage: { show: () => '0\n' },
};

/**
 * The files the driver core gives every registered `struct device` (`device_add()`, drivers/base/core.c):
 * `uevent` (its environment, `uevent.show()`; a write names an action to announce), the runtime-PM group
 * `power/` (shared attributes: they hold no state of the device) and the `subsystem` link to its bus (here a
 * directory of its own: nothing below it is simulated).
 */
export function addDeviceCoreFiles(g: SysfsGroup, dir: string, uevent: { show(): string }): void {
  g.add(`${dir}/uevent`, {
    show() {
      return uevent.show();
    },
    store(text) {
      return UEVENT_ACTIONS.includes(text.replace(/\n$/, '').split(' ')[0]!) ? 0 : -EINVAL;
    },
  });
  const power = `${dir}/power`;
  for (const name in POWER_FILES) g.addIn(power, name, POWER_FILES[name]!);
  g.addDir(`${dir}/subsystem`);
}
