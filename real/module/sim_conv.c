// SPDX-License-Identifier: GPL-2.0
/*
 * sim_iio: the DMA converters (sim-adc, sim-dac), in the manner of ADI's axi-adc/axi-dac drivers on
 * an industrialio-buffer-dmaengine buffer (the simulator's src/kernel/drivers/sim-converter.ts and
 * src/kernel/iio/buffer-dmaengine.ts): one IIO device, one DMA buffer, `sampling_frequency`, on ADC
 * channels `in_<channel>_raw` and `in_<channel>_scale`, the converter started at postenable and stopped
 * at postdisable.
 *
 * The block queue is industrialio-buffer-dma itself; this file supplies what
 * industrialio-buffer-dmaengine would (submit with its length rules, abort, the active list,
 * `length_align_bytes`) on top of the software DMA channel of sim_engine.c instead of a dmaengine
 * controller.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/device.h>
#include <linux/spinlock.h>
#include <linux/delay.h>
#include <linux/scatterlist.h>
#include <linux/iio/iio.h>
#include <linux/iio/sysfs.h>
#include <linux/iio/buffer.h>
#include <linux/iio/buffer_impl.h>
#include <linux/iio/buffer-dma.h>
#include <linux/iio/buffer-dmaengine.h>

#include "sim_iio.h"

struct sim_conv_priv {
	struct sim_conv *conv;
};

static struct sim_conv *sim_conv_of(struct iio_dev *indio)
{
	return ((struct sim_conv_priv *)iio_priv(indio))->conv;
}

static struct sim_queue *sim_queue_of(struct iio_dma_buffer_queue *queue)
{
	return container_of(queue, struct sim_queue, queue);
}

static bool sim_has_active_cyclic(struct sim_conv *c)
{
	struct iio_dma_buffer_block *block;
	unsigned long flags;
	bool found = false;

	spin_lock_irqsave(&c->q->queue.list_lock, flags);
	list_for_each_entry(block, &c->drv_active, head) {
		if (block->cyclic) {
			found = true;
			break;
		}
	}
	spin_unlock_irqrestore(&c->q->queue.list_lock, flags);
	return found;
}

bool sim_dma_has_active_cyclic(struct sim_conv *c)
{
	return sim_has_active_cyclic(c);
}

/*
 * iio_dmaengine_buffer_submit_block() with the controller's descriptor checks (axi-dmac): a zero
 * length or one that is not a multiple of the bus width gives no descriptor, hence -ENOMEM (ENQ-21,
 * FILEIO-3/4).
 */
static int sim_submit(struct iio_dma_buffer_queue *queue, struct iio_dma_buffer_block *block)
{
	struct sim_conv *c = sim_queue_of(queue)->conv;
	u64 align = c->cfg->dma_align;
	u64 max_size, len, room;
	unsigned long flags;
	int ret;

	max_size = rounddown(min_t(u64, block->size, c->cfg->dma_max_seg), align);

	if (block->cyclic && sim_has_active_cyclic(c)) {
		dev_err(queue->dev, "cyclic DMA transfer already active\n");
		return -EBUSY;
	}

	if (block->sg_table) {
		struct scatterlist *sg;
		unsigned int i;

		room = 0;
		for_each_sgtable_dma_sg(block->sg_table, sg, i)
			room += sg_dma_len(sg);
		len = block->bytes_used;
		if (len > room)
			return -ENOMEM;	/* the descriptor would run past the memory */
	} else {
		if (queue->buffer.direction == IIO_BUFFER_DIRECTION_IN)
			block->bytes_used = max_size;
		if (!block->bytes_used || block->bytes_used > max_size)
			return -EINVAL;
		len = block->bytes_used;
	}
	if (!len || len % align)
		return -ENOMEM;

	sim_engine_lock();
	sim_engine_catch_up();
	spin_lock_irqsave(&queue->list_lock, flags);
	list_add_tail(&block->head, &c->drv_active);
	spin_unlock_irqrestore(&queue->list_lock, flags);
	ret = sim_dma_submit(c, block, len);
	if (ret) {
		spin_lock_irqsave(&queue->list_lock, flags);
		list_del(&block->head);
		spin_unlock_irqrestore(&queue->list_lock, flags);
	}
	sim_engine_unlock();
	return ret;
}

