// SPDX-License-Identifier: GPL-2.0
/*
 * sim_iio: extra test devices, the `extra` module parameter.
 *
 * The simulator's rule tests register some devices of their own (`sim.kernel.iio.register()`) whose shape the
 * board grammar has no words for: no buffer at all, two HARDWARE buffers, a triggered-only kfifo without a
 * trigger, available_scan_masks, a driver callback that fails, a write_raw_get_fmt of IIO_VAL_INT, an output kfifo. `extra` is a
 * comma-separated list of such kinds; each becomes one IIO device registered after the board, in list order
 * (iio:device3, 4, ... after the default board), the same device the tests register on the simulator (same
 * name, channels and attributes; test/helpers.ts `realExtra`, README.md).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/bitmap.h>
#include <linux/iio/iio.h>
#include <linux/iio/buffer.h>
#include <linux/iio/kfifo_buf.h>
#include <linux/iio/trigger.h>
#include <linux/iio/trigger_consumer.h>
#include <linux/iio/triggered_buffer.h>

#include "sim_iio.h"

static char *sim_extra_text;
module_param_named(extra, sim_extra_text, charp, 0444);
MODULE_PARM_DESC(extra, "extra test devices after the board, comma-separated kinds: nobuf, notrig, swtrig, hwontrig, trig2, trig2mask, hw2, hwmask, masks, validate, preenable, post2, kfifoout, intfmt, dmaengine (README.md)");

#define SIM_MAX_EXTRA 8

struct sim_extra_priv {
	int val, val2;		/* intfmt: the last value write_raw was given */
};

static struct iio_dev *sim_extra_devs[SIM_MAX_EXTRA];
/* The device's own trigger `sim-test-trigger` (trig2, trig2mask), never fired: the tests only enable. */
static struct iio_trigger *sim_extra_trigs[SIM_MAX_EXTRA];
static bool sim_extra_registered[SIM_MAX_EXTRA];
static u32 sim_extra_n;

/* A kfifo that offers only INDIO_BUFFER_HARDWARE, as a hardware FIFO's buffer would. */
static struct iio_buffer_access_funcs sim_hw_access;

/* The tests' TEST_CHANNELS: in_voltage0..2, u16 scan elements at indexes 0..2, no info attributes. */
#define SIM_TEST_CHAN(i) {						\
	.type = IIO_VOLTAGE, .indexed = 1, .channel = (i),		\
	.scan_index = (i),						\
	.scan_type = { .sign = 'u', .realbits = 16, .storagebits = 16,	\
		       .endianness = IIO_LE },				\
}

static const struct iio_chan_spec sim_test_channels[] = {
	SIM_TEST_CHAN(0), SIM_TEST_CHAN(1), SIM_TEST_CHAN(2),
};

/* kfifoout: the KFIFO-7 test's OUT_CHANNEL, out_voltage0, u16 scan element at index 0, no info attributes. */
static const struct iio_chan_spec sim_out_channels[] = {
	{
		.type = IIO_VOLTAGE, .indexed = 1, .channel = 0, .output = 1,
		.scan_index = 0,
		.scan_type = { .sign = 'u', .realbits = 16, .storagebits = 16,
			       .endianness = IIO_LE },
	},
};

/* intfmt: only the device's sampling_frequency (shared by all; the channel itself has no attribute). */
static const struct iio_chan_spec sim_info_channels[] = {
	{
		.type = IIO_VOLTAGE, .indexed = 1, .channel = 0, .scan_index = -1,
		.info_mask_shared_by_all = BIT(IIO_CHAN_INFO_SAMP_FREQ),
	},
};

static const unsigned long sim_hw_masks[] = { BIT(0) | BIT(1), 0 };
static const unsigned long sim_kfifo_masks[] = { BIT(0) | BIT(1), BIT(2), 0 };

static int sim_extra_read_raw(struct iio_dev *indio, struct iio_chan_spec const *chan,
			      int *val, int *val2, long mask)
{
	struct sim_extra_priv *p = iio_priv(indio);

	if (mask != IIO_CHAN_INFO_SAMP_FREQ)
		return -EINVAL;
	*val = p->val;
	*val2 = p->val2;
	return IIO_VAL_INT_PLUS_MICRO;
}

