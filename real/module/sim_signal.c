// SPDX-License-Identifier: GPL-2.0
/*
 * sim_iio: signal generators, scan encoding and sample-clock arithmetic, written to give
 * bit-identical results to the simulator's src/hw/signal.ts, src/hw/scan.ts, src/hw/rng.ts and
 * src/hw/timing.ts.
 */
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/bitops.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/unaligned.h>
#include <linux/string.h>
#include <linux/time64.h>

#include "sim_signal.h"

/* ---- sample clock (timing.ts) ---- */

/*
 * Time (ns) at which scan k of a run started at t0 is complete: t0 + floor((k + 1) * 1e9 / rate).
 */
s64 sim_scan_time(s64 t0, u32 rate, u64 k)
{
	return t0 + (s64)mul_u64_u64_div_u64(k + 1, NSEC_PER_SEC, rate);
}

/* Scans complete at time t: ceil((t - t0 + 1) * rate / 1e9) - 1, 0 before t0. */
u64 sim_scans_by(s64 t0, u32 rate, s64 t)
{
	u64 d1, q, r;

	if (t < t0)
		return 0;
	d1 = (u64)(t - t0) + 1;
	q = mul_u64_u64_div_u64(d1, rate, NSEC_PER_SEC);
	r = ((d1 % NSEC_PER_SEC) * rate) % NSEC_PER_SEC;
	return q + (r ? 1 : 0) - 1;
}

/*
 * ---- hash32 (rng.ts): murmur3 word mixing of each value's 64-bit two's complement, then fmix32
 * ----
 */

static u32 sim_mix_word(u32 h, u32 k)
{
	u32 x = k * 0xcc9e2d51u;
	u32 y;

	x = (x << 15) | (x >> 17);
	x *= 0x1b873593u;
	y = h ^ x;
	y = (y << 13) | (y >> 19);
	return y * 5 + 0xe6546b64u;
}

