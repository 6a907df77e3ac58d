// SPDX-License-Identifier: GPL-2.0
/*
 * sim_iio: IIO devices mirroring the iio-dmabuf-sim simulator's board, for the real-kernel oracle.
 *
 * Load with `devices=<board>` (grammar in README.md; without it: the simulator's default board
 * sim-adc, sim-dac, sim-dummy). The devices are registered in list order, so they become
 * iio:device0, 1, ... when no other IIO device exists. A board that cannot be expressed makes the
 * load fail with -EINVAL (or -EOPNOTSUPP for an unsupported signal, channel type or modifier) and a
 * pr_err() saying why.
 *
 * The DMA of every converter is done by one platform device, "sim-iio", with a 64-bit DMA mask: the
 * fileio blocks are allocated from it and every DMABUF attachment is mapped for it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/platform_device.h>
#include <linux/dma-mapping.h>
#include <linux/iio/events.h>
#include <linux/string.h>

#include "sim_iio.h"

static char *sim_devices_text;

static int sim_devices_set(const char *val, const struct kernel_param *kp)
{
	char *copy = kstrdup(val, GFP_KERNEL);

	if (!copy)
		return -ENOMEM;
	kfree(sim_devices_text);
	sim_devices_text = copy;
	return 0;
}

static int sim_devices_get(char *buffer, const struct kernel_param *kp)
{
	return scnprintf(buffer, PAGE_SIZE, "%s\n", sim_devices_text ?: sim_default_devices);
}

static void sim_devices_free(void *arg)
{
	kfree(sim_devices_text);
	sim_devices_text = NULL;
}

/* Not a charp: those are limited to 1024 bytes, a board with sample tables is longer. */
static const struct kernel_param_ops sim_devices_ops = {
	.set = sim_devices_set,
	.get = sim_devices_get,
	.free = sim_devices_free,
};

module_param_cb(devices, &sim_devices_ops, NULL, 0444);
MODULE_PARM_DESC(devices, "the board: KIND:NAME,key=value,...;... (see README.md); default: the simulator's default board");

bool sim_debug;
module_param_named(debug, sim_debug, bool, 0644);
MODULE_PARM_DESC(debug, "log every converter run's transfer and overflow counts");

unsigned int sim_unload_wait_ms = 1000;
module_param_named(unload_wait_ms, sim_unload_wait_ms, uint, 0644);
MODULE_PARM_DESC(unload_wait_ms, "how long unloading waits per DMA device for deferred block releases before leaking a referenced buffer (default 1000)");

bool sim_manual_clock;
module_param_named(manual_clock, sim_manual_clock, bool, 0444);
MODULE_PARM_DESC(manual_clock, "time moves only when advance_ns is written (deterministic runs), not in real time");

unsigned int sim_timescale = 1;

static int sim_timescale_set(const char *val, const struct kernel_param *kp)
{
	unsigned int k;
	int ret = kstrtouint(val, 0, &k);

	if (ret)
		return ret;
	if (k < 1 || k > 1000000)
		return -EINVAL;
	sim_timescale = k;
	return 0;
}

static const struct kernel_param_ops sim_timescale_ops = {
	.set = sim_timescale_set,
	.get = param_get_uint,
};

module_param_cb(timescale, &sim_timescale_ops, &sim_timescale, 0444);
MODULE_PARM_DESC(timescale, "the devices run K times slower than real time (1..1000000, default 1): K real ns per device ns");

static int sim_advance_set(const char *val, const struct kernel_param *kp)
{
	u64 ns;
	int ret = kstrtou64(val, 0, &ns);

	if (ret)
		return ret;
	return sim_engine_advance(ns);
}

static const struct kernel_param_ops sim_advance_ops = {
	.set = sim_advance_set,
};

module_param_cb(advance_ns, &sim_advance_ops, NULL, 0200);
MODULE_PARM_DESC(advance_ns, "with manual_clock=1: write N to let N ns pass (events processed in the writer's context)");

static struct platform_device *sim_pdev;
static struct sim_board sim_board;
static struct sim_conv *sim_convs[SIM_MAX_DEVICES];
static struct sim_dummy *sim_dummies[SIM_MAX_DEVICES];
static bool sim_registered[SIM_MAX_DEVICES];

/*
 * remove=NAME unregisters that device while the module stays loaded, as an unbind does: the oracle's
 * device-removal tests (the simulator's removeDevice()). Its fds stay open and see the IIO core's -ENODEV;
 * the objects are freed at unload like the others.
 */
