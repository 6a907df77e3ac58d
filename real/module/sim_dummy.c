// SPDX-License-Identifier: GPL-2.0
/*
 * sim_iio: the triggered kfifo device (the simulator's src/kernel/drivers/sim-dummy.ts): four
 * buffered channels and a soft timestamp, filled through a kfifo buffer by a trigger of its own
 * that fires at the device's sample rate from the moment it is attached (buffer enable), plus an
 * event interface with no event attributes. The trigger is fired by the engine thread at scan times
 * t0 + floor((n + 1) * 1e9 / rate), and produces every scan, late or not, as the simulator does.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>
#include <linux/interrupt.h>
#include <linux/device.h>
#include <linux/sysfs.h>
#include <linux/iio/iio.h>
#include <linux/iio/buffer.h>
#include <linux/iio/trigger.h>
#include <linux/iio/trigger_consumer.h>
#include <linux/iio/triggered_buffer.h>

#include "sim_iio.h"

struct sim_dummy_priv {
	struct sim_dummy *d;
};

static struct sim_dummy *sim_dummy_of(struct iio_dev *indio)
{
	return ((struct sim_dummy_priv *)iio_priv(indio))->d;
}

#define SIM_DUMMY_CHAN(_si, _type, _idx, _ch, _ch2, _diff, _mod, _sign, _real) {	\
	.scan_index = (_si),								\
	.type = (_type),								\
	.indexed = (_idx),								\
	.channel = (_ch),								\
	.channel2 = (_ch2),								\
	.differential = (_diff),							\
	.modified = (_mod),								\
	.info_mask_shared_by_all = BIT(IIO_CHAN_INFO_SAMP_FREQ),			\
	.scan_type = {									\
		.sign = (_sign),							\
		.realbits = (_real),							\
		.storagebits = 16,							\
		.shift = 0,								\
		.endianness = IIO_LE,							\
	},										\
}

/* in_voltage0, in_voltage1-voltage2, in_voltage3-voltage4, in_accel_x, in_timestamp */
static const struct iio_chan_spec sim_dummy_channels[] = {
	SIM_DUMMY_CHAN(0, IIO_VOLTAGE, 1, 0, 0, 0, 0, 'u', 13),
	SIM_DUMMY_CHAN(1, IIO_VOLTAGE, 1, 1, 2, 1, 0, 's', 12),
	SIM_DUMMY_CHAN(2, IIO_VOLTAGE, 1, 3, 4, 1, 0, 's', 11),
	SIM_DUMMY_CHAN(3, IIO_ACCEL, 0, 0, IIO_MOD_X, 0, 1, 's', 16),
	IIO_CHAN_SOFT_TIMESTAMP(4),
};

/* What the hardware measures (SIM_DUMMY_CHANNELS in sim-dummy.ts). */
static void sim_dummy_setup_signals(struct sim_dummy *d)
{
	static const struct {
		bool is_signed;
		u8 realbits;
		enum sim_sig_kind kind;
		s64 a, b, c, e;
	} sig[4] = {
		/* ramp step 1 offset 0; ramp step 3 offset 1000; square period 100 duty 0.5; 34 */
		{ false, 13, SIM_SIG_RAMP, 1, 0, 0, 0 },
		{ true, 12, SIM_SIG_RAMP, 3, 1000, 0, 0 },
		{ true, 11, SIM_SIG_SQUARE, 1000, -1000, 100, 50 },
		{ true, 16, SIM_SIG_CONST, 34, 0, 0, 0 },
	};
	u32 i;

	for (i = 0; i < 4; i++) {
		struct sim_chan_cfg *ch = &d->ch[i];

		ch->st.is_signed = sig[i].is_signed;
		ch->st.realbits = sig[i].realbits;
		ch->st.storagebits = 16;
		ch->st.shift = 0;
		ch->st.repeat = 1;
		ch->st.big_endian = false;
		ch->sig.kind = sig[i].kind;
		ch->sig.a = sig[i].a;
		ch->sig.b = sig[i].b;
		ch->sig.c = sig[i].c;
		ch->sig.d = sig[i].e;
		ch->has_signal = true;
		sim_signal_bind(&ch->sig, &ch->st);
	}
}

