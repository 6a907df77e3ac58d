/**
 * The IIO core (drivers/iio/industrialio-core.c): device registration with its char device
 * `/dev/iio:deviceN` and sysfs directory, the char device's open/release/ioctl, and the legacy path on
 * which the char device reads and writes buffer 0. Rules CDEV-*, CIOC-*, LEG-*, ATTR-1..3.
 */
import { EBUSY, EINVAL, ENODEV, EPERM } from '../../uapi/errno.ts';
import { IIO_BUFFER_GET_FD_IOCTL, IIO_GET_EVENT_FD_IOCTL } from '../../uapi/iio.ts';
import { formatIioValue, IIO_VAL_INT_PLUS_MICRO } from '../lib/format.ts';
import { iioStrToFixpoint, kstrtoint } from '../lib/kstrtox.ts';
import { type Attribute, addDeviceCoreFiles, SysfsGroup } from '../sysfs.ts';
import { type Caller, compatPtrIoctl, type File, type FileOperations, newInode } from '../vfs.ts';
import type { SysRet } from '../wait.ts';
import {
  disableAllBuffers,
  iioBufferPoll,
  iioBufferRead,
  iioBufferWrite,
  iioDeviceBufferGetfd,
  registerBufferSysfs,
} from './buffer.ts';
import { IioDev, type IioDevBufferPair, type IioDevSpec, type IioServices } from './device.ts';
import { IioEventInterface } from './event.ts';
import { channelName, type IioChanSpec, INDIO_BUFFER_TRIGGERED } from './types.ts';

/** The char device major of IIO devices, as on a typical board. */
export const IIO_MAJOR = 241;

/**
 * The IIO bus of one kernel: registered devices in `iio:deviceN` order and the services they get
 * (`iio_device_alloc()` + `iio_device_register()`).
 */
export class IioBus {
  readonly services: IioServices;
  readonly devices: IioDev[] = [];

  constructor(services: IioServices) {
    this.services = services;
  }

  /** The N the next registered device gets. */
  get nextId(): number {
    return this.devices.length;
  }

  /** Registers a device as the next `iio:deviceN`; `build` attaches buffers and the trigger first. */
  register(spec: IioDevSpec, build: (dev: IioDev) => void): IioDev {
    const dev = new IioDev(this.services, this.devices.length, spec);
    if (spec.events) dev.events = new IioEventInterface(dev.devName, dev, this.services.census);
    build(dev);
    iioDeviceRegister(dev, this.devices.filter((d) => d.trigger !== null).length);
    this.devices.push(dev);
    return dev;
  }
}

/**
 * `iio_device_register()`: the char device (CDEV-1, CDEV-2) and the sysfs files; with the device's own
 * trigger, that trigger's `triggerN` directory (`iio_trigger_register()`, N in registration order).
 */
