/**
 * The IIO event interface (drivers/iio/industrialio-event.c): IIO_GET_EVENT_FD_IOCTL, the event fd's
 * read and poll, and the 16-entry event queue (rules EVFD-1..7).
 */
import { EAGAIN, EBUSY, EFAULT, EINVAL, EMFILE, ENODEV } from '../../uapi/errno.ts';
import { O_NONBLOCK, O_RDONLY } from '../../uapi/fcntl.ts';
import { iio_event_data } from '../../uapi/iio.ts';
import { EPOLLIN, EPOLLRDNORM } from '../../uapi/poll.ts';
import type { Census } from '../kref.ts';
import { putUserInt } from '../uaccess.ts';
import { anonInodeGetfile, type Caller, type FileOperations } from '../vfs.ts';
import { type SysRet, sleepOn, WaitQueue } from '../wait.ts';

/** Events the queue holds before new ones are dropped (EVFD-7). */
export const IIO_EVENT_QUEUE_LEN = 16;
const RECORD = 16;

/** One device's event queue and its event fd state (`struct iio_event_interface`). */
export class IioEventInterface {
  readonly #owner: { readonly registered: boolean };
  readonly #census: Census;
  readonly wait: WaitQueue;
  readonly #queue: Uint8Array[] = [];
  /** An event fd is live (EVFD-2). */
  busy = false;
  /** Events dropped because the queue was full or no fd was live. */
  dropped = 0;
  readonly fops: FileOperations;

  /** The queue of the device named `devName`; `owner.registered` turns false when the device goes. */
  constructor(devName: string, owner: { readonly registered: boolean }, census: Census) {
    this.#owner = owner;
    this.#census = census;
    this.wait = new WaitQueue(`${devName}/events`);
    this.fops = {
      read: (file, buf, count, task) => this.#read(file.flags, buf, count, task),
      poll: (_file, pt) => {
        pt.wait(this.wait);
        return this.#queue.length > 0 ? EPOLLIN | EPOLLRDNORM : 0;
      },
      llseek: (file) => file.pos,
      release: () => {
        this.busy = false;
      },
    };
  }

  /** Queues an event (`iio_push_event`): only while an event fd is live, and only when there is room (EVFD-7). */
  push(id: bigint, timestamp: bigint): boolean {
    if (!this.busy || this.#queue.length >= IIO_EVENT_QUEUE_LEN) {
      this.dropped++;
      return false;
    }
    this.#queue.push(iio_event_data.encode({ id, timestamp }, 'lp64'));
    this.wait.wake(EPOLLIN | EPOLLRDNORM);
    return true;
  }

  /** `iio_event_getfd()` (EVFD-2, EVFD-3). */
  getfd(arg: number, task: Caller): SysRet {
    if (this.busy) return -EBUSY;
    this.busy = true;
    this.#queue.length = 0;
    const file = anonInodeGetfile(this.#census, 'iio:event', this.fops, this, O_RDONLY);
    const fd = task.files.installLowest(file, true);
    if (fd < 0) {
      file.opened = false;
      file.put();
      this.busy = false;
      return -EMFILE;
    }
    if (!putUserInt(task, arg, fd)) return -EFAULT;
    return 0;
  }

  /** `iio_event_chrdev_read()` (EVFD-4). */
  #read(flags: number, buf: number, count: number, task: Caller): SysRet {
    if (!this.#owner.registered) return -ENODEV;
    if (count < RECORD) return -EINVAL;
    const attempt = (): SysRet => {
      if (!this.#owner.registered) return -ENODEV;
      if (this.#queue.length === 0) {
        if (flags & O_NONBLOCK) return -EAGAIN;
        return sleepOn([this.wait], () => `${this.wait.name}: no event queued`, attempt);
      }
      const n = Math.min(Math.floor(count / RECORD), this.#queue.length);
      const out = new Uint8Array(n * RECORD);
      for (let i = 0; i < n; i++) out.set(this.#queue[i]!, i * RECORD);
      if (!task.mm.copyToUser(buf, out)) return -EFAULT;
      this.#queue.splice(0, n);
      return n * RECORD;
    };
    return attempt();
  }
}
