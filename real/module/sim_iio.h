/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sim_iio: IIO devices that mirror the iio-dmabuf-sim simulator's board, for running the simulator's test
 * programs against a real kernel. Shared declarations of the module's parts:
 *
 *   sim_params.c  the `devices` module parameter: grammar, parsing and validation
 *   sim_signal.c  the signal generators (raw code of an ADC channel at sample n) and scan encoding
 *   sim_engine.c  the software DMA controllers and converters, one discrete-event engine in real time
 *   sim_conv.c    the DMA ADC/DAC IIO devices (industrialio-buffer-dma queue + our submit/abort)
 *   sim_dummy.c   the triggered kfifo device with an event interface
 *   sim_main.c    module init/exit, the platform device that performs the "DMA"
 */
#ifndef SIM_IIO_H
#define SIM_IIO_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/iio/iio.h>
#include <linux/iio/buffer-dma.h>

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
 * A channel's signal bound to its code format (the simulator's createSignal()): sample(n) is the raw code
 * at sample index n, already clamped to the code range.
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

struct sim_dev_cfg {
	enum sim_kind kind;
	char name[SIM_MAX_NAME];
	s64 rate;
	s64 max_rate;
	u32 nch;
	struct sim_chan_cfg ch[SIM_MAX_CHANNELS];
	u64 dma_max_seg;
	u64 dma_align;
	u64 dma_irq_ns;
	u64 dma_bw;
	char loopback[SIM_MAX_NAME];
	int loopback_idx;	/* ADC: index of the DAC in the board, -1: none */
};

struct sim_board {
	u32 ndev;
	struct sim_dev_cfg *dev[SIM_MAX_DEVICES];
};

/* sim_params.c */
int sim_parse_board(const char *text, struct sim_board *board);
void sim_free_board(struct sim_board *board);
extern const char sim_default_devices[];

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

/* Time of the sample clock: scan k of a run started at t0 is complete at t0 + floor((k + 1) * 1e9 / rate). */
s64 sim_scan_time(s64 t0, u32 rate, u64 k);
u64 sim_scans_by(s64 t0, u32 rate, s64 t);

struct sim_conv;
struct sim_dummy;

/* sim_engine.c: the discrete-event engine shared by every device. */
struct sim_engine;
int sim_engine_start(void);
void sim_engine_stop(void);
void sim_engine_lock(void);
void sim_engine_unlock(void);
void sim_engine_kick(void);
s64 sim_engine_catch_up(void);
void sim_engine_add_conv(struct sim_conv *c);
void sim_engine_add_dummy(struct sim_dummy *d);
void sim_engine_remove_all(void);

/* The controller side of a converter (sim_engine.c), called with the engine lock held. */
int sim_dma_submit(struct sim_conv *c, struct iio_dma_buffer_block *block, u64 len);
void sim_dma_terminate(struct sim_conv *c);
void sim_port_start(struct sim_conv *c, const unsigned long *mask);
void sim_port_stop(struct sim_conv *c);
void sim_dma_free_history(struct sim_conv *c);
bool sim_dma_has_active_cyclic(struct sim_conv *c);

/* sim_conv.c */
struct sim_queue {
	struct iio_dma_buffer_queue queue;
	struct sim_conv *conv;
};

struct sim_desc;
struct sim_dac_run;

struct sim_conv {
	const struct sim_dev_cfg *cfg;
	struct device *dma_dev;
	struct iio_dev *indio;
	struct iio_chan_spec *chans;
	struct sim_queue *q;
	struct list_head node;		/* engine list */

	/* The driver's list of blocks handed to the controller (block->head), under queue.list_lock. */
	struct list_head drv_active;

	/* configured sample rate (sampling_frequency), changed only while the buffer is disabled */
	u32 rate;

	/* Hardware state, under the engine lock. */
	bool running;
	s64 t0;
	u32 run_rate;
	struct sim_layout layout;
	bool pos_valid;
	u64 pos;			/* stream byte where the next transfer continues */
	struct list_head ctl_queue;	/* submitted descriptors not started */
	struct sim_desc *active;
	struct list_head irqs;		/* completed descriptors waiting for their IRQ */
	u8 *scan;			/* scratch: one scan */

	/* loopback */
	struct sim_conv *loop_src;	/* ADC: the DAC feeding it */
	bool record;			/* DAC: some ADC loops back from it */
	struct list_head runs;		/* DAC: recorded runs, oldest first */
	struct sim_dac_run *cur_run;

	/* statistics (debugfs-free: printed at unload with the module's debug parameter) */
	u64 transfers, bytes_done, bytes_aborted, bytes_cyclic, gap_bytes, gap_scans;
};

struct sim_conv *sim_conv_create(const struct sim_dev_cfg *cfg, struct device *parent);
int sim_conv_register(struct sim_conv *c);
void sim_conv_unregister(struct sim_conv *c);
void sim_conv_destroy(struct sim_conv *c);
void sim_conv_block_done(struct sim_conv *c, struct iio_dma_buffer_block *block);

/* sim_dummy.c */
struct sim_dummy {
	const struct sim_dev_cfg *cfg;
	struct device *parent;
	struct iio_dev *indio;
	struct iio_trigger *trig;
	struct list_head node;		/* engine list */
	u32 rate;
	struct sim_chan_cfg ch[4];
	/* trigger state, under the engine lock */
	bool running;
	s64 t0;
	u32 run_rate;
	u64 n;				/* scans produced since the trigger was attached */
	s64 due;			/* time of the scan being produced */
	u64 produced;
	struct sim_layout layout;	/* the enabled data channels */
};

struct sim_dummy *sim_dummy_create(const struct sim_dev_cfg *cfg, struct device *parent);
int sim_dummy_register(struct sim_dummy *d);
void sim_dummy_unregister(struct sim_dummy *d);
void sim_dummy_destroy(struct sim_dummy *d);
void sim_dummy_fire(struct sim_dummy *d, s64 due);

extern bool sim_debug;

#endif /* SIM_IIO_H */