function iioDeviceRegister(dev: IioDev, triggerId: number): void {
  const { paths } = dev.iio;
  const dir = dev.sysfsDir;
  const g = new SysfsGroup(paths);
  dev.sysfs = g;
  g.add(`${dir}/name`, {
    show() {
      return `${dev.name}\n`;
    },
  });
  g.add(`${dir}/dev`, {
    show() {
      return `${IIO_MAJOR}:${dev.id}\n`;
    },
  });
  addDeviceCoreFiles(g, dir, {
    show() {
      return `MAJOR=${IIO_MAJOR}\nMINOR=${dev.id}\nDEVNAME=${dev.devName}\nDEVTYPE=iio_device\n`;
    },
  });
  for (const chan of dev.channels)
    for (const attr of dev.info!.separateAttrs?.(chan) ?? [])
      g.addIn(dir, `${channelName(chan)}_${attr}`, infoAttribute(dev, attr, chan));
  for (const attr of dev.info!.sharedAttrs) g.addIn(dir, attr, infoAttribute(dev, attr));
  for (const b of dev.buffers) registerBufferSysfs(dev, b, g, dir);
  if (dev.trigger) {
    g.add(`${dir}/trigger/current_trigger`, currentTriggerAttribute(dev));
    const name = dev.trigger.name;
    g.add(`/sys/bus/iio/devices/trigger${triggerId}/name`, {
      show() {
        return `${name}\n`;
      },
    });
    addDeviceCoreFiles(g, `/sys/bus/iio/devices/trigger${triggerId}`, {
      show() {
        return '';
      },
    });
  }
  // `iio_device_register_eventset()` names the group `events` whether or not a channel has event attributes.
  if (dev.events) g.addDir(`${dir}/events`);
  if (dev.channels.some((c) => c.type === 'timestamp') || dev.events)
    g.add(`${dir}/current_timestamp_clock`, timestampClockAttribute(dev));
  if (dev.buffers.length > 0 || dev.events) {
    const fops = dev.buffers.length > 0 ? iioBufferChrdevFops : iioEventChrdevFops;
    paths.add(
      `/dev/${dev.devName}`,
      newInode(paths.allocIno(), 'chr', 0o600, fops, dev, { major: IIO_MAJOR, minor: dev.id }),
    );
  }
}

/**
 * `iio_device_unregister()`: the device is gone. Open files stay open and answer -ENODEV; sleepers wake;
 * buffers are disabled. Transfers still queued never complete (DMAQ-8, ENQ-23).
 */
export function iioDeviceUnregister(dev: IioDev): void {
  if (!dev.info) return;
  disableAllBuffers(dev);
  for (const b of dev.buffers) b.access.exit?.();
  dev.info = null;
  dev.iio.paths.remove(`/dev/${dev.devName}`);
  dev.sysfs?.removeAll();
  for (const b of dev.buffers) b.pollq.wake();
  dev.events?.wait.wake();
}

/**
 * `current_trigger` (`current_trigger_show/store()`, industrialio-trigger.c): always 0644. The simulated
 * devices' triggers are immutable (`iio_trigger_set_immutable()`), so a write is -EBUSY while the triggered
 * buffer runs and -EPERM otherwise, whatever it names.
 */
function currentTriggerAttribute(dev: IioDev): Attribute {
  return {
    mode: 0o644,
    show() {
      return `${dev.trigger?.name ?? ''}\n`;
    },
    store() {
      return dev.currentMode === INDIO_BUFFER_TRIGGERED ? -EBUSY : -EPERM;
    },
  };
}

/** `clock_names[]` of industrialio-core.c, indexed by clockid. */
const CLOCK_NAMES = [
  'realtime',
  'monotonic',
  'process_cputime_id',
  'thread_cputime_id',
  'monotonic_raw',
  'realtime_coarse',
  'monotonic_coarse',
  'boottime',
  'realtime_alarm',
  'boottime_alarm',
  'sgi_cycle',
  'tai',
] as const;

/** The clocks `current_timestamp_clock_store()` accepts (by clockid). */
const SETTABLE_CLOCKS = new Set([0, 1, 4, 5, 6, 7, 11]);

/**
 * `current_timestamp_clock` of a device with a timestamp channel or an event interface
 * (`iio_device_register_sysfs()`): the clock's name; a store must name a settable clock (-EINVAL) and is
 * -EBUSY while a buffer is enabled or the event fd is open (`iio_device_set_clock()`). The simulator's
 * timestamps are virtual time whichever clock is chosen.
 */
function timestampClockAttribute(dev: IioDev): Attribute {
  let clock = 0;
  return {
    show() {
      return `${CLOCK_NAMES[clock]}\n`;
    },
    store(text: string) {
      // sysfs_match_string(): a single trailing newline is ignored.
      const id = CLOCK_NAMES.indexOf(
        (text.endsWith('\n') ? text.slice(0, -1) : text) as (typeof CLOCK_NAMES)[number],
      );
      if (id < 0 || !SETTABLE_CLOCKS.has(id)) return -EINVAL;
      if (dev.events?.busy || dev.currentMode !== 0) return -EBUSY;
      clock = id;
      return 0;
    },
  };
}