/*
 * iio_dmaengine_buffer_abort(): terminate the channel, then give back every block on the active
 * list.
 */
static void sim_abort(struct iio_dma_buffer_queue *queue)
{
	struct sim_conv *c = sim_queue_of(queue)->conv;

	sim_engine_lock();
	sim_engine_catch_up();
	sim_dma_terminate(c);
	sim_engine_unlock();
	iio_dma_buffer_block_list_abort(queue, &c->drv_active);
}

/*
 * The completion callback (iio_dmaengine_buffer_block_done()), from the engine with its lock held.
 */
void sim_conv_block_done(struct sim_conv *c, struct iio_dma_buffer_block *block, u64 residue)
{
	unsigned long flags;

	spin_lock_irqsave(&block->queue->list_lock, flags);
	list_del(&block->head);
	spin_unlock_irqrestore(&block->queue->list_lock, flags);
	/* the controller's error status is not looked at, only the residue (DMAQ-6) */
	block->bytes_used -= residue;
	iio_dma_buffer_block_done(block);
}

static const struct iio_dma_buffer_ops sim_dma_ops = {
	.submit = sim_submit,
	.abort = sim_abort,
};

static void sim_buffer_release(struct iio_buffer *buf)
{
	struct sim_queue *sq = container_of(buf, struct sim_queue, queue.buffer);

	iio_dma_buffer_release(&sq->queue);
	kfree(sq);
}

static const struct iio_buffer_access_funcs sim_buffer_ops = {
	.read = iio_dma_buffer_read,
	.write = iio_dma_buffer_write,
	.set_bytes_per_datum = iio_dma_buffer_set_bytes_per_datum,
	.set_length = iio_dma_buffer_set_length,
	.request_update = iio_dma_buffer_request_update,
	.enable = iio_dma_buffer_enable,
	.disable = iio_dma_buffer_disable,
	.data_available = iio_dma_buffer_usage,
	.space_available = iio_dma_buffer_usage,
	.release = sim_buffer_release,

	.enqueue_dmabuf = iio_dma_buffer_enqueue_dmabuf,
	.attach_dmabuf = iio_dma_buffer_attach_dmabuf,
	.detach_dmabuf = iio_dma_buffer_detach_dmabuf,

	.lock_queue = iio_dma_buffer_lock_queue,
	.unlock_queue = iio_dma_buffer_unlock_queue,

	.get_dma_dev = iio_dma_buffer_get_dma_dev,

	.modes = INDIO_BUFFER_HARDWARE,
	.flags = INDIO_BUFFER_FLAG_FIXED_WATERMARK,
};

/* `length_align_bytes` (ATTR-18). */
static ssize_t sim_length_align_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct iio_buffer *buffer = to_iio_dev_attr(attr)->buffer;
	struct sim_queue *sq = container_of(buffer, struct sim_queue, queue.buffer);

	return sysfs_emit(buf, "%llu\n", sq->conv->cfg->dma_align);
}

static IIO_DEVICE_ATTR(length_align_bytes, 0444, sim_length_align_show, NULL, 0);

static const struct iio_dev_attr *sim_buffer_attrs[] = {
	&iio_dev_attr_length_align_bytes,
	NULL,
};

/*
 * Reference voltage of the ADCs, mV (SIM_ADC_VREF_MV of src/kernel/drivers/sim-converter.ts): the scale
 * of a channel is vref / 2^realbits, or vref / 2^(realbits - 1) for signed (bipolar) codes.
 */
#define SIM_ADC_VREF_MV	2500

