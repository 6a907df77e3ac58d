// SPDX-License-Identifier: GPL-2.0
/*
 * sim_iio: a software dmaengine controller and two converters on industrialio-buffer-dmaengine
 * (extra=dmaengine).
 *
 * The board's converters (sim_conv.c) supply industrialio-buffer-dmaengine's submit/abort themselves. These
 * two run the real industrialio-buffer-dmaengine over a real dmaengine provider: a `struct dma_device` on the
 * platform device `sim-dmac.N.auto`, registered with dma_async_device_register(), with two slave channels
 * found by iio_dmaengine_buffer_setup_ext() through a filter map: "rx" (DEV_TO_MEM) for `sim-dmaengine`, an
 * ADC like sim-adc, and "tx" (MEM_TO_DEV, cyclic descriptors included) for `sim-dmaengine-dac`, a DAC like
 * sim-dac. The discrete-event engine (sim_engine.c) moves their descriptors exactly as it moves the board's
 * transfers. Completions go through callback_result with a struct dmaengine_result, so the rule DMAQ-6
 * (iio_dmaengine_buffer_block_done() subtracts the residue and ignores the result) runs on the real kernel:
 * `dma_error=NAME RESIDUE` (sim_main.c) fails the next transfer to complete with DMA_TRANS_ABORTED and that
 * residue.
 *
 * The channels have the simulated controller's properties (src/hw/dma.ts): bus width = length alignment
 * (src/dst_addr_widths per channel, which industrialio-buffer-dmaengine turns into `length_align_bytes`: 8
 * for the ADC, 4 for the DAC), maximum segment 16 MiB (dma_set_max_seg_size), no descriptor for a zero or
 * misaligned length (axi-dmac's check), a repeated (cyclic) descriptor ended at a pass boundary by the next
 * one (DMA_PREP_LOAD_EOT, as axi-dmac honours it).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/platform_device.h>
#include <linux/dma-mapping.h>
#include <linux/dmaengine.h>
#include <linux/scatterlist.h>

#include "sim_iio.h"

/*
 * The twins of the simulator's test devices (test/helpers.ts DMAENGINE_DEVICES): sim-adc's and sim-dac's
 * channels, the ADC on channel "rx", the DAC on "tx".
 */
static const char sim_dmac_board[] =
	"adc:sim-dmaengine,rate=1000000,ch=voltage0@le:s12/16>>0@ramp:1:0,ch=voltage1@le:s12/16>>0@ramp:1:1024,"
	"ch=voltage2@le:s12/16>>0@ramp:1:2048,ch=voltage3@le:s12/16>>0@ramp:1:3072;"
	"dac:sim-dmaengine-dac,rate=1000000,ch=voltage0@le:s16/16>>0,ch=voltage1@le:s16/16>>0";

#define SIM_DMAC_CHANS 2

/* One slave channel: the converter behind it and its descriptors. */
struct sim_dmac_chan {
	struct dma_chan chan;
	struct sim_conv *conv;
	enum dma_transfer_direction dir;
	bool registered;		/* the converter's IIO device */
	spinlock_t lock;		/* the lists and the channel's cookies */
	struct list_head submitted;	/* tx_submit()ted, not issued yet */
	struct list_head issued;	/* handed to the engine */
};

struct sim_dmac {
	struct dma_device dma;
	struct sim_dmac_chan ch[SIM_DMAC_CHANS];
	struct dma_slave_map map[SIM_DMAC_CHANS];
};

struct sim_dmac_desc {
	struct dma_async_tx_descriptor tx;
	struct sim_xfer xfer;
	struct list_head node;
	struct sim_dmac_chan *dc;
	struct sim_vec vecs[];
};

static const char *const sim_dmac_slave[SIM_DMAC_CHANS] = { "rx", "tx" };

static struct sim_board sim_dmac_cfg;
static struct platform_device *sim_dmac_pdev;
static struct sim_dmac *sim_dmac;
static bool sim_dmac_driver_registered, sim_dmac_dma_registered;

