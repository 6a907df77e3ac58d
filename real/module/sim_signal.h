/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sim_iio: the pure parts (no kernel object involved): scan types, signal generators, scan layout
 * and encoding, sample-clock arithmetic. Kept free of kernel-only headers so that the host's tests
 * can compile sim_signal.c against a few stand-in headers and compare it, value for value, with the
 * simulator.
 */
#ifndef SIM_SIGNAL_H
#define SIM_SIGNAL_H

#include <linux/types.h>

#define SIM_MAX_DEVICES		16
#define SIM_MAX_CHANNELS	64
#define SIM_MAX_NAME		64
#define SIM_MAX_SAMPLES		65536
#define SIM_NAME_TYPE_LEN	24

enum sim_kind {
	SIM_ADC,
	SIM_DAC,
	SIM_DUMMY,
};

/* struct iio_scan_type as the simulator's ScanType: `le:s12/16>>0`, `be:u16/32X4>>2`. */
struct sim_scan_type {
	bool is_signed;
	bool big_endian;
	u8 realbits;
	u8 storagebits;
	u8 shift;
	u16 repeat;
};

enum sim_sig_kind {
	SIM_SIG_RAMP,
	SIM_SIG_CONST,
	SIM_SIG_SQUARE,
	SIM_SIG_NOISE,
	SIM_SIG_SAMPLES,
};

/*
 * A channel's signal bound to its code format (the simulator's createSignal()): sample(n) is the
 * raw code at sample index n, already clamped to the code range.
 */
struct sim_signal {
	enum sim_sig_kind kind;
	/* ramp: a = step, b = offset (both reduced mod 2^realbits) */
	/* const: a = value (clamped) */
	/* square: a = high, b = low (clamped), c = period, d = high count */
	/* noise: a = amplitude, b = seed, c = offset */
	s64 a, b, c, d;
	s64 *values;		/* samples: clamped table */
	u32 nvalues;
	bool repeat;
	/* the format */
	u8 realbits;
	bool is_signed;
	s64 min, max;
};

struct sim_chan_cfg {
	char id[SIM_NAME_TYPE_LEN + 16];
	int iio_type;		/* enum iio_chan_type */
	int channel;		/* -1: not indexed */
	int modifier;		/* enum iio_modifier, -1: none */
	struct sim_scan_type st;
	bool has_signal;
	struct sim_signal sig;	/* ADC only */
};

/* sim_signal.c */
s64 sim_signal_sample(const struct sim_signal *sig, u64 n);
void sim_signal_bind(struct sim_signal *sig, const struct sim_scan_type *st);
u64 sim_encode(s64 raw, const struct sim_scan_type *st);
void sim_store_word(u8 *dst, u64 word, const struct sim_scan_type *st);
s64 sim_decode(const u8 *src, const struct sim_scan_type *st);
u32 sim_hash32(s64 seed, s64 n);

/* One enabled channel's place in a scan. */
struct sim_field {
	u16 chan;		/* index into the device's channel list */
	u16 offset;
	const struct sim_scan_type *st;
};

/* The layout of one scan (iio_compute_scan_bytes()). */
struct sim_layout {
	u32 bpd;
	u32 nfields;
	struct sim_field f[SIM_MAX_CHANNELS + 1];
};

void sim_layout_compute(struct sim_layout *l, const struct sim_chan_cfg *ch, u32 nch,
			const unsigned long *mask, bool timestamp,
			const struct sim_scan_type *ts_type, int *ts_offset);
void sim_write_scan(u8 *dst, const struct sim_layout *l, const s64 *vals);
void sim_fill_field(u8 *out, u32 stride, u32 count, const struct sim_signal *sig, u64 first,
		    const struct sim_scan_type *st);

/*
 * Time of the sample clock: scan k of a run started at t0 is complete at t0 + floor((k + 1) * 1e9 /
 * rate).
 */
s64 sim_scan_time(s64 t0, u32 rate, u64 k);
u64 sim_scans_by(s64 t0, u32 rate, s64 t);

#endif /* SIM_SIGNAL_H */