/**
 * A channel-info attribute, shared by all channels or of one channel `chan` (ATTR-2, ATTR-3): 0644 whatever
 * the driver's write_raw does, as `iio_device_add_info_mask_type()` gives every one a store.
 */
function infoAttribute(dev: IioDev, attr: string, chan?: IioChanSpec): Attribute {
  return {
    show() {
      if (!dev.info) return -ENODEV;
      const v = dev.info.readRaw(attr, chan);
      if (typeof v === 'number') return v;
      return `${formatIioValue(v.type, v.vals)}\n`;
    },
    store(text: string) {
      if (!dev.info) return -ENODEV;
      if (!dev.info.writeRaw) return -EINVAL;
      const fmt = dev.info.writeFormat?.(attr, chan) ?? IIO_VAL_INT_PLUS_MICRO;
      if (fmt === IIO_VAL_INT_PLUS_MICRO) {
        const r = iioStrToFixpoint(text, 100000);
        if (!r.ok) return r.errno;
        return dev.info.writeRaw(attr, r.value.integer, r.value.fract, chan);
      }
      const r = kstrtoint(text, 0);
      if (!r.ok) return r.errno;
      return dev.info.writeRaw(attr, r.value, 0, chan);
    },
  };
}

function devOf(file: File): IioDev {
  return file.inode.priv as IioDev;
}

/** `iio_ioctl()`: the char device's ioctls (CIOC-*). */
function iioChrdevIoctl(file: File, cmd: number, arg: number, task: Caller): SysRet {
  const dev = devOf(file);
  if (!dev.info) return -ENODEV;
  if (cmd === IIO_BUFFER_GET_FD_IOCTL && dev.buffers.length > 0) return iioDeviceBufferGetfd(dev, arg, task);
  if (cmd === IIO_GET_EVENT_FD_IOCTL && dev.events) return dev.events.getfd(arg, task);
  return -ENODEV;
}

/** `iio_event_fileops`: the char device of a device with events and no buffer. */
const iioEventChrdevFops: FileOperations = {
  open: (_inode, file) => {
    const dev = devOf(file);
    if (dev.chrdevBusy) return -EBUSY;
    dev.chrdevBusy = true;
    return 0;
  },
  release: (_inode, file) => {
    devOf(file).chrdevBusy = false;
  },
  llseek: (file) => file.pos,
  unlockedIoctl: iioChrdevIoctl,
  compatIoctl: compatPtrIoctl,
};

function legacyPair(file: File): IioDevBufferPair {
  return file.privateData as IioDevBufferPair;
}

/** `iio_buffer_fileops`: the char device with its legacy read/write/poll on buffer 0 (CDEV-2, LEG-*). */
const iioBufferChrdevFops: FileOperations = {
  ...iioEventChrdevFops,
  open: (inode, file, task) => {
    const ret = iioEventChrdevFops.open!(inode, file, task);
    if (ret) return ret;
    const dev = devOf(file);
    file.privateData = { dev, buffer: dev.buffers[0]! } satisfies IioDevBufferPair;
    return 0;
  },
  read: (file, buf, count, task) => {
    const ib = legacyPair(file);
    if (ib.buffer.busy) return -EBUSY;
    return iioBufferRead(file, ib, buf, count, task);
  },
  write: (file, buf, count, task) => {
    const ib = legacyPair(file);
    if (ib.buffer.busy) return -EBUSY;
    return iioBufferWrite(file, ib, buf, count, task);
  },
  poll: (file, pt) => {
    const ib = legacyPair(file);
    if (ib.buffer.busy) return 0;
    return iioBufferPoll(ib, pt);
  },
};