static struct sim_dmac_chan *sim_dmac_of(struct dma_chan *chan)
{
	return container_of(chan, struct sim_dmac_chan, chan);
}

static dma_cookie_t sim_dmac_tx_submit(struct dma_async_tx_descriptor *tx)
{
	struct sim_dmac_desc *d = container_of(tx, struct sim_dmac_desc, tx);
	struct sim_dmac_chan *dc = d->dc;
	struct dma_chan *chan = tx->chan;
	unsigned long flags;
	dma_cookie_t cookie;

	spin_lock_irqsave(&dc->lock, flags);
	cookie = chan->cookie + 1;
	if (cookie < DMA_MIN_COOKIE)
		cookie = DMA_MIN_COOKIE;
	chan->cookie = cookie;
	tx->cookie = cookie;
	list_add_tail(&d->node, &dc->submitted);
	spin_unlock_irqrestore(&dc->lock, flags);
	return cookie;
}

/*
 * The IRQ of a finished transfer (engine lock held): the descriptor completes with the controller's
 * result, the residue being what was not moved.
 */
static void sim_dmac_complete(struct sim_xfer *x, u64 residue, bool failed)
{
	struct sim_dmac_desc *d = container_of(x, struct sim_dmac_desc, xfer);
	struct sim_dmac_chan *dc = d->dc;
	struct dmaengine_result result = {
		.result = failed ? DMA_TRANS_ABORTED : DMA_TRANS_NOERROR,
		.residue = residue,
	};
	unsigned long flags;

	spin_lock_irqsave(&dc->lock, flags);
	list_del(&d->node);
	dc->chan.completed_cookie = d->tx.cookie;
	spin_unlock_irqrestore(&dc->lock, flags);
	if (d->tx.callback_result)
		d->tx.callback_result(d->tx.callback_param, &result);
	else if (d->tx.callback)
		d->tx.callback(d->tx.callback_param);
	kfree(d);
}

/* A descriptor over `n` ranges (filled in by the caller); NULL when a length cannot be transferred. */
static struct sim_dmac_desc *sim_dmac_alloc(struct dma_chan *chan, size_t n,
					    enum dma_transfer_direction dir, unsigned long flags)
{
	struct sim_dmac_chan *dc = sim_dmac_of(chan);
	struct sim_dmac_desc *d;

	if (dir != dc->dir || !n || n > U32_MAX)
		return NULL;
	/* GFP_NOWAIT: industrialio-buffer-dma prepares inside its fence signalling section */
	d = kzalloc(struct_size(d, vecs, n), GFP_NOWAIT);
	if (!d)
		return NULL;
	dma_async_tx_descriptor_init(&d->tx, chan);
	d->tx.tx_submit = sim_dmac_tx_submit;
	d->tx.flags = flags;
	d->dc = dc;
	/* industrialio-buffer-dmaengine's cyclic blocks: repeated until a descriptor with LOAD_EOT waits */
	d->xfer.cyclic = flags & DMA_PREP_REPEAT;
	d->xfer.vecs = d->vecs;
	d->xfer.nvecs = n;
	d->xfer.complete = sim_dmac_complete;
	return d;
}

/* Every range must be a non-zero multiple of the bus width (axi-dmac's axi_dmac_check_len()). */
static struct dma_async_tx_descriptor *sim_dmac_check(struct sim_dmac_desc *d)
{
	u64 align = d->dc->conv->cfg->dma_align;
	u32 i;

	for (i = 0; i < d->xfer.nvecs; i++) {
		if (!d->vecs[i].len || d->vecs[i].len % align) {
			kfree(d);
			return NULL;
		}
		d->xfer.len += d->vecs[i].len;
	}
	return &d->tx;
}

