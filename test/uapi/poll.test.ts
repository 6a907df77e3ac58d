import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POLLMASK,
  decodePollfds,
  EPOLLERR,
  EPOLLET,
  EPOLLHUP,
  EPOLLIN,
  EPOLLNVAL,
  EPOLLOUT,
  EPOLLPRI,
  EPOLLRDBAND,
  EPOLLRDNORM,
  EPOLLWRBAND,
  EPOLLWRNORM,
  encodePollfds,
  formatPollEvents,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  POLLPRI,
  POLLRDBAND,
  POLLRDNORM,
  POLLWRBAND,
  POLLWRNORM,
  pollfd,
} from '../../src/uapi/poll.ts';
import { ABIS } from '../../src/uapi/struct.ts';

describe('poll bits (rulebook 1.2)', () => {
  it('1.2: POLL* values', () => {
    expect([
      POLLIN,
      POLLPRI,
      POLLOUT,
      POLLERR,
      POLLHUP,
      POLLNVAL,
      POLLRDNORM,
      POLLRDBAND,
      POLLWRNORM,
      POLLWRBAND,
    ]).toEqual([0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x100, 0x200]);
  });

  it('1.2: EPOLL* equal POLL*', () => {
    expect([
      EPOLLIN,
      EPOLLPRI,
      EPOLLOUT,
      EPOLLERR,
      EPOLLHUP,
      EPOLLNVAL,
      EPOLLRDNORM,
      EPOLLRDBAND,
      EPOLLWRNORM,
      EPOLLWRBAND,
    ]).toEqual([0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x100, 0x200]);
    expect(EPOLLET).toBe(0x80000000);
  });

  it('1.2 POLL-5: DEFAULT_POLLMASK = IN|OUT|RDNORM|WRNORM = 0x145', () => {
    expect(DEFAULT_POLLMASK).toBe(0x145);
  });
});

describe('struct pollfd (rulebook 1.4)', () => {
  it.each(ABIS)('1.4: pollfd in %s is fd@0 s32, events@4 s16, revents@6 s16, size 8/4', (abi) => {
    expect(pollfd.size(abi)).toBe(8);
    expect(pollfd.align(abi)).toBe(4);
    expect(pollfd.offsetOf('fd', abi)).toBe(0);
    expect(pollfd.offsetOf('events', abi)).toBe(4);
    expect(pollfd.offsetOf('revents', abi)).toBe(6);
  });

  it('POLL-3: a negative fd survives the round trip', () => {
    const bytes = pollfd.encode({ fd: -1, events: POLLIN }, 'lp64');
    expect(bytes).toEqual(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0]));
    expect(pollfd.decode(bytes, 'lp64')).toEqual({ fd: -1, events: 1, revents: 0 });
  });

  it('events is a signed short: 0x8000 decodes as -32768 and formats as 0x8000', () => {
    const v = pollfd.decode(pollfd.encode({ fd: 3, events: 0x8000 }, 'lp64'), 'lp64');
    expect(v.events).toBe(-32768);
    expect(pollfd.format(v)).toBe('{fd=3, events=0x8000, revents=0}');
  });

  it('format prints events strace style', () => {
    expect(pollfd.format({ fd: 4, events: POLLOUT, revents: POLLOUT | POLLWRNORM })).toBe(
      '{fd=4, events=POLLOUT, revents=POLLOUT|POLLWRNORM}',
    );
  });

  it('arrays of pollfd', () => {
    const bytes = encodePollfds([
      { fd: 4, events: POLLOUT },
      { fd: 3, events: POLLIN },
    ]);
    expect(bytes.length).toBe(16);
    expect(decodePollfds(bytes, 2)).toEqual([
      { fd: 4, events: 4, revents: 0 },
      { fd: 3, events: 1, revents: 0 },
    ]);
    expect(() => decodePollfds(bytes, 3)).toThrow(RangeError);
  });
});

describe('formatPollEvents', () => {
  it('joins known bits, 0 is "0", unknown bits hex', () => {
    expect(formatPollEvents(POLLIN | POLLOUT)).toBe('POLLIN|POLLOUT');
    expect(formatPollEvents(0)).toBe('0');
    expect(formatPollEvents(DEFAULT_POLLMASK)).toBe('POLLIN|POLLOUT|POLLRDNORM|POLLWRNORM');
    expect(formatPollEvents(POLLNVAL)).toBe('POLLNVAL');
    expect(formatPollEvents(POLLIN | 0x10000)).toBe('POLLIN|0x10000');
    expect(formatPollEvents(0x10000)).toBe('0x10000');
  });
});