static int sim_extra_write_raw(struct iio_dev *indio, struct iio_chan_spec const *chan,
			       int val, int val2, long mask)
{
	struct sim_extra_priv *p = iio_priv(indio);

	if (mask != IIO_CHAN_INFO_SAMP_FREQ)
		return -EINVAL;
	p->val = val;
	p->val2 = val2;
	return 0;
}

static int sim_extra_write_raw_get_fmt(struct iio_dev *indio, struct iio_chan_spec const *chan,
				       long mask)
{
	return IIO_VAL_INT;
}

/* The tests' `readRaw: () => -EINVAL`: no channel has an info attribute, so it is never called. */
static int sim_extra_no_read_raw(struct iio_dev *indio, struct iio_chan_spec const *chan,
				 int *val, int *val2, long mask)
{
	return -EINVAL;
}

static const struct iio_info sim_extra_plain_info = {
	.read_raw = sim_extra_no_read_raw,
};

static const struct iio_info sim_extra_int_info = {
	.read_raw = sim_extra_read_raw,
	.write_raw = sim_extra_write_raw,
	.write_raw_get_fmt = sim_extra_write_raw_get_fmt,
};

/* validate: the driver accepts a scan mask of at most two channels. */
static bool sim_extra_validate_two(struct iio_dev *indio, const unsigned long *mask)
{
	return bitmap_weight(mask, iio_get_masklength(indio)) <= 2;
}

static const struct iio_buffer_setup_ops sim_validate_ops = {
	.validate_scan_mask = sim_extra_validate_two,
};

static int sim_extra_preenable_eio(struct iio_dev *indio)
{
	return -EIO;
}

static const struct iio_buffer_setup_ops sim_preenable_ops = {
	.preenable = sim_extra_preenable_eio,
};

/* post2: postenable fails with -EIO once the device captures two channels or more (both buffers). */
static int sim_extra_postenable_two(struct iio_dev *indio)
{
	return bitmap_weight(indio->active_scan_mask, iio_get_masklength(indio)) >= 2 ? -EIO : 0;
}

static const struct iio_buffer_setup_ops sim_post2_ops = {
	.postenable = sim_extra_postenable_two,
};

/*
 * Attaches one kfifo buffer (length 2, as the simulator's IioBuffer(..., 2, 1)), HARDWARE-only if `hw`, an
 * output buffer (written by user space, iio_kfifo_write()) if `out`.
 */
static int sim_extra_kfifo_dir(struct iio_dev *indio, bool hw, bool out)
{
	struct iio_buffer *buf = iio_kfifo_allocate();
	int ret;

	if (!buf)
		return -ENOMEM;
	if (out)
		buf->direction = IIO_BUFFER_DIRECTION_OUT;
	if (hw) {
		sim_hw_access = *buf->access;
		sim_hw_access.modes = INDIO_BUFFER_HARDWARE;
		buf->access = &sim_hw_access;
	}
	ret = iio_device_attach_buffer(indio, buf);
	/* the device holds its own reference now (dropped by iio_device_free) */
	iio_kfifo_free(buf);
	return ret;
}

static int sim_extra_kfifo(struct iio_dev *indio, bool hw)
{
	return sim_extra_kfifo_dir(indio, hw, false);
}

static irqreturn_t sim_extra_trigger_h(int irq, void *p)
{
	struct iio_poll_func *pf = p;

	iio_trigger_notify_done(pf->indio_dev->trig);
	return IRQ_HANDLED;
}

/*
 * trig2: a TRIGGERED-only device with two kfifos (the first one from iio_triggered_buffer_setup()) and a
 * trigger of its own, made its current trigger at registration.
 */
static int sim_extra_trig2(struct iio_dev *indio, u32 slot, struct device *parent)
{
	int ret = iio_triggered_buffer_setup(indio, NULL, sim_extra_trigger_h, NULL);

	if (ret)
		return ret;
	ret = sim_extra_kfifo(indio, false);
	if (!ret) {
		sim_extra_trigs[slot] = iio_trigger_alloc(parent, "sim-test-trigger");
		if (!sim_extra_trigs[slot])
			ret = -ENOMEM;
	}
	if (ret)
		iio_triggered_buffer_cleanup(indio);
	return ret;
}