static int sim_conv_read_raw(struct iio_dev *indio, struct iio_chan_spec const *chan, int *val,
			     int *val2, long mask)
{
	struct sim_conv *c = sim_conv_of(indio);
	s64 now;

	switch (mask) {
	case IIO_CHAN_INFO_SAMP_FREQ:
		*val = READ_ONCE(c->rate);
		return IIO_VAL_INT;
	case IIO_CHAN_INFO_SCALE:
		*val = SIM_ADC_VREF_MV;
		*val2 = chan->scan_type.realbits - (chan->scan_type.sign == 's' ? 1 : 0);
		return IIO_VAL_FRACTIONAL_LOG2;
	case IIO_CHAN_INFO_RAW:
		/* no direct reads while the buffer runs */
		if (!iio_device_claim_direct(indio))
			return -EBUSY;
		sim_engine_lock();
		now = sim_engine_catch_up();
		*val = (int)sim_adc_direct_sample(c, chan->scan_index, now);
		sim_engine_unlock();
		iio_device_release_direct(indio);
		return IIO_VAL_INT;
	default:
		return -EINVAL;
	}
}

static int sim_conv_write_raw(struct iio_dev *indio, struct iio_chan_spec const *chan, int val,
			      int val2, long mask)
{
	struct sim_conv *c = sim_conv_of(indio);

	if (mask != IIO_CHAN_INFO_SAMP_FREQ)
		return -EINVAL;
	if (!iio_device_claim_direct(indio))
		return -EBUSY;
	if (val <= 0 || val > c->cfg->max_rate) {
		iio_device_release_direct(indio);
		return -EINVAL;
	}
	WRITE_ONCE(c->rate, val);
	iio_device_release_direct(indio);
	return 0;
}

static const struct iio_info sim_conv_info = {
	.read_raw = sim_conv_read_raw,
	.write_raw = sim_conv_write_raw,
};

static int sim_conv_postenable(struct iio_dev *indio)
{
	struct sim_conv *c = sim_conv_of(indio);

	sim_engine_lock();
	sim_engine_catch_up();
	sim_port_start(c, indio->active_scan_mask);
	sim_engine_unlock();
	if (c->layout.bpd != indio->scan_bytes)
		dev_warn(&indio->dev, "scan layout disagrees with the core: %u vs %d bytes\n", c->layout.bpd,
			 indio->scan_bytes);
	return 0;
}

static int sim_conv_postdisable(struct iio_dev *indio)
{
	struct sim_conv *c = sim_conv_of(indio);

	sim_engine_lock();
	sim_engine_catch_up();
	sim_port_stop(c);
	sim_engine_unlock();
	return 0;
}

static const struct iio_buffer_setup_ops sim_conv_setup_ops = {
	.postenable = sim_conv_postenable,
	.postdisable = sim_conv_postdisable,
};

static u32 sim_full_scan_bytes(const struct sim_dev_cfg *cfg)
{
	DECLARE_BITMAP(all, SIM_MAX_CHANNELS);
	struct sim_layout *l;
	u32 bpd;

	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l)
		return 0;
	bitmap_fill(all, cfg->nch);
	sim_layout_compute(l, cfg->ch, cfg->nch, all, false, NULL, NULL);
	bpd = l->bpd;
	kfree(l);
	return bpd;
}

/*
 * A converter on `parent`. With `dmaengine`, it gets no buffer here: sim_conv_attach_dmaengine() gives it
 * industrialio-buffer-dmaengine's (sim_dmac.c) instead of our own queue.
 */
struct sim_conv *sim_conv_create(const struct sim_dev_cfg *cfg, struct device *parent, bool dmaengine)
{
	struct iio_dev *indio;
	struct sim_conv *c;
	struct sim_queue *sq;
	u32 i, scan_max;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return ERR_PTR(-ENOMEM);
	c->cfg = cfg;
	c->dma_dev = parent;
	c->rate = cfg->rate;
	INIT_LIST_HEAD(&c->node);
	INIT_LIST_HEAD(&c->drv_active);
	INIT_LIST_HEAD(&c->ctl_queue);
	INIT_LIST_HEAD(&c->irqs);
	INIT_LIST_HEAD(&c->runs);