static int sim_remove_set(const char *val, const struct kernel_param *kp)
{
	char buf[SIM_MAX_NAME + 2];
	char *name;
	u32 i;

	strscpy(buf, val, sizeof(buf));
	name = strim(buf);
	for (i = 0; i < sim_board.ndev; i++) {
		if (!sim_registered[i] || strcmp(sim_board.dev[i]->name, name))
			continue;
		if (sim_convs[i])
			sim_conv_unregister(sim_convs[i]);
		else
			sim_dummy_unregister(sim_dummies[i]);
		sim_registered[i] = false;
		return 0;
	}
	return -ENODEV;
}

static const struct kernel_param_ops sim_remove_ops = {
	.set = sim_remove_set,
};

module_param_cb(remove, &sim_remove_ops, NULL, 0200);
MODULE_PARM_DESC(remove, "write a device's name to unregister it (device removal while the module stays loaded)");

/*
 * push_event="NAME ID TIMESTAMP" pushes one event on that device's event interface (iio_push_event()), as a
 * driver's interrupt handler would: the oracle's event tests (the simulator's IioEventInterface.push()). ID is
 * a u64 and TIMESTAMP an s64, decimal or 0x-hex. As in the kernel, the event is dropped when no event fd is
 * live or the queue (16 events) is full, and the writer is not told. A device that is not registered, or has
 * no event interface (the converters), is -ENODEV.
 */
static int sim_push_event_set(const char *val, const struct kernel_param *kp)
{
	char buf[SIM_MAX_NAME + 48];
	char *rest = buf, *name, *id_s;
	u64 id;
	s64 ts;
	u32 i;
	int ret;

	if (strscpy(buf, val, sizeof(buf)) < 0)
		return -EINVAL;
	name = strsep(&rest, " ");
	id_s = strsep(&rest, " ");
	if (!id_s || !rest)
		return -EINVAL;
	ret = kstrtou64(id_s, 0, &id);
	if (ret)
		return ret;
	ret = kstrtos64(strim(rest), 0, &ts);
	if (ret)
		return ret;
	for (i = 0; i < sim_board.ndev; i++) {
		if (!sim_registered[i] || !sim_dummies[i] || strcmp(sim_board.dev[i]->name, name))
			continue;
		return iio_push_event(sim_dummies[i]->indio, id, ts);
	}
	return -ENODEV;
}

static const struct kernel_param_ops sim_push_event_ops = {
	.set = sim_push_event_set,
};

module_param_cb(push_event, &sim_push_event_ops, NULL, 0200);
MODULE_PARM_DESC(push_event, "write \"NAME ID TIMESTAMP\" to push an event on that device's event interface");

/*
 * dma_error="NAME RESIDUE" makes the next transfer of that DMA device to complete fail with RESIDUE bytes not
 * moved, as the simulator's Dma.injectError(residue) (scenario fault dmaError): industrialio-buffer-dmaengine
 * subtracts the residue and ignores the failure (DMAQ-6). On sim-dmaengine (extra=dmaengine) the controller
 * reports it as DMA_TRANS_ABORTED through callback_result; on the board's converters our own completion
 * does what iio_dmaengine_buffer_block_done() does. Not a DMA device (or not registered): -ENODEV.
 */
static int sim_dma_error_set(const char *val, const struct kernel_param *kp)
{
	char buf[SIM_MAX_NAME + 24];
	char *rest = buf, *name;
	struct sim_conv *c = NULL;
	u64 residue;
	u32 i;
	int ret;

	if (strscpy(buf, val, sizeof(buf)) < 0)
		return -EINVAL;
	name = strsep(&rest, " ");
	if (!rest)
		return -EINVAL;
	ret = kstrtou64(strim(rest), 0, &residue);
	if (ret)
		return ret;
	for (i = 0; i < sim_board.ndev && !c; i++)
		if (sim_registered[i] && sim_convs[i] && !strcmp(sim_board.dev[i]->name, name))
			c = sim_convs[i];
	if (!c)
		c = sim_dmac_conv(name);
	if (!c)
		return -ENODEV;
	sim_engine_lock();
	sim_engine_catch_up();
	sim_dma_inject_error(c, residue);
	sim_engine_unlock();
	return 0;
}

static const struct kernel_param_ops sim_dma_error_ops = {
	.set = sim_dma_error_set,
};

module_param_cb(dma_error, &sim_dma_error_ops, NULL, 0200);
MODULE_PARM_DESC(dma_error, "write \"NAME RESIDUE\" to make that DMA device's next transfer to complete fail with RESIDUE bytes left");