static u32 sim_fmix32(u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static u32 sim_mix_number(u32 h, s64 v)
{
	return sim_mix_word(sim_mix_word(h, (u32)(u64)v), (u32)((u64)v >> 32));
}

/* hash32(seed, n) for integer seed and n. */
u32 sim_hash32(s64 seed, s64 n)
{
	u32 h = sim_mix_number(0x3c6ef372u, seed);

	h = sim_mix_number(h, n);
	return sim_fmix32(h ^ 1);
}

/* ---- signals (signal.ts) ---- */

static s64 sim_clamp(const struct sim_signal *sig, s64 v)
{
	return clamp(v, sig->min, sig->max);
}

/* Binds a parsed signal to a channel's code format: code range, clamping, ramp reduction. */
void sim_signal_bind(struct sim_signal *sig, const struct sim_scan_type *st)
{
	u64 m = 1ULL << st->realbits;	/* realbits <= 53 was checked */
	u32 i;

	sig->realbits = st->realbits;
	sig->is_signed = st->is_signed;
	if (st->is_signed) {
		sig->min = -(s64)(m / 2);
		sig->max = (s64)(m / 2) - 1;
	} else {
		sig->min = 0;
		sig->max = (s64)m - 1;
	}
	switch (sig->kind) {
	case SIM_SIG_RAMP:
		/* mod(x, m) in [0, m): the low realbits of the two's complement */
		sig->a = (s64)((u64)sig->a & (m - 1));
		sig->b = (s64)((u64)sig->b & (m - 1));
		break;
	case SIM_SIG_CONST:
		sig->a = sim_clamp(sig, sig->a);
		break;
	case SIM_SIG_SQUARE:
		sig->a = sim_clamp(sig, sig->a);
		sig->b = sim_clamp(sig, sig->b);
		break;
	case SIM_SIG_NOISE:
		break;
	case SIM_SIG_SAMPLES:
		for (i = 0; i < sig->nvalues; i++)
			sig->values[i] = sim_clamp(sig, sig->values[i]);
		break;
	}
}

/* The raw code at sample index n. */
s64 sim_signal_sample(const struct sim_signal *sig, u64 n)
{
	u64 m, p, span, h;

	switch (sig->kind) {
	case SIM_SIG_RAMP:
		/*
		 * (n * step + offset) mod 2^r, minus 2^(r-1) when signed; exact modulo a power of
		 * two
		 */
		m = 1ULL << sig->realbits;
		p = (n & (m - 1)) * (u64)sig->a + (u64)sig->b;
		return (s64)(p & (m - 1)) - (sig->is_signed ? (s64)(m / 2) : 0);
	case SIM_SIG_CONST:
		return sig->a;
	case SIM_SIG_SQUARE:
		return (s64)(n % (u64)sig->c) < sig->d ? sig->a : sig->b;
	case SIM_SIG_NOISE:
		/* base + floor(hash / 2^32 * span): exact because span <= 2^21 was checked */
		span = 2 * (u64)sig->a + 1;
		h = sim_hash32(sig->b, (s64)n);
		return sim_clamp(sig, sig->c - sig->a + (s64)((h * span) >> 32));
	case SIM_SIG_SAMPLES:
		if (sig->repeat)
			return sig->values[n % sig->nvalues];
		return n < sig->nvalues ? sig->values[n] : sig->values[sig->nvalues - 1];
	}
	return 0;
}

/* ---- scan encoding (scan.ts) ---- */

/*
 * The storage word of a raw value: cut to realbits, sign-extended (s) or zero-extended (u), shifted
 * left by shift, cut to storagebits. `le:s12/16>>0` stores -2048 as 0xf800.
 */
u64 sim_encode(s64 raw, const struct sim_scan_type *st)
{
	u64 v = (u64)raw;
	u64 w;

	if (st->realbits < 64) {
		if (st->is_signed)
			v = (u64)sign_extend64(v, st->realbits - 1);
		else
			v &= (1ULL << st->realbits) - 1;
	}
	w = v << st->shift;
	if (st->storagebits < 64)
		w &= (1ULL << st->storagebits) - 1;
	return w;
}

void sim_store_word(u8 *dst, u64 word, const struct sim_scan_type *st)
{
	switch (st->storagebits) {
	case 8:
		*dst = (u8)word;
		break;
	case 16:
		if (st->big_endian)
			put_unaligned_be16((u16)word, dst);
		else
			put_unaligned_le16((u16)word, dst);
		break;
	case 32:
		if (st->big_endian)
			put_unaligned_be32((u32)word, dst);
		else
			put_unaligned_le32((u32)word, dst);
		break;
	default:
		if (st->big_endian)
			put_unaligned_be64(word, dst);
		else
			put_unaligned_le64(word, dst);
		break;
	}
}

/* Decodes one storage word: shift undone, masked to realbits, sign-extended for `s`. */
s64 sim_decode(const u8 *src, const struct sim_scan_type *st)
{
	u64 w;

	switch (st->storagebits) {
	case 8:
		w = *src;
		break;
	case 16:
		w = st->big_endian ? get_unaligned_be16(src) : get_unaligned_le16(src);
		break;
	case 32:
		w = st->big_endian ? get_unaligned_be32(src) : get_unaligned_le32(src);
		break;
	default:
		w = st->big_endian ? get_unaligned_be64(src) : get_unaligned_le64(src);
		break;
	}
	w >>= st->shift;
	if (st->realbits < 64)
		w &= (1ULL << st->realbits) - 1;
	if (st->is_signed)
		return sign_extend64(w, st->realbits - 1);
	return (s64)w;
}

static u32 sim_storage_bytes(const struct sim_scan_type *st)
{
	u32 bytes = st->storagebits / 8;

	if (st->repeat > 1)
		bytes *= roundup_pow_of_two(st->repeat);
	return bytes;
}

/*
 * The scan layout of iio_compute_scan_bytes(): enabled channels by ascending scan index (= channel
 * index here), each aligned to its own size, then the timestamp, the total aligned to the largest
 * element.
 */
void sim_layout_compute(struct sim_layout *l, const struct sim_chan_cfg *ch, u32 nch,
			const unsigned long *mask, bool timestamp,
			const struct sim_scan_type *ts_type, int *ts_offset)
{
	u32 bytes = 0, largest = 0, len, i;

	l->nfields = 0;
	for (i = 0; i < nch; i++) {
		if (!test_bit(i, mask))
			continue;
		len = sim_storage_bytes(&ch[i].st);
		bytes = ALIGN(bytes, len);
		l->f[l->nfields].chan = i;
		l->f[l->nfields].offset = bytes;
		l->f[l->nfields].st = &ch[i].st;
		l->nfields++;
		bytes += len;
		largest = max(largest, len);
	}
	if (ts_offset)
		*ts_offset = -1;
	if (timestamp && ts_type) {
		len = sim_storage_bytes(ts_type);
		bytes = ALIGN(bytes, len);
		if (ts_offset)
			*ts_offset = bytes;
		bytes += len;
		largest = max(largest, len);
	}
	l->bpd = largest ? ALIGN(bytes, largest) : 0;
}

/*
 * Writes one field of `count` consecutive scans (samples first .. first + count - 1) at out, out + stride,
 * ...: what sim_write_scan() writes for that field, produced field by field for speed (the common ramp and
 * constant cases keep everything but the store out of the loop).
 */
void sim_fill_field(u8 *out, u32 stride, u32 count, const struct sim_signal *sig, u64 first,
		    const struct sim_scan_type *st)
{
	u32 reps = st->repeat > 1 ? st->repeat : 1;
	u32 eb = st->storagebits / 8;
	u32 i, e;

	if (sig->kind == SIM_SIG_CONST) {
		u64 w = sim_encode(sig->a, st);

		for (i = 0; i < count; i++, out += stride)
			for (e = 0; e < reps; e++)
				sim_store_word(out + e * eb, w, st);
		return;
	}
	if (sig->kind == SIM_SIG_RAMP && reps == 1 && st->storagebits == 16 && !st->big_endian) {
		u64 m = (1ULL << sig->realbits) - 1;
		s64 half = sig->is_signed ? (s64)(m / 2 + 1) : 0;

		for (i = 0; i < count; i++, out += stride) {
			u64 p = (((first + i) & m) * (u64)sig->a + (u64)sig->b) & m;

			put_unaligned_le16((u16)sim_encode((s64)p - half, st), out);
		}
		return;
	}
	for (i = 0; i < count; i++, out += stride) {
		u64 w = sim_encode(sim_signal_sample(sig, first + i), st);

		for (e = 0; e < reps; e++)
			sim_store_word(out + e * eb, w, st);
	}
}

/*
 * Writes one scan: field j gets the storage word of vals[j] (in every element of a repeated field);
 * padding and unused repeat slots are zero.
 */
void sim_write_scan(u8 *dst, const struct sim_layout *l, const s64 *vals)
{
	u32 j, e;

	memset(dst, 0, l->bpd);
	for (j = 0; j < l->nfields; j++) {
		const struct sim_field *f = &l->f[j];
		u64 w = sim_encode(vals[j], f->st);
		u32 reps = f->st->repeat > 1 ? f->st->repeat : 1;

		for (e = 0; e < reps; e++)
			sim_store_word(dst + f->offset + e * (f->st->storagebits / 8), w, f->st);
	}
}