/* dmaengine_prep_slave_single()/_sg(): fileio blocks of industrialio-buffer-dmaengine. */
static struct dma_async_tx_descriptor *sim_dmac_prep_slave_sg(struct dma_chan *chan, struct scatterlist *sgl,
							      unsigned int sg_len,
							      enum dma_transfer_direction dir,
							      unsigned long flags, void *context)
{
	struct sim_dmac_desc *d = sim_dmac_alloc(chan, sg_len, dir, flags);
	struct scatterlist *sg;
	unsigned int i;

	if (!d)
		return NULL;
	/* the list may live on the caller's stack (prep_slave_single): copied */
	for_each_sg(sgl, sg, sg_len, i) {
		d->vecs[i].addr = sg_dma_address(sg);
		d->vecs[i].len = sg_dma_len(sg);
	}
	return sim_dmac_check(d);
}

/* dmaengine_prep_peripheral_dma_vec(): DMABUF blocks. */
static struct dma_async_tx_descriptor *sim_dmac_prep_dma_vec(struct dma_chan *chan, const struct dma_vec *vecs,
							     size_t nents, enum dma_transfer_direction dir,
							     unsigned long flags)
{
	struct sim_dmac_desc *d = sim_dmac_alloc(chan, nents, dir, flags);
	size_t i;

	if (!d)
		return NULL;
	for (i = 0; i < nents; i++) {
		d->vecs[i].addr = vecs[i].addr;
		d->vecs[i].len = vecs[i].len;
	}
	return sim_dmac_check(d);
}

/* Hands the submitted descriptors to the engine, at the current time. */
static void sim_dmac_issue_pending(struct dma_chan *chan)
{
	struct sim_dmac_chan *dc = sim_dmac_of(chan);
	struct sim_dmac_desc *d, *dt;
	unsigned long flags;
	LIST_HEAD(batch);

	sim_engine_lock();
	sim_engine_catch_up();
	spin_lock_irqsave(&dc->lock, flags);
	list_splice_tail_init(&dc->submitted, &batch);
	spin_unlock_irqrestore(&dc->lock, flags);
	list_for_each_entry_safe(d, dt, &batch, node) {
		spin_lock_irqsave(&dc->lock, flags);
		list_move_tail(&d->node, &dc->issued);
		spin_unlock_irqrestore(&dc->lock, flags);
		if (sim_dma_submit_xfer(dc->conv, &d->xfer))
			pr_err_ratelimited("sim-dmac: no memory for a transfer; it never completes\n");
	}
	sim_engine_unlock();
}

/* The running transfer is cut where the converter is, the others dropped; no callback runs after this. */
static int sim_dmac_terminate_all(struct dma_chan *chan)
{
	struct sim_dmac_chan *dc = sim_dmac_of(chan);
	struct sim_dmac_desc *d, *dt;
	unsigned long flags;
	LIST_HEAD(dead);

	sim_engine_lock();
	sim_engine_catch_up();
	sim_dma_terminate(dc->conv);
	spin_lock_irqsave(&dc->lock, flags);
	list_splice_tail_init(&dc->issued, &dead);
	list_splice_tail_init(&dc->submitted, &dead);
	spin_unlock_irqrestore(&dc->lock, flags);
	sim_engine_unlock();
	list_for_each_entry_safe(d, dt, &dead, node)
		kfree(d);
	return 0;
}

/* Completions run under the engine lock, which terminate_all took: nothing is left to wait for. */
static void sim_dmac_synchronize(struct dma_chan *chan)
{
}

static enum dma_status sim_dmac_tx_status(struct dma_chan *chan, dma_cookie_t cookie, struct dma_tx_state *state)
{
	struct sim_dmac_chan *dc = sim_dmac_of(chan);
	dma_cookie_t used, complete;
	unsigned long flags;

	spin_lock_irqsave(&dc->lock, flags);
	used = chan->cookie;
	complete = chan->completed_cookie;
	spin_unlock_irqrestore(&dc->lock, flags);
	dma_set_tx_state(state, complete, used, 0);
	return dma_async_is_complete(cookie, complete, used);
}