	/* any subset of the channels packs into at most the bytes of the full scan */
	scan_max = sim_full_scan_bytes(cfg);
	c->scan_size = max(scan_max, 8u);
	c->scan = kzalloc(c->scan_size, GFP_KERNEL);
	c->chunk = kmalloc(max_t(u32, 4096, c->scan_size), GFP_KERNEL);
	c->chans = kcalloc(cfg->nch, sizeof(*c->chans), GFP_KERNEL);
	if (!c->scan || !c->chunk || !c->chans)
		goto err_free;

	for (i = 0; i < cfg->nch; i++) {
		const struct sim_chan_cfg *ch = &cfg->ch[i];
		struct iio_chan_spec *s = &c->chans[i];

		s->type = ch->iio_type;
		s->output = cfg->kind == SIM_DAC;
		if (ch->channel >= 0) {
			s->indexed = 1;
			s->channel = ch->channel;
		}
		if (ch->modifier >= 0) {
			s->modified = 1;
			s->channel2 = ch->modifier;
		}
		s->scan_index = i;
		s->scan_type.sign = ch->st.is_signed ? 's' : 'u';
		s->scan_type.realbits = ch->st.realbits;
		s->scan_type.storagebits = ch->st.storagebits;
		s->scan_type.shift = ch->st.shift;
		s->scan_type.repeat = ch->st.repeat;
		s->scan_type.endianness = ch->st.big_endian ? IIO_BE : IIO_LE;
		s->info_mask_shared_by_all = BIT(IIO_CHAN_INFO_SAMP_FREQ);
		/* in_<channel>_raw and in_<channel>_scale, 0644 as every info attribute */
		if (cfg->kind == SIM_ADC)
			s->info_mask_separate = BIT(IIO_CHAN_INFO_RAW) | BIT(IIO_CHAN_INFO_SCALE);
	}

	indio = iio_device_alloc(parent, sizeof(struct sim_conv_priv));
	if (!indio)
		goto err_free;
	((struct sim_conv_priv *)iio_priv(indio))->conv = c;
	c->indio = indio;
	indio->name = cfg->name;
	indio->info = &sim_conv_info;
	indio->channels = c->chans;
	indio->num_channels = cfg->nch;
	indio->modes = INDIO_DIRECT_MODE | INDIO_BUFFER_HARDWARE;
	indio->setup_ops = &sim_conv_setup_ops;

	if (dmaengine)
		return c;

	sq = kzalloc(sizeof(*sq), GFP_KERNEL);
	if (!sq)
		goto err_dev;
	sq->conv = c;
	c->q = sq;
	iio_dma_buffer_init(&sq->queue, parent, &sim_dma_ops);
	sq->queue.buffer.attrs = sim_buffer_attrs;
	sq->queue.buffer.access = &sim_buffer_ops;
	sq->queue.buffer.direction = cfg->kind == SIM_DAC ? IIO_BUFFER_DIRECTION_OUT :
							    IIO_BUFFER_DIRECTION_IN;
	if (iio_device_attach_buffer(indio, &sq->queue.buffer)) {
		iio_dma_buffer_exit(&sq->queue);
		iio_buffer_put(&sq->queue.buffer);
		c->q = NULL;
		goto err_dev;
	}
	return c;

err_dev:
	iio_device_free(indio);
	c->indio = NULL;
err_free:
	kfree(c->chans);
	kfree(c->chunk);
	kfree(c->scan);
	kfree(c);
	return ERR_PTR(-ENOMEM);
}

/*
 * The converter's buffer: industrialio-buffer-dmaengine's on the `channel` that `consumer` finds through the
 * provider's filter map (iio_dmaengine_buffer_setup_ext()), as a driver without a devicetree would.
 */
int sim_conv_attach_dmaengine(struct sim_conv *c, struct device *consumer, const char *channel,
			      enum iio_buffer_direction dir)
{
	struct iio_buffer *buf = iio_dmaengine_buffer_setup_ext(consumer, c->indio, channel, dir);