/*
 * The time a scan was due (the devices' time, which is monotonic ns at timescale 1), on the device's
 * timestamp clock (current_timestamp_clock): consecutive scans differ by the sample period whatever the
 * timescale.
 */
static s64 sim_dummy_due_ts(struct iio_dev *indio, s64 due)
{
	switch (iio_device_get_clock(indio)) {
	case CLOCK_MONOTONIC:
		return due;
	case CLOCK_REALTIME:
		return ktime_to_ns(ktime_mono_to_any(ns_to_ktime(due), TK_OFFS_REAL));
	case CLOCK_BOOTTIME:
		return ktime_to_ns(ktime_mono_to_any(ns_to_ktime(due), TK_OFFS_BOOT));
	case CLOCK_TAI:
		return ktime_to_ns(ktime_mono_to_any(ns_to_ktime(due), TK_OFFS_TAI));
	default:
		/* raw and coarse clocks: now, less how late the scan is */
		return iio_get_time_ns(indio) - (sim_engine_clock() - due);
	}
}

/*
 * The trigger handler (iio_simple_dummy_trigger_h): one scan of the enabled channels plus the
 * timestamp. Runs from the engine thread, with the engine lock held, through
 * iio_trigger_poll_nested().
 */
static irqreturn_t sim_dummy_trigger_h(int irq, void *p)
{
	struct iio_poll_func *pf = p;
	struct iio_dev *indio = pf->indio_dev;
	struct sim_dummy *d = sim_dummy_of(indio);
	u8 scan[32] __aligned(8) = { };
	struct sim_layout *l = &d->layout;
	s64 vals[4];
	s64 ts;
	u32 j;

	for (j = 0; j < l->nfields; j++)
		vals[j] = sim_signal_sample(&d->ch[l->f[j].chan].sig, d->n);
	sim_write_scan(scan, l, vals);
	ts = sim_dummy_due_ts(indio, d->due);
	iio_push_to_buffers_with_ts(indio, scan, sizeof(scan), ts);
	d->n++;
	d->produced++;
	iio_trigger_notify_done(indio->trig);
	return IRQ_HANDLED;
}

/* Called by the engine at the time the next scan is due. */
void sim_dummy_fire(struct sim_dummy *d, s64 due)
{
	u64 before = d->n;

	d->due = due;
	iio_trigger_poll_nested(d->trig);
	if (d->n == before) {
		/*
		 * the poll function did not run (trigger busy or detached): the scan is not
		 * produced
		 */
		d->n++;
	}
}

static int sim_dummy_set_trigger_state(struct iio_trigger *trig, bool state)
{
	struct sim_dummy *d = iio_trigger_get_drvdata(trig);
	DECLARE_BITMAP(mask, SIM_MAX_CHANNELS) = { };
	s64 now;
	u32 i;

	/* the enabled data channels (the timestamp is pushed by the core) */
	for (i = 0; i < 4; i++)
		if (d->indio->active_scan_mask && test_bit(i, d->indio->active_scan_mask))
			__set_bit(i, mask);

	sim_engine_lock();
	now = sim_engine_catch_up();
	if (state) {
		sim_layout_compute(&d->layout, d->ch, 4, mask, false, NULL, NULL);
		d->running = true;
		d->t0 = now;
		d->run_rate = d->rate;
		d->n = 0;
	} else {
		d->running = false;
	}
	sim_engine_unlock();
	sim_engine_kick();
	return 0;
}

static const struct iio_trigger_ops sim_dummy_trigger_ops = {
	.set_trigger_state = sim_dummy_set_trigger_state,
};

static int sim_dummy_read_raw(struct iio_dev *indio, struct iio_chan_spec const *chan, int *val,
			      int *val2, long mask)
{
	struct sim_dummy *d = sim_dummy_of(indio);

	if (mask != IIO_CHAN_INFO_SAMP_FREQ)
		return -EINVAL;
	*val = READ_ONCE(d->rate);
	return IIO_VAL_INT;
}