static struct iio_dev *sim_extra_create(const char *kind, u32 slot, struct device *parent)
{
	struct iio_dev *indio = iio_device_alloc(parent, sizeof(struct sim_extra_priv));
	int ret = 0;

	if (!indio)
		return ERR_PTR(-ENOMEM);
	indio->name = "sim-test";
	indio->info = &sim_extra_plain_info;
	indio->channels = sim_test_channels;
	indio->num_channels = ARRAY_SIZE(sim_test_channels);
	indio->modes = INDIO_DIRECT_MODE;

	if (!strcmp(kind, "nobuf")) {
		/* CDEV-1: neither buffers nor events, so no char device */
		indio->num_channels = 1;
	} else if (!strcmp(kind, "notrig")) {
		/* EN-4: TRIGGERED-only kfifo, no trigger */
		indio->modes |= INDIO_BUFFER_TRIGGERED;
		ret = sim_extra_kfifo(indio, false);
	} else if (!strcmp(kind, "swtrig")) {
		/* EN-4: kfifo on a TRIGGERED|SOFTWARE device without a trigger: SOFTWARE mode */
		indio->modes |= INDIO_BUFFER_TRIGGERED | INDIO_BUFFER_SOFTWARE;
		ret = sim_extra_kfifo(indio, false);
	} else if (!strcmp(kind, "hwontrig")) {
		/* EN-4: a HARDWARE-only buffer on a TRIGGERED-only device, no trigger */
		indio->modes |= INDIO_BUFFER_TRIGGERED;
		ret = sim_extra_kfifo(indio, true);
	} else if (!strcmp(kind, "post2")) {
		/* EN-8: two SOFTWARE kfifos; postenable fails once two channels are captured */
		indio->modes |= INDIO_BUFFER_SOFTWARE;
		indio->setup_ops = &sim_post2_ops;
		ret = sim_extra_kfifo(indio, false) ?: sim_extra_kfifo(indio, false);
	} else if (!strcmp(kind, "trig2")) {
		/* EN-7, EN-8: two kfifos, a trigger */
		ret = sim_extra_trig2(indio, slot, parent);
	} else if (!strcmp(kind, "trig2mask")) {
		/* EN-5: two kfifos, a trigger, available_scan_masks {0,1} and {2} */
		indio->available_scan_masks = sim_kfifo_masks;
		ret = sim_extra_trig2(indio, slot, parent);
	} else if (!strcmp(kind, "hw2")) {
		/* EN-3: two HARDWARE buffers */
		indio->modes |= INDIO_BUFFER_HARDWARE;
		ret = sim_extra_kfifo(indio, true) ?: sim_extra_kfifo(indio, true);
	} else if (!strcmp(kind, "hwmask")) {
		/* EN-5: one HARDWARE buffer, available_scan_masks {0,1} */
		indio->modes |= INDIO_BUFFER_HARDWARE;
		indio->available_scan_masks = sim_hw_masks;
		ret = sim_extra_kfifo(indio, true);
	} else if (!strcmp(kind, "masks")) {
		/* ATTR-23: TRIGGERED-only kfifo, no trigger, available_scan_masks {0,1} and {2} */
		indio->modes |= INDIO_BUFFER_TRIGGERED;
		indio->available_scan_masks = sim_kfifo_masks;
		ret = sim_extra_kfifo(indio, false);
	} else if (!strcmp(kind, "validate")) {
		/* ATTR-23: TRIGGERED-only kfifo, no trigger, validate_scan_mask: at most two channels */
		indio->modes |= INDIO_BUFFER_TRIGGERED;
		indio->setup_ops = &sim_validate_ops;
		ret = sim_extra_kfifo(indio, false);
	} else if (!strcmp(kind, "preenable")) {
		/* EN-8: SOFTWARE kfifo whose preenable fails with -EIO */
		indio->modes |= INDIO_BUFFER_SOFTWARE;
		indio->setup_ops = &sim_preenable_ops;
		ret = sim_extra_kfifo(indio, false);
	} else if (!strcmp(kind, "kfifoout")) {
		/* KFIFO-7: `sim-out-fifo`, one output channel on one SOFTWARE output kfifo */
		indio->name = "sim-out-fifo";
		indio->channels = sim_out_channels;
		indio->num_channels = ARRAY_SIZE(sim_out_channels);
		indio->modes |= INDIO_BUFFER_SOFTWARE;
		ret = sim_extra_kfifo_dir(indio, false, true);
	} else if (!strcmp(kind, "intfmt")) {
		/* PARSE-6: sampling_frequency parsed as IIO_VAL_INT */
		indio->name = "sim-info";
		indio->info = &sim_extra_int_info;
		indio->channels = sim_info_channels;
		indio->num_channels = ARRAY_SIZE(sim_info_channels);
	} else {
		pr_err("extra: unknown kind '%s'\n", kind);
		ret = -EINVAL;
	}
	if (ret) {
		iio_device_free(indio);
		return ERR_PTR(ret);
	}
	return indio;
}