	if (IS_ERR(buf)) {
		pr_err("%s: no dmaengine buffer (%ld)\n", c->cfg->name, PTR_ERR(buf));
		return PTR_ERR(buf);
	}
	c->dmaengine_buf = buf;
	return 0;
}

int sim_conv_register(struct sim_conv *c)
{
	int ret = iio_device_register(c->indio);

	if (ret)
		return ret;
	sim_engine_add_conv(c);
	return 0;
}

void sim_conv_unregister(struct sim_conv *c)
{
	iio_device_unregister(c->indio);
}

/*
 * The IIO device is unregistered and the engine no longer knows this converter. Frees everything
 * once only the driver's and the device's references to the buffer remain (deferred block releases
 * of industrialio-buffer-dma may still be pending for a moment). A buffer that stays referenced (a
 * buffer fd kept open after its char device was closed; DMABUF blocks whose fences never signal,
 * such as blocks left QUEUED when the device goes away or orphaned by ATTACH, rules ENQ-23 and
 * ATT-12) is left allocated, with an access table that does not point into this module, so that
 * nothing calls into the module once it is gone. Returns true when the buffer was leaked that way:
 * the DMA device must then stay registered too.
 */
#define SIM_IIO_BUSY_BIT_POS 1	/* drivers/iio/iio_core.h: the buffer has a live buffer fd */

static bool sim_buffer_idle(struct iio_buffer *buf)
{
	return kref_read(&buf->ref) <= 2 && !test_bit(SIM_IIO_BUSY_BIT_POS, &buf->flags);
}

bool sim_conv_destroy(struct sim_conv *c)
{
	bool leaked = false;
	struct iio_buffer *buf;
	unsigned int tries;

	if (!c)
		return false;
	if (c->dmaengine_buf) {
		/* the buffer's callbacks are industrialio-buffer-dmaengine's: only the DMA device must stay */
		buf = c->dmaengine_buf;
		/*
		 * the fileio blocks hold references until the queue is torn down; the teardown below repeats
		 * this exit, which does nothing the second time
		 */
		iio_dma_buffer_exit(container_of(buf, struct iio_dma_buffer_queue, buffer));
		for (tries = 0; tries < DIV_ROUND_UP(sim_unload_wait_ms, 10) && !sim_buffer_idle(buf); tries++)
			msleep(10);
		if (!sim_buffer_idle(buf)) {
			pr_warn("%s: buffer still referenced at unload (%u references); leaking it\n",
				c->cfg->name, kref_read(&buf->ref));
			leaked = true;
		}
		/* iio_dma_buffer_exit() first: nothing is submitted to the channel once it is released */
		iio_dmaengine_buffer_teardown(buf);
	}
	if (c->q) {
		buf = &c->q->queue.buffer;
		iio_dma_buffer_exit(&c->q->queue);
		for (tries = 0; tries < DIV_ROUND_UP(sim_unload_wait_ms, 10) && !sim_buffer_idle(buf); tries++)
			msleep(10);
		if (!sim_buffer_idle(buf)) {
			struct iio_buffer_access_funcs *ops;

			ops = kmemdup(&sim_buffer_ops, sizeof(*ops), GFP_KERNEL);

			pr_warn("%s: buffer still referenced at unload (%u references%s); leaking it\n",
				c->cfg->name, kref_read(&buf->ref),
				test_bit(SIM_IIO_BUSY_BIT_POS, &buf->flags) ? ", a buffer fd is open" : "");
			/*
			 * the extra reference keeps the release, the only callback left in this
			 * module, unreached
			 */
			iio_buffer_get(buf);
			if (ops) {
				ops->release = NULL;
				buf->access = ops;
			}
			buf->attrs = NULL;
			leaked = true;
		}
		iio_buffer_put(buf);
	}
	if (c->indio)
		iio_device_free(c->indio);
	sim_dma_free_history(c);
	kfree(c->chans);
	kfree(c->chunk);
	kfree(c->scan);
	kfree(c);
	return leaked;
}