/* The bus width of each channel is its converter's length alignment (8 for the ADC, 4 for the DAC). */
static void sim_dmac_caps(struct dma_chan *chan, struct dma_slave_caps *caps)
{
	struct sim_dmac_chan *dc = sim_dmac_of(chan);

	caps->src_addr_widths = BIT(dc->conv->cfg->dma_align);
	caps->dst_addr_widths = BIT(dc->conv->cfg->dma_align);
	caps->directions = BIT(dc->dir);
}

static int sim_dmac_config(struct dma_chan *chan, struct dma_slave_config *config)
{
	return 0;
}

static void sim_dmac_release(struct dma_device *dma)
{
	kfree(container_of(dma, struct sim_dmac, dma));
}

static bool sim_dmac_filter(struct dma_chan *chan, void *param)
{
	return chan == param;
}

/* dma_async_device_register() takes the owner module from the device's driver: one that binds to it. */
static int sim_dmac_probe(struct platform_device *pdev)
{
	return 0;
}

static struct platform_driver sim_dmac_driver = {
	.probe = sim_dmac_probe,
	.driver = { .name = "sim-dmac" },
};

static int sim_dmac_register_dma(struct sim_dmac *dmac, struct device *dev)
{
	struct dma_device *dma = &dmac->dma;
	u32 i;
	int ret;

	INIT_LIST_HEAD(&dma->channels);
	dma->dev = dev;
	dma_cap_set(DMA_SLAVE, dma->cap_mask);
	dma_cap_set(DMA_PRIVATE, dma->cap_mask);
	/* the device-wide capabilities; sim_dmac_caps() narrows them per channel */
	dma->src_addr_widths = BIT(DMA_SLAVE_BUSWIDTH_4_BYTES) | BIT(DMA_SLAVE_BUSWIDTH_8_BYTES);
	dma->dst_addr_widths = dma->src_addr_widths;
	dma->directions = BIT(DMA_DEV_TO_MEM) | BIT(DMA_MEM_TO_DEV);
	dma->residue_granularity = DMA_RESIDUE_GRANULARITY_DESCRIPTOR;
	dma->device_prep_slave_sg = sim_dmac_prep_slave_sg;
	dma->device_prep_peripheral_dma_vec = sim_dmac_prep_dma_vec;
	dma->device_issue_pending = sim_dmac_issue_pending;
	dma->device_terminate_all = sim_dmac_terminate_all;
	dma->device_synchronize = sim_dmac_synchronize;
	dma->device_tx_status = sim_dmac_tx_status;
	dma->device_caps = sim_dmac_caps;
	dma->device_config = sim_dmac_config;
	dma->device_release = sim_dmac_release;
	for (i = 0; i < SIM_DMAC_CHANS; i++) {
		struct sim_dmac_chan *dc = &dmac->ch[i];

		spin_lock_init(&dc->lock);
		INIT_LIST_HEAD(&dc->submitted);
		INIT_LIST_HEAD(&dc->issued);
		dc->dir = dc->conv->cfg->kind == SIM_DAC ? DMA_MEM_TO_DEV : DMA_DEV_TO_MEM;
		dc->chan.device = dma;
		list_add_tail(&dc->chan.device_node, &dma->channels);
		dmac->map[i].devname = dev_name(dev);
		dmac->map[i].slave = sim_dmac_slave[i];
		dmac->map[i].param = &dc->chan;
	}
	dma->filter.fn = sim_dmac_filter;
	dma->filter.map = dmac->map;
	dma->filter.mapcnt = SIM_DMAC_CHANS;
	dma_set_max_seg_size(dev, dmac->ch[0].conv->cfg->dma_max_seg);
	ret = dma_async_device_register(dma);
	if (ret)
		return ret;
	/*
	 * The controller and its only client are this module: a channel reference on the module itself
	 * would make it impossible to unload. The exit path releases the channels before the controller.
	 */
	dma->owner = NULL;
	return 0;
}

/*
 * extra=dmaengine: registers the controller, then `sim-dmaengine` (ADC, "rx") and `sim-dmaengine-dac` (DAC,
 * "tx") as the next two IIO devices. One such pair at most.
 */