static int sim_dummy_write_raw(struct iio_dev *indio, struct iio_chan_spec const *chan, int val,
			       int val2, long mask)
{
	struct sim_dummy *d = sim_dummy_of(indio);

	if (mask != IIO_CHAN_INFO_SAMP_FREQ)
		return -EINVAL;
	if (!iio_device_claim_direct(indio))
		return -EBUSY;
	if (val <= 0 || val > d->cfg->max_rate) {
		iio_device_release_direct(indio);
		return -EINVAL;
	}
	WRITE_ONCE(d->rate, val);
	iio_device_release_direct(indio);
	return 0;
}

/* Only its own trigger can drive the device. */
static int sim_dummy_validate_trigger(struct iio_dev *indio, struct iio_trigger *trig)
{
	return trig == sim_dummy_of(indio)->trig ? 0 : -EINVAL;
}

/* An event interface without event attributes: GET_EVENT_FD works; events come from push_event (sim_main.c). */
static struct attribute *sim_dummy_event_attrs[] = {
	NULL,
};

static const struct attribute_group sim_dummy_event_group = {
	.attrs = sim_dummy_event_attrs,
};

static const struct iio_info sim_dummy_info = {
	.read_raw = sim_dummy_read_raw,
	.write_raw = sim_dummy_write_raw,
	.validate_trigger = sim_dummy_validate_trigger,
	.event_attrs = &sim_dummy_event_group,
};

struct sim_dummy *sim_dummy_create(const struct sim_dev_cfg *cfg, struct device *parent)
{
	struct sim_dummy *d;
	struct iio_dev *indio;
	int ret;

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return ERR_PTR(-ENOMEM);
	d->cfg = cfg;
	d->parent = parent;
	d->rate = cfg->rate;
	INIT_LIST_HEAD(&d->node);
	sim_dummy_setup_signals(d);

	indio = iio_device_alloc(parent, sizeof(struct sim_dummy_priv));
	if (!indio) {
		ret = -ENOMEM;
		goto err_free;
	}
	((struct sim_dummy_priv *)iio_priv(indio))->d = d;
	d->indio = indio;
	indio->name = cfg->name;
	indio->info = &sim_dummy_info;
	indio->channels = sim_dummy_channels;
	indio->num_channels = ARRAY_SIZE(sim_dummy_channels);
	indio->modes = INDIO_DIRECT_MODE;

	ret = iio_triggered_buffer_setup(indio, NULL, sim_dummy_trigger_h, NULL);
	if (ret)
		goto err_dev;

	d->trig = iio_trigger_alloc(parent, "%s-dev%d-trigger", cfg->name, iio_device_id(indio));
	if (!d->trig) {
		ret = -ENOMEM;
		goto err_buffer;
	}
	d->trig->ops = &sim_dummy_trigger_ops;
	iio_trigger_set_drvdata(d->trig, d);
	return d;

err_buffer:
	iio_triggered_buffer_cleanup(indio);
err_dev:
	iio_device_free(indio);
err_free:
	kfree(d);
	return ERR_PTR(ret);
}

int sim_dummy_register(struct sim_dummy *d)
{
	int ret;

	ret = iio_trigger_register(d->trig);
	if (ret)
		return ret;
	/*
	 * The device's own trigger, fixed (current_trigger cannot be changed: -EPERM). Taking it
	 * also takes a reference on the trigger's owner, this module, which would make the module
	 * impossible to unload: that reference is dropped here, and the device reference is dropped
	 * by sim_dummy_unregister().
	 */
	ret = iio_trigger_set_immutable(d->indio, d->trig);
	if (ret)
		goto err_trigger;
	module_put(THIS_MODULE);
	ret = iio_device_register(d->indio);
	if (ret)
		goto err_detach;
	sim_engine_add_dummy(d);
	return 0;

err_detach:
	d->indio->trig = NULL;
	put_device(&d->trig->dev);
err_trigger:
	iio_trigger_unregister(d->trig);
	return ret;
}

void sim_dummy_unregister(struct sim_dummy *d)
{
	iio_device_unregister(d->indio);
	/* what iio_trigger_put() would do at the device's release, less the module reference */
	d->indio->trig = NULL;
	put_device(&d->trig->dev);
	iio_trigger_unregister(d->trig);
}

void sim_dummy_destroy(struct sim_dummy *d)
{
	if (!d)
		return;
	iio_triggered_buffer_cleanup(d->indio);
	iio_trigger_free(d->trig);
	iio_device_free(d->indio);
	kfree(d);
}
