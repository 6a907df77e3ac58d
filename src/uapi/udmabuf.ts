/**
 * udmabuf user API (`linux/udmabuf.h`): turning memfd pages into a dma-buf through `/dev/udmabuf`. Rulebook
 * §1.2-1.4, §9.
 *
 * @packageDocumentation
 */

import { _IOW } from './ioctl.ts';
import type { Abi, EncodeInput, StructOf } from './struct.ts';
import { defineStruct } from './struct.ts';

/** `flags`: set FD_CLOEXEC on the new dma-buf fd. */
export const UDMABUF_FLAGS_CLOEXEC = 0x01;
/** Module parameter `list_limit` default: most items CREATE_LIST takes (rulebook UDMA-3). */
export const UDMABUF_LIST_LIMIT_DEFAULT = 1024;
/** Module parameter `size_limit_mb` default: INT_MAX. */
export const UDMABUF_SIZE_LIMIT_MB_DEFAULT = 2147483647;

/** `struct udmabuf_create` {memfd u32, flags u32, offset u64, size u64}: 24 bytes, compat-safe. */
export const udmabuf_create = defineStruct('udmabuf_create', [
  ['memfd', 'u32'],
  ['flags', 'u32', 'hex'],
  ['offset', 'u64'],
  ['size', 'u64'],
]);
/** Decoded `struct udmabuf_create`. */
export type udmabuf_create = StructOf<typeof udmabuf_create>;

/** `struct udmabuf_create_item` {memfd u32, __pad u32, offset u64, size u64}: 24 bytes, compat-safe. */
export const udmabuf_create_item = defineStruct('udmabuf_create_item', [
  ['memfd', 'u32'],
  ['__pad', 'u32'],
  ['offset', 'u64'],
  ['size', 'u64'],
]);
/** Decoded `struct udmabuf_create_item`. */
export type udmabuf_create_item = StructOf<typeof udmabuf_create_item>;

/**
 * Head of `struct udmabuf_create_list` {flags u32, count u32, list[]}: 8 bytes; `count` items of
 * {@link udmabuf_create_item} follow at offset 8. The flexible array gives the struct the item's alignment.
 */
export const udmabuf_create_list = defineStruct(
  'udmabuf_create_list',
  [
    ['flags', 'u32', 'hex'],
    ['count', 'u32'],
  ],
  { flexibleArrayOf: udmabuf_create_item },
);
/** Decoded head of `struct udmabuf_create_list`. */
export type udmabuf_create_list = StructOf<typeof udmabuf_create_list>;

/** Create a dma-buf from one memfd range. `_IOW('u', 0x42, struct udmabuf_create)` = 0x40187542. */
export const UDMABUF_CREATE = _IOW('u', 0x42, udmabuf_create.size('lp64'));
/** Create a dma-buf from a list of memfd ranges. `_IOW('u', 0x43, struct udmabuf_create_list)` = 0x40087543. */
export const UDMABUF_CREATE_LIST = _IOW('u', 0x43, udmabuf_create_list.size('lp64'));

/**
 * Encodes a whole `udmabuf_create_list`: the head, then the items. `count` defaults to `list.length`; give another
 * value to build a lying head.
 */
export function encodeUdmabufCreateList(
  value: { flags?: number; count?: number; list: readonly EncodeInput<udmabuf_create_item>[] },
  abi: Abi = 'lp64',
): Uint8Array {
  const head = udmabuf_create_list.encode(
    { flags: value.flags, count: value.count ?? value.list.length },
    abi,
  );
  const itemSize = udmabuf_create_item.size(abi);
  const out = new Uint8Array(head.length + itemSize * value.list.length);
  out.set(head, 0);
  value.list.forEach((item, i) => {
    out.set(udmabuf_create_item.encode(item, abi), head.length + i * itemSize);
  });
  return out;
}

/** Decodes `count` items that follow the head (`bytes` starts at the head); throws if `bytes` is too short. */
export function decodeUdmabufCreateListItems(
  bytes: Uint8Array,
  count: number,
  abi: Abi = 'lp64',
): udmabuf_create_item[] {
  const base = udmabuf_create_list.size(abi);
  const itemSize = udmabuf_create_item.size(abi);
  const out: udmabuf_create_item[] = [];
  for (let i = 0; i < count; i++) {
    const start = base + i * itemSize;
    out.push(udmabuf_create_item.decode(bytes.subarray(start, start + itemSize), abi));
  }
  return out;
}
