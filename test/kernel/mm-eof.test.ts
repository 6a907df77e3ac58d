/**
 * Pages of a shared file mapping beyond the end of the file have no backing: the kernel's copies to and
 * from them fault (-EFAULT, or a short copy), and the program's own access kills it (SIGBUS on Linux; the
 * simulator reports it as a fault of the process). Found by the syscall fuzzer.
 */
import { describe, expect, it } from 'vitest';
import { MAP_SHARED, O_RDONLY, PROT_READ, PROT_WRITE } from '../../src/uapi/index.ts';
import { runOne } from '../helpers.ts';

describe('file mappings past the end of the file', () => {
  it('copy_to_user into a mapping of an empty memfd: read() of a sysfs attribute returns -EFAULT, nothing written', async () => {
    const { value } = await runOne(async (sys) => {
      const memfd = await sys.memfd_create('empty', 0);
      const addr = await sys.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
      const attr = await sys.open('/sys/bus/iio/devices/iio:device0/name', O_RDONLY);
      return [
        addr > 0,
        await sys.read(attr, addr, 64),
        await sys.ftruncate(memfd, 4096),
        await sys.read(attr, addr, 64),
      ];
    });
    // After ftruncate the page exists: the same read now copies "sim-adc\n".
    expect(value).toEqual([true, -14, 0, 8]);
  });

  it('copy_to_iter stops at the end of the file: a read straddling it copies the part before', async () => {
    const { value } = await runOne(async (sys) => {
      const memfd = await sys.memfd_create('short', 0);
      await sys.ftruncate(memfd, 4096);
      const addr = await sys.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
      const attr = await sys.open('/sys/bus/iio/devices/iio:device0/name', O_RDONLY);
      return sys.read(attr, addr + 4096 - 3, 64);
    });
    expect(value).toBe(3);
  });

  it("the program's own store past the end of the file faults and ends the process", async () => {
    const { outcome } = await runOne(
      async (sys) => {
        const memfd = await sys.memfd_create('empty', 0);
        const addr = await sys.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
        sys.mem.write(addr, new Uint8Array([1]));
        return 0;
      },
      { allowAbnormal: true },
    );
    expect(outcome.status).toBe('killed');
  });
});