int sim_dmac_add(struct device *parent)
{
	struct platform_device_info info = {
		.name = "sim-dmac",
		.id = PLATFORM_DEVID_AUTO,
		.dma_mask = DMA_BIT_MASK(64),
	};
	u32 i;
	int ret;

	if (sim_dmac)
		return -EOPNOTSUPP;
	ret = sim_parse_board(sim_dmac_board, &sim_dmac_cfg);
	if (ret)
		return ret;
	ret = platform_driver_register(&sim_dmac_driver);
	if (ret)
		return ret;
	sim_dmac_driver_registered = true;
	sim_dmac_pdev = platform_device_register_full(&info);
	if (IS_ERR(sim_dmac_pdev)) {
		ret = PTR_ERR(sim_dmac_pdev);
		sim_dmac_pdev = NULL;
		return ret;
	}
	if (!sim_dmac_pdev->dev.driver)
		return -ENODEV;
	sim_dmac = kzalloc(sizeof(*sim_dmac), GFP_KERNEL);
	if (!sim_dmac)
		return -ENOMEM;
	/* the converters first (allocating their IIO devices in order): the channels' callbacks need them */
	for (i = 0; i < SIM_DMAC_CHANS; i++) {
		struct sim_conv *c = sim_conv_create(sim_dmac_cfg.dev[i], parent, true);

		if (IS_ERR(c))
			return PTR_ERR(c);
		sim_dmac->ch[i].conv = c;
	}
	ret = sim_dmac_register_dma(sim_dmac, &sim_dmac_pdev->dev);
	if (ret)
		return ret;
	sim_dmac_dma_registered = true;
	for (i = 0; i < SIM_DMAC_CHANS; i++) {
		struct sim_dmac_chan *dc = &sim_dmac->ch[i];

		ret = sim_conv_attach_dmaengine(dc->conv, &sim_dmac_pdev->dev, sim_dmac_slave[i],
						dc->dir == DMA_MEM_TO_DEV ? IIO_BUFFER_DIRECTION_OUT :
									    IIO_BUFFER_DIRECTION_IN);
		if (ret)
			return ret;
	}
	for (i = 0; i < SIM_DMAC_CHANS; i++) {
		ret = sim_conv_register(sim_dmac->ch[i].conv);
		if (ret)
			return ret;
		sim_dmac->ch[i].registered = true;
	}
	return 0;
}

/** The converter of the dmaengine device called `name`, or NULL. */
struct sim_conv *sim_dmac_conv(const char *name)
{
	u32 i;

	for (i = 0; sim_dmac && i < SIM_DMAC_CHANS; i++)
		if (sim_dmac->ch[i].registered && !strcmp(sim_dmac->ch[i].conv->cfg->name, name))
			return sim_dmac->ch[i].conv;
	return NULL;
}

/** Unregisters the IIO devices, then their buffers and channels, then the controller. */
void sim_dmac_remove(void)
{
	bool leaked = false;
	int i;

	for (i = SIM_DMAC_CHANS - 1; sim_dmac && i >= 0; i--) {
		struct sim_dmac_chan *dc = &sim_dmac->ch[i];

		if (!dc->conv)
			continue;
		if (dc->registered)
			sim_conv_unregister(dc->conv);
		dc->registered = false;
		sim_engine_remove_conv(dc->conv);
		leaked |= sim_conv_destroy(dc->conv);
		dc->conv = NULL;
	}
	if (sim_dmac) {
		if (sim_dmac_dma_registered)
			dma_async_device_unregister(&sim_dmac->dma);	/* frees it (device_release) */
		else
			kfree(sim_dmac);
		sim_dmac_dma_registered = false;
		sim_dmac = NULL;
	}
	if (sim_dmac_pdev && !leaked)
		platform_device_unregister(sim_dmac_pdev);
	sim_dmac_pdev = NULL;
	if (sim_dmac_driver_registered)
		platform_driver_unregister(&sim_dmac_driver);
	sim_dmac_driver_registered = false;
	sim_free_board(&sim_dmac_cfg);
}
