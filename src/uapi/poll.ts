/**
 * poll(2)/epoll(7) event bits (asm-generic values; EPOLL* equal POLL*) and `struct pollfd`. Rulebook §1.2, §1.4.
 *
 * @packageDocumentation
 */

import type { FlagTable } from './flags.ts';
import { formatFlags } from './flags.ts';
import type { Abi, StructOf } from './struct.ts';
import { defineStruct } from './struct.ts';

/** Data to read. */
export const POLLIN = 0x0001;
/** Urgent/priority data (IIO: an event is queued). */
export const POLLPRI = 0x0002;
/** Writing will not block. */
export const POLLOUT = 0x0004;
/** Error condition (always reported). */
export const POLLERR = 0x0008;
/** Hang up (always reported). */
export const POLLHUP = 0x0010;
/** fd not open (rulebook POLL-4). */
export const POLLNVAL = 0x0020;
/** Normal data to read. */
export const POLLRDNORM = 0x0040;
/** Priority band data to read. */
export const POLLRDBAND = 0x0080;
/** Normal data may be written. */
export const POLLWRNORM = 0x0100;
/** Priority band data may be written. */
export const POLLWRBAND = 0x0200;
/** Unused by Linux. */
export const POLLMSG = 0x0400;
/** Unused by Linux. */
export const POLLREMOVE = 0x1000;
/** Peer closed its writing half. */
export const POLLRDHUP = 0x2000;

/** Mask reported by a file without a poll operation: `POLLIN|POLLOUT|POLLRDNORM|POLLWRNORM` (rulebook POLL-5). */
export const DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

/** epoll: same as POLLIN. */
export const EPOLLIN = POLLIN;
/** epoll: same as POLLPRI. */
export const EPOLLPRI = POLLPRI;
/** epoll: same as POLLOUT. */
export const EPOLLOUT = POLLOUT;
/** epoll: same as POLLERR. */
export const EPOLLERR = POLLERR;
/** epoll: same as POLLHUP. */
export const EPOLLHUP = POLLHUP;
/** epoll: same as POLLNVAL. */
export const EPOLLNVAL = POLLNVAL;
/** epoll: same as POLLRDNORM. */
export const EPOLLRDNORM = POLLRDNORM;
/** epoll: same as POLLRDBAND. */
export const EPOLLRDBAND = POLLRDBAND;
/** epoll: same as POLLWRNORM. */
export const EPOLLWRNORM = POLLWRNORM;
/** epoll: same as POLLWRBAND. */
export const EPOLLWRBAND = POLLWRBAND;
/** epoll: same as POLLMSG. */
export const EPOLLMSG = POLLMSG;
/** epoll: same as POLLRDHUP. */
export const EPOLLRDHUP = POLLRDHUP;
/** epoll: exclusive wakeup. */
export const EPOLLEXCLUSIVE = 1 << 28;
/** epoll: hold a wakeup source. */
export const EPOLLWAKEUP = 1 << 29;
/** epoll: disarm after one event. */
export const EPOLLONESHOT = 1 << 30;
/** epoll: edge triggered (bit 31, as an unsigned number). */
export const EPOLLET = 2 ** 31;
/** epoll_ctl: add an fd. */
export const EPOLL_CTL_ADD = 1;
/** epoll_ctl: remove an fd. */
export const EPOLL_CTL_DEL = 2;
/** epoll_ctl: change an fd's events. */
export const EPOLL_CTL_MOD = 3;

/** Poll bits in strace's print order. */
export const POLL_EVENT_NAMES: FlagTable = [
  ['POLLIN', POLLIN],
  ['POLLPRI', POLLPRI],
  ['POLLOUT', POLLOUT],
  ['POLLERR', POLLERR],
  ['POLLHUP', POLLHUP],
  ['POLLNVAL', POLLNVAL],
  ['POLLRDNORM', POLLRDNORM],
  ['POLLRDBAND', POLLRDBAND],
  ['POLLWRNORM', POLLWRNORM],
  ['POLLWRBAND', POLLWRBAND],
  ['POLLMSG', POLLMSG],
  ['POLLREMOVE', POLLREMOVE],
  ['POLLRDHUP', POLLRDHUP],
];

/** strace-style poll mask: `POLLIN|POLLOUT`, `0` for none, unknown bits as `|0x...`. */
export function formatPollEvents(events: number): string {
  return formatFlags(events >>> 0, POLL_EVENT_NAMES);
}

function formatShortEvents(v: number | bigint): string {
  return formatPollEvents(Number(BigInt.asUintN(16, BigInt(v))));
}

/** `struct pollfd` {fd s32, events s16, revents s16}: 8 bytes, align 4, in both ABIs. */
export const pollfd = defineStruct('pollfd', [
  ['fd', 's32'],
  ['events', 's16', formatShortEvents],
  ['revents', 's16', formatShortEvents],
]);
/** Decoded `struct pollfd`. */
export type pollfd = StructOf<typeof pollfd>;

/** Encodes an array of `struct pollfd` as poll(2) receives it. */
export function encodePollfds(entries: readonly Partial<pollfd>[], abi: Abi = 'lp64'): Uint8Array {
  const size = pollfd.size(abi);
  const out = new Uint8Array(size * entries.length);
  entries.forEach((e, i) => {
    out.set(pollfd.encode(e, abi), i * size);
  });
  return out;
}

/** Decodes `nfds` consecutive `struct pollfd`; throws a `RangeError` if `bytes` is too short. */
export function decodePollfds(bytes: Uint8Array, nfds: number, abi: Abi = 'lp64'): pollfd[] {
  const size = pollfd.size(abi);
  const out: pollfd[] = [];
  for (let i = 0; i < nfds; i++) out.push(pollfd.decode(bytes.subarray(i * size, (i + 1) * size), abi));
  return out;
}