/* Registers device `i` and its trigger (as sim_dummy_register() does, without the module reference). */
static int sim_extra_register(u32 i)
{
	struct iio_dev *indio = sim_extra_devs[i];
	struct iio_trigger *trig = sim_extra_trigs[i];
	int ret;

	if (trig) {
		ret = iio_trigger_register(trig);
		if (ret)
			goto err_free;
		ret = iio_trigger_set_immutable(indio, trig);
		if (ret)
			goto err_unregister;
		module_put(THIS_MODULE);
	}
	ret = iio_device_register(indio);
	if (!ret || !trig)
		return ret;
	indio->trig = NULL;
	put_device(&trig->dev);
err_unregister:
	iio_trigger_unregister(trig);
err_free:
	/* sim_extra_remove_all() frees the device, which has no trigger any more */
	iio_triggered_buffer_cleanup(indio);
	iio_trigger_free(trig);
	sim_extra_trigs[i] = NULL;
	return ret;
}

/** Registers the devices `extra` lists, after the board's. */
int sim_extra_register_all(struct device *parent)
{
	char *copy, *rest, *kind;
	int ret = 0;

	if (!sim_extra_text || !*sim_extra_text)
		return 0;
	copy = kstrdup(sim_extra_text, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	rest = copy;
	while ((kind = strsep(&rest, ",")) != NULL) {
		struct iio_dev *indio;

		if (!strcmp(kind, "dmaengine")) {
			/* DMAQ-6: an ADC on industrialio-buffer-dmaengine over a dmaengine controller */
			ret = sim_dmac_add(parent);
			if (ret) {
				pr_err("extra: registering dmaengine failed (%d)\n", ret);
				break;
			}
			continue;
		}
		if (sim_extra_n == SIM_MAX_EXTRA) {
			pr_err("extra: more than %d devices\n", SIM_MAX_EXTRA);
			ret = -EOPNOTSUPP;
			break;
		}
		indio = sim_extra_create(kind, sim_extra_n, parent);
		if (IS_ERR(indio)) {
			ret = PTR_ERR(indio);
			break;
		}
		sim_extra_devs[sim_extra_n++] = indio;
		ret = sim_extra_register(sim_extra_n - 1);
		if (ret) {
			pr_err("extra: registering %s failed (%d)\n", kind, ret);
			break;
		}
		sim_extra_registered[sim_extra_n - 1] = true;
	}
	kfree(copy);
	return ret;
}

/** Unregisters and frees every extra device. */
void sim_extra_remove_all(void)
{
	sim_dmac_remove();
	while (sim_extra_n > 0) {
		u32 i = --sim_extra_n;

		struct iio_trigger *trig = sim_extra_trigs[i];

		if (sim_extra_registered[i]) {
			iio_device_unregister(sim_extra_devs[i]);
			if (trig) {
				/* what iio_trigger_put() would do at the device's release, less the module reference */
				sim_extra_devs[i]->trig = NULL;
				put_device(&trig->dev);
				iio_trigger_unregister(trig);
			}
		}
		sim_extra_registered[i] = false;
		if (trig) {
			iio_triggered_buffer_cleanup(sim_extra_devs[i]);
			iio_trigger_free(trig);
			sim_extra_trigs[i] = NULL;
		}
		iio_device_free(sim_extra_devs[i]);
		sim_extra_devs[i] = NULL;
	}
}
