import { describe, expect, it } from 'vitest';
import { createSimulator, EBADF, EINVAL, O_NONBLOCK, O_RDWR, POLLIN } from '../../src/index.ts';
import { formatReturn, formatTime, quoteBytes, Strace } from '../../src/trace/strace.ts';
import { openBuffer } from '../../src/user/iio.ts';

describe('strace-style formatting', () => {
  it('quotes bytes as strace does: escapes, octal, 3 digits before a digit, ... past the limit', () => {
    expect(quoteBytes(new Uint8Array([0x31, 0x0a]), 32)).toBe('"1\\n"');
    expect(quoteBytes(new Uint8Array([0x00, 0xf8, 0x07, 0x31]), 32)).toBe('"\\0\\370\\0071"');
    expect(quoteBytes(new Uint8Array([0x00, 0x31]), 32)).toBe('"\\0001"');
    expect(quoteBytes(new Uint8Array(40).fill(0x41), 32, 40)).toBe(`"${'A'.repeat(32)}"...`);
  });

  it('prints errors as -1 ENAME (text) and mmap results in hex', () => {
    expect(formatReturn('ioctl', -EINVAL)).toBe('-1 EINVAL (Invalid argument)');
    expect(formatReturn('read', -EBADF)).toBe('-1 EBADF (Bad file descriptor)');
    expect(formatReturn('mmap', 0x7fc665f0a000)).toBe('0x7fc665f0a000');
    expect(formatTime(2_096_988)).toBe('0.002096988');
  });

  it('logs a short program line by line with decoded arguments and simulated timestamps', async () => {
    const sim = createSimulator({ platform: 'ideal' });
    const lines: string[] = [];
    new Strace(sim.events, sim.abi, (l) => lines.push(l));
    sim.spawn('prog', async (sys) => {
      const b = await openBuffer(sys, 0, 0, O_RDWR | O_NONBLOCK);
      if (typeof b === 'number') return b;
      const buf = sys.mem.alloc(64);
      await sys.read(b.fd, buf, 64);
      await sys.pollfds([{ fd: b.fd, events: POLLIN }], 0);
      await sys.ioctl(b.fd, 0x12345678, 0);
      await sys.close(42);
      return 0;
    });
    await sim.run();
    expect(lines).toEqual([
      '0.000000000 openat(AT_FDCWD, "/dev/iio:device0", O_RDWR|O_NONBLOCK) = 3',
      '0.000000000 ioctl(3, IIO_BUFFER_GET_FD_IOCTL, [0 => 4]) = 0',
      '0.000000000 read(4, 0x555555555000, 64) = 0',
      '0.000000000 poll([{fd=4, events=POLLIN}], 1, 0) = 0 (Timeout)',
      '0.000000000 ioctl(4, _IOC(_IOC_NONE, 0x56, 0x78, 0x1234), NULL) = -1 EINVAL (Invalid argument)',
      '0.000000000 close(42) = -1 EBADF (Bad file descriptor)',
      '0.000000000 +++ exited with 0 +++',
    ]);
  });
});
