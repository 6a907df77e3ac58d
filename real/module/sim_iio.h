/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sim_iio: IIO devices that mirror the iio-dmabuf-sim simulator's board, for running the
 * simulator's test programs against a real kernel. Shared declarations of the module's parts:
 *
 *   sim_params.c  the `devices` module parameter: grammar, parsing and validation
 *   sim_signal.c  the signal generators (raw code of an ADC channel at sample n) and scan encoding
 *   sim_engine.c  the software DMA controllers and converters: a discrete-event engine in real time
 *   sim_conv.c    the DMA ADC/DAC IIO devices (industrialio-buffer-dma queue + our submit/abort)
 *   sim_dummy.c   the triggered kfifo device with an event interface
 *   sim_extra.c   the `extra` test devices
 *   sim_dmac.c    a dmaengine controller and an ADC on industrialio-buffer-dmaengine (extra=dmaengine)
 *   sim_main.c    module init/exit, the platform device that performs the "DMA"
 */
#ifndef SIM_IIO_H
#define SIM_IIO_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/iio/iio.h>
#include <linux/iio/buffer-dma.h>

#include "sim_signal.h"

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
s64 sim_engine_clock(void);
int sim_engine_advance(u64 ns);
void sim_engine_add_conv(struct sim_conv *c);
void sim_engine_remove_conv(struct sim_conv *c);
void sim_engine_add_dummy(struct sim_dummy *d);
void sim_engine_remove_all(void);

/* A memory range of a dmaengine descriptor, by DMA address. */
struct sim_vec {
	dma_addr_t addr;
	size_t len;
};

/*
 * A transfer the dmaengine provider (sim_dmac.c) hands to the engine: its memory and, when it ends,
 * complete() with the residue and whether the controller failed it (engine lock held).
 */
struct sim_xfer {
	const struct sim_vec *vecs;
	u32 nvecs;
	u64 len;
	bool cyclic;		/* repeats until terminated or ended at a pass boundary; never completes */
	void (*complete)(struct sim_xfer *x, u64 residue, bool failed);
};

/* The controller side of a converter (sim_engine.c), called with the engine lock held. */
int sim_dma_submit_xfer(struct sim_conv *c, struct sim_xfer *x);
void sim_dma_inject_error(struct sim_conv *c, u64 residue);
int sim_dma_submit(struct sim_conv *c, struct iio_dma_buffer_block *block, u64 len);
void sim_dma_terminate(struct sim_conv *c);
void sim_port_start(struct sim_conv *c, const unsigned long *mask);
void sim_port_stop(struct sim_conv *c);
void sim_dma_free_history(struct sim_conv *c);
bool sim_dma_has_active_cyclic(struct sim_conv *c);
s64 sim_adc_direct_sample(struct sim_conv *c, u32 ch, s64 t);

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

	/*
	 * The driver's list of blocks handed to the controller (block->head), under
	 * queue.list_lock.
	 */
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
	u32 scan_size;
	u8 *chunk;			/* scratch: scans of a fill, max(4096, scan_size) bytes */

	/* loopback */
	struct sim_conv *loop_src;	/* ADC: the DAC feeding it */
	bool record;			/* DAC: some ADC loops back from it */
	struct list_head runs;		/* DAC: recorded runs, oldest first */
	struct sim_dac_run *cur_run;

	/* dma_error=: the next transfer to complete fails with this residue (engine lock) */
	bool fail_pending;
	u64 fail_residue;
	/* set when the buffer is industrialio-buffer-dmaengine's on the sim_dmac.c channel */
	struct iio_buffer *dmaengine_buf;

	/* statistics (debugfs-free: printed at unload with the module's debug parameter) */
	u64 transfers, bytes_done, bytes_aborted, bytes_cyclic, gap_bytes, gap_scans;
};

struct sim_conv *sim_conv_create(const struct sim_dev_cfg *cfg, struct device *parent, bool dmaengine);
int sim_conv_attach_dmaengine(struct sim_conv *c, struct device *consumer, const char *channel,
			      enum iio_buffer_direction dir);
int sim_conv_register(struct sim_conv *c);
void sim_conv_unregister(struct sim_conv *c);
bool sim_conv_destroy(struct sim_conv *c);
void sim_conv_block_done(struct sim_conv *c, struct iio_dma_buffer_block *block, u64 residue);

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

/* sim_dmac.c: the dmaengine provider and the IIO device on industrialio-buffer-dmaengine (extra=dmaengine). */
int sim_dmac_add(struct device *parent);
void sim_dmac_remove(void);
struct sim_conv *sim_dmac_conv(const char *name);

/* sim_extra.c: the `extra` test devices, registered after the board. */
int sim_extra_register_all(struct device *parent);
void sim_extra_remove_all(void);

extern bool sim_debug;
/* How long unloading waits per DMA device for industrialio-buffer-dma's deferred releases, ms. */
extern unsigned int sim_unload_wait_ms;
/* manual_clock=1: the engine's time moves only by sim_engine_advance() (the advance_ns parameter). */
extern bool sim_manual_clock;
/* timescale=K: on the real-time clock, the devices' time runs K times slower than CLOCK_MONOTONIC. */
extern unsigned int sim_timescale;

#endif /* SIM_IIO_H */