static void sim_teardown(void)
{
	bool leaked = false;
	int i;

	sim_extra_remove_all();
	for (i = SIM_MAX_DEVICES - 1; i >= 0; i--) {
		if (!sim_registered[i])
			continue;
		if (sim_convs[i])
			sim_conv_unregister(sim_convs[i]);
		else if (sim_dummies[i])
			sim_dummy_unregister(sim_dummies[i]);
		sim_registered[i] = false;
	}
	sim_engine_remove_all();
	sim_engine_stop();
	for (i = SIM_MAX_DEVICES - 1; i >= 0; i--) {
		if (sim_convs[i]) {
			if (sim_debug)
				pr_info("%s: %llu transfers, %llu bytes done, %llu aborted, %llu cyclic, %llu gap bytes (%llu scans)\n",
					sim_convs[i]->cfg->name, sim_convs[i]->transfers,
					sim_convs[i]->bytes_done, sim_convs[i]->bytes_aborted,
					sim_convs[i]->bytes_cyclic, sim_convs[i]->gap_bytes,
					sim_convs[i]->gap_scans);
			leaked |= sim_conv_destroy(sim_convs[i]);
		}
		if (sim_dummies[i])
			sim_dummy_destroy(sim_dummies[i]);
		sim_convs[i] = NULL;
		sim_dummies[i] = NULL;
	}
	if (sim_pdev) {
		/* a leaked buffer may still map or allocate through the DMA device: keep it then */
		if (!leaked)
			platform_device_unregister(sim_pdev);
		sim_pdev = NULL;
	}
	sim_free_board(&sim_board);
}

static int __init sim_iio_init(void)
{
	struct platform_device_info info = {
		.name = "sim-iio",
		.id = PLATFORM_DEVID_AUTO,
		.dma_mask = DMA_BIT_MASK(64),
	};
	u32 i;
	int ret;

	ret = sim_parse_board(sim_devices_text ?: sim_default_devices, &sim_board);
	if (ret) {
		pr_err("the board cannot be built (%d); not loading\n", ret);
		return ret;
	}

	sim_pdev = platform_device_register_full(&info);
	if (IS_ERR(sim_pdev)) {
		ret = PTR_ERR(sim_pdev);
		sim_pdev = NULL;
		goto fail;
	}
	ret = sim_engine_start();
	if (ret)
		goto fail;

	/* allocate every device first, so that iio:deviceN follows the list order */
	for (i = 0; i < sim_board.ndev; i++) {
		const struct sim_dev_cfg *cfg = sim_board.dev[i];

		if (cfg->kind == SIM_DUMMY) {
			struct sim_dummy *d = sim_dummy_create(cfg, &sim_pdev->dev);

			if (IS_ERR(d)) {
				ret = PTR_ERR(d);
				goto fail;
			}
			sim_dummies[i] = d;
		} else {
			struct sim_conv *c = sim_conv_create(cfg, &sim_pdev->dev, false);

			if (IS_ERR(c)) {
				ret = PTR_ERR(c);
				goto fail;
			}
			sim_convs[i] = c;
		}
	}
	for (i = 0; i < sim_board.ndev; i++) {
		int src = sim_board.dev[i]->loopback_idx;

		if (sim_convs[i] && src >= 0 && sim_convs[src]) {
			sim_convs[i]->loop_src = sim_convs[src];
			sim_convs[src]->record = true;
		}
	}
	for (i = 0; i < sim_board.ndev; i++) {
		if (sim_convs[i])
			ret = sim_conv_register(sim_convs[i]);
		else
			ret = sim_dummy_register(sim_dummies[i]);
		if (ret) {
			pr_err("registering %s failed (%d)\n", sim_board.dev[i]->name, ret);
			goto fail;
		}
		sim_registered[i] = true;
	}
	ret = sim_extra_register_all(&sim_pdev->dev);
	if (ret)
		goto fail;
	pr_info("%u device(s) registered\n", sim_board.ndev);
	return 0;

fail:
	sim_teardown();
	return ret;
}

static void __exit sim_iio_exit(void)
{
	sim_teardown();
}

module_init(sim_iio_init);
module_exit(sim_iio_exit);

MODULE_DESCRIPTION("IIO devices mirroring the iio-dmabuf-sim simulator's board");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("IIO_DMA_BUFFER");
MODULE_IMPORT_NS("IIO_DMAENGINE_BUFFER");
