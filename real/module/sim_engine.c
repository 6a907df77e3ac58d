// SPDX-License-Identifier: GPL-2.0
/*
 * sim_iio: the simulated hardware, as one discrete-event engine driven by the monotonic clock.
 *
 * Every converter behaves as the simulator's src/hw/dma.ts + src/hw/converter.ts: a DMA channel
 * moves descriptors between memory and a converter that produces (ADC) or consumes (DAC) a byte
 * stream paced by its sample clock (scan k of a run is complete at t0 + floor((k + 1) * 1e9 /
 * rate)). A transfer that starts while the channel is idle begins at the next scan the converter
 * has not produced yet (the scans in between are lost: overflow/underflow); one queued behind a
 * running transfer continues at the very next stream byte. A transfer ends when the scan holding
 * its last byte is complete, its completion is reported after the IRQ latency, and a cyclic one
 * repeats until terminated or until a queued descriptor ends it at a pass boundary.
 *
 * Events (transfer ends, IRQs, the dummy's trigger) are processed in time order, each at its own
 * scheduled time, by a kernel thread that sleeps until the next one. Every call from the IIO side
 * (submit, abort, converter start/stop, trigger state) first catches the engine up to the current
 * time under the engine mutex and then acts at that time, so the outcome does not depend on when
 * the thread happened to run. All work happens in process context: filling a block, copying DAC
 * data and signalling completions may take time and sleep.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/scatterlist.h>
#include <linux/mm.h>
#include <linux/highmem.h>
#include <linux/pfn.h>

#include "sim_iio.h"

/* A descriptor on a channel (dma_async_tx_descriptor). */
struct sim_desc {
	struct list_head node;
	struct iio_dma_buffer_block *block;	/* sim_conv.c's own submit, or */
	struct sim_xfer *xfer;			/* a descriptor of the dmaengine provider */
	u64 len;
	u64 residue;		/* bytes not moved: an injected controller error */
	bool failed;
	bool cyclic;
	u64 start;		/* stream byte where it started */
	bool has_end;		/* end_time is scheduled */
	bool pass_end;		/* the end event is the end of a cyclic pass */
	s64 end_time;
	u64 pass_bytes;
	s64 irq_time;
};

/* DAC output history, for loopback (Dac.runs in converter.ts). */
struct sim_dac_seg {
	struct list_head node;
	u64 start;
	u64 end;		/* U64_MAX while a cyclic segment repeats */
	u64 len;
	u8 *bytes;
};

struct sim_dac_run {
	struct list_head node;
	s64 t0;
	u32 rate;
	struct sim_layout layout;
	u64 end;		/* stream byte at stop, U64_MAX while running */
	struct list_head segs;
	struct sim_dac_seg *open;
};

static DEFINE_MUTEX(sim_mutex);
static LIST_HEAD(sim_conv_list);
static LIST_HEAD(sim_dummy_list);
static struct task_struct *sim_task;
static atomic_t sim_kicked = ATOMIC_INIT(0);
static s64 sim_now;
/* CLOCK_MONOTONIC at the engine's start: the devices' time equals it there, then runs timescale times slower. */
static s64 sim_epoch;

/* The devices' time that corresponds to CLOCK_MONOTONIC `real`. */
static s64 sim_engine_time_of(s64 real)
{
	return sim_epoch + div_s64(real - sim_epoch, sim_timescale);
}

/* CLOCK_MONOTONIC when the devices' time reaches `t`. */
static s64 sim_real_time_of(s64 t)
{
	if (t - sim_epoch > div_s64(KTIME_MAX - sim_epoch, sim_timescale))
		return KTIME_MAX;
	return sim_epoch + (t - sim_epoch) * (s64)sim_timescale;
}

/*
 * The devices' time now, without processing anything: the real-time clock slowed down by timescale,
 * or the manual clock.
 */
s64 sim_engine_clock(void)
{
	return sim_manual_clock ? READ_ONCE(sim_now) : sim_engine_time_of(ktime_get_ns());
}

void sim_engine_lock(void)
{
	mutex_lock(&sim_mutex);
}

void sim_engine_unlock(void)
{
	mutex_unlock(&sim_mutex);
}

/* Tells the thread that the next event may have changed. */
void sim_engine_kick(void)
{
	atomic_set(&sim_kicked, 1);
	if (sim_task)
		wake_up_process(sim_task);
}

void sim_engine_add_conv(struct sim_conv *c)
{
	mutex_lock(&sim_mutex);
	list_add_tail(&c->node, &sim_conv_list);
	mutex_unlock(&sim_mutex);
}

void sim_engine_remove_conv(struct sim_conv *c)
{
	mutex_lock(&sim_mutex);
	list_del_init(&c->node);
	mutex_unlock(&sim_mutex);
}

void sim_engine_add_dummy(struct sim_dummy *d)
{
	mutex_lock(&sim_mutex);
	list_add_tail(&d->node, &sim_dummy_list);
	mutex_unlock(&sim_mutex);
}

void sim_engine_remove_all(void)
{
	struct sim_conv *c, *ct;
	struct sim_dummy *d, *dt;

	mutex_lock(&sim_mutex);
	list_for_each_entry_safe(c, ct, &sim_conv_list, node)
		list_del_init(&c->node);
	list_for_each_entry_safe(d, dt, &sim_dummy_list, node)
		list_del_init(&d->node);
	mutex_unlock(&sim_mutex);
}

/* ---- memory of a block: fileio blocks have vaddr, DMABUF blocks a DMA-mapped sg_table ---- */

/*
 * The "device" side of a transfer reaches memory through the DMA addresses of the mapped table, as
 * a controller would (the CPU page links of an importer's table are not usable: with
 * CONFIG_DMABUF_DEBUG, as in Debian's kernel, dma-buf hands importers a copy without them). The
 * sim-iio platform device uses dma-direct without an IOMMU or a DMA offset, so a DMA address is the
 * physical address of RAM, which is reached through the kernel's page mapping.
 */
struct sim_mem {
	bool sg;
	u8 *lin;
	struct scatterlist *next;	/* next DMA segment */
	unsigned int ents;		/* DMA segments left after `next` */
	const struct sim_vec *vec;	/* or the next vector of a dmaengine descriptor */
	dma_addr_t addr;		/* current position in the current segment */
	size_t seg_left;
	bool bad;
};

static void sim_mem_start(struct sim_mem *m, struct sim_desc *d)
{
	struct iio_dma_buffer_block *block = d->block;

	memset(m, 0, sizeof(*m));
	if (d->xfer) {
		m->sg = true;
		m->vec = d->xfer->vecs;
		m->ents = d->xfer->nvecs;
	} else if (block->sg_table) {
		m->sg = true;
		m->next = block->sg_table->sgl;
		m->ents = block->sg_table->nents;
	} else {
		m->lin = block->vaddr;
	}
}

/* Copies n bytes to (to_mem) or from the block memory at the cursor; returns false past the end. */
static bool sim_mem_xfer(struct sim_mem *m, u8 *buf, size_t n, bool to_mem)
{
	if (!m->sg) {
		if (to_mem)
			memcpy(m->lin, buf, n);
		else
			memcpy(buf, m->lin, n);
		m->lin += n;
		return true;
	}
	while (n) {
		phys_addr_t phys;
		size_t off, k;
		u8 *va;

		if (!m->seg_left) {
			if (!m->ents || (!m->next && !m->vec))
				return false;
			if (m->vec) {
				m->addr = m->vec->addr;
				m->seg_left = m->vec->len;
				m->vec++;
			} else {
				m->addr = sg_dma_address(m->next);
				m->seg_left = sg_dma_len(m->next);
				m->next = sg_next(m->next);
			}
			m->ents--;
			continue;
		}
		phys = (phys_addr_t)m->addr;
		if (!pfn_valid(PHYS_PFN(phys))) {
			if (!m->bad)
				pr_err_ratelimited("DMA address %pad is not RAM\n", &m->addr);
			m->bad = true;
			return false;
		}
		off = offset_in_page(phys);
		k = min3(n, m->seg_left, (size_t)PAGE_SIZE - off);
		va = kmap_local_page(pfn_to_page(PHYS_PFN(phys)));
		if (to_mem)
			memcpy(va + off, buf, k);
		else
			memcpy(buf, va + off, k);
		kunmap_local(va);
		m->addr += k;
		m->seg_left -= k;
		buf += k;
		n -= k;
	}
	return true;
}

/* ---- DAC history and loopback ---- */

/* Raw code DAC channel ch outputs at time t (Dac.valueAt()); false when stopped or starved then. */
static bool sim_dac_value_at(struct sim_conv *dac, u32 ch, s64 t, s64 *val)
{
	struct sim_dac_run *run;

	list_for_each_entry_reverse(run, &dac->runs, node) {
		const struct sim_field *f = NULL;
		struct sim_dac_seg *seg;
		u32 bpd = run->layout.bpd;
		u64 scan, byte;
		u32 j;

		if (t < run->t0)
			continue;
		scan = sim_scans_by(run->t0, run->rate, t);
		if (run->end != U64_MAX && scan >= div_u64(run->end, bpd))
			return false;
		byte = scan * bpd;
		for (j = 0; j < run->layout.nfields; j++) {
			if (run->layout.f[j].chan == ch) {
				f = &run->layout.f[j];
				break;
			}
		}
		if (!f)
			return false;
		list_for_each_entry_reverse(seg, &run->segs, node) {
			u64 rel;

			if (byte < seg->start || byte + bpd > seg->end)
				continue;
			div64_u64_rem(byte - seg->start, seg->len, &rel);
			if (rel + bpd > seg->len)
				return false;
			*val = sim_decode(seg->bytes + rel + f->offset, f->st);
			return true;
		}
		return false;
	}
	return false;
}

static void sim_dac_free_run(struct sim_dac_run *run)
{
	struct sim_dac_seg *seg, *st;

	list_for_each_entry_safe(seg, st, &run->segs, node) {
		list_del(&seg->node);
		kvfree(seg->bytes);
		kfree(seg);
	}
	list_del(&run->node);
	kfree(run);
}

/*
 * Drops the history no loopback ADC can ask about any more: every future question is about a time
 * at or after the horizon (the first scan of an ADC's running transfer, or now).
 */
static void sim_dac_prune(struct sim_conv *dac)
{
	struct sim_dac_run *run, *rt, *keep = NULL;
	struct sim_dac_seg *seg, *st;
	struct sim_conv *adc;
	s64 horizon = sim_now;
	u64 s;

	list_for_each_entry(adc, &sim_conv_list, node) {
		u64 from;
		s64 t;

		if (adc->loop_src != dac || !adc->running || !adc->pos_valid || !adc->layout.bpd)
			continue;
		from = adc->active ? min(adc->active->start, adc->pos) : adc->pos;
		t = sim_scan_time(adc->t0, adc->run_rate, div_u64(from, adc->layout.bpd));
		horizon = min(horizon, t);
	}
	list_for_each_entry(run, &dac->runs, node)
		if (run->t0 <= horizon)
			keep = run;
	if (!keep)
		return;
	list_for_each_entry_safe(run, rt, &dac->runs, node) {
		if (run == keep)
			break;
		if (run == dac->cur_run)
			dac->cur_run = NULL;
		sim_dac_free_run(run);
	}
	s = sim_scans_by(keep->t0, keep->rate, horizon);
	list_for_each_entry_safe(seg, st, &keep->segs, node) {
		if (seg->end == U64_MAX || seg->end >= (s + 1) * keep->layout.bpd)
			continue;
		if (keep->open == seg)
			keep->open = NULL;
		list_del(&seg->node);
		kvfree(seg->bytes);
		kfree(seg);
	}
}

/*
 * The DAC starts playing a descriptor (beginPlay: the bytes are copied when the transfer starts).
 */
static void sim_dac_begin_play(struct sim_conv *c, struct sim_desc *d)
{
	struct sim_dac_run *run = c->cur_run;
	struct sim_dac_seg *seg;
	struct sim_mem m;

	if (!c->record || !run)
		return;
	seg = kzalloc(sizeof(*seg), GFP_KERNEL);
	if (seg)
		seg->bytes = kvmalloc(d->len, GFP_KERNEL);
	if (!seg || !seg->bytes) {
		kfree(seg);
		pr_warn_ratelimited("%s: no memory to record DAC output for loopback\n", c->cfg->name);
		run->open = NULL;
		return;
	}
	sim_mem_start(&m, d);
	if (!sim_mem_xfer(&m, seg->bytes, d->len, false))
		pr_warn_ratelimited("%s: descriptor longer than its memory\n", c->cfg->name);
	seg->start = d->start;
	seg->end = d->cyclic ? U64_MAX : d->start + d->len;
	seg->len = d->len;
	list_add_tail(&seg->node, &run->segs);
	run->open = seg;
	sim_dac_prune(c);
}

static void sim_dac_end_play(struct sim_conv *c, u64 stream_byte)
{
	if (c->cur_run && c->cur_run->open) {
		c->cur_run->open->end = stream_byte;
		c->cur_run->open = NULL;
	}
}

void sim_dma_free_history(struct sim_conv *c)
{
	struct sim_dac_run *run, *rt;

	list_for_each_entry_safe(run, rt, &c->runs, node)
		sim_dac_free_run(run);
	c->cur_run = NULL;
}

/* ---- ADC data ---- */

static s64 sim_adc_sample(struct sim_conv *c, u32 ch, u64 n)
{
	struct sim_conv *src = c->loop_src;
	s64 v;

	if (src && ch < src->cfg->nch) {
		if (sim_dac_value_at(src, ch, sim_scan_time(c->t0, c->run_rate, n), &v))
			return v;
		return 0;
	}
	return sim_signal_sample(&c->cfg->ch[ch].sig, n);
}

/*
 * The code a direct read (`in_<channel>_raw`) of ADC channel ch sees at time t, converter running or
 * not (Adc.directSample()): the looped-back DAC output at t (0 when silent), else the signal's sample
 * at index sim_scans_by(0, rate, t). Called with the engine lock held.
 */
s64 sim_adc_direct_sample(struct sim_conv *c, u32 ch, s64 t)
{
	struct sim_conv *src = c->loop_src;
	s64 v;

	if (src && ch < src->cfg->nch)
		return sim_dac_value_at(src, ch, t, &v) ? v : 0;
	return sim_signal_sample(&c->cfg->ch[ch].sig, sim_scans_by(0, READ_ONCE(c->rate), t));
}

static void sim_adc_scan(struct sim_conv *c, u64 n, u8 *out)
{
	s64 vals[SIM_MAX_CHANNELS + 1];
	u32 j;

	for (j = 0; j < c->layout.nfields; j++)
		vals[j] = sim_adc_sample(c, c->layout.f[j].chan, n);
	sim_write_scan(out, &c->layout, vals);
}

#define SIM_CHUNK	4096

/* `count` scans from sample `first` into out: fields fed by loopback scan by scan, others field by field. */
static void sim_adc_scans(struct sim_conv *c, u64 first, u32 count, u8 *out)
{
	const struct sim_layout *l = &c->layout;
	u32 bpd = l->bpd, covered = 0, i, j;
	bool loop = false;

	for (j = 0; j < l->nfields; j++) {
		covered += (l->f[j].st->storagebits / 8) * max_t(u32, l->f[j].st->repeat, 1);
		if (c->loop_src && l->f[j].chan < c->loop_src->cfg->nch)
			loop = true;
	}
	if (loop) {
		for (i = 0; i < count; i++)
			sim_adc_scan(c, first + i, out + i * bpd);
		return;
	}
	if (covered != bpd)
		memset(out, 0, (size_t)count * bpd);	/* padding and unused repeat slots */
	for (j = 0; j < l->nfields; j++)
		sim_fill_field(out + l->f[j].offset, bpd, count, &c->cfg->ch[l->f[j].chan].sig, first,
			       l->f[j].st);
}

/*
 * Writes stream bytes [start, start + n) into the block memory from its first byte (Adc.fill()), whole
 * scans at a time into a chunk that is then copied out.
 */
static void sim_adc_fill(struct sim_conv *c, struct sim_desc *d, u64 start, u64 n)
{
	u32 bpd = c->layout.bpd;
	u32 per_chunk = max_t(u32, 1, SIM_CHUNK / bpd);
	struct sim_mem m;
	u64 scan;
	u32 head;

	scan = div_u64_rem(start, bpd, &head);
	sim_mem_start(&m, d);
	while (n) {
		u32 k, scans = min_t(u64, per_chunk, div64_u64(head + n + bpd - 1, bpd));

		sim_adc_scans(c, scan, scans, c->chunk);
		k = min_t(u64, scans * bpd - head, n);
		if (!sim_mem_xfer(&m, c->chunk + head, k, true))
			break;
		n -= k;
		head = 0;
		scan += scans;
		cond_resched();
	}
	if (c->loop_src)
		sim_dac_prune(c->loop_src);
}

/* ---- the channel (dma.ts) ---- */

static u64 sim_stream_now(struct sim_conv *c)
{
	return sim_scans_by(c->t0, c->run_rate, sim_now) * c->layout.bpd;
}

/* Stream bytes that passed with no transfer active: ADC overflow, DAC underflow. */
static void sim_count_gap(struct sim_conv *c, u64 upto)
{
	u32 bpd = c->layout.bpd;

	if (upto <= c->pos)
		return;
	c->gap_bytes += upto - c->pos;
	c->gap_scans += div_u64(upto + bpd - 1, bpd) - div_u64(c->pos, bpd);
	c->pos = upto;
}

/* Moves the data of a transfer that ends after `bytes` bytes of the stream. */
static void sim_finish(struct sim_conv *c, struct sim_desc *a, u64 bytes)
{
	if (c->cfg->kind == SIM_ADC) {
		if (bytes)
			sim_adc_fill(c, a, a->start, min(bytes, a->len));
	} else {
		sim_dac_end_play(c, a->start + bytes);
	}
}

/*
 * A cyclic transfer runs pass after pass; once a descriptor waits behind it, the current pass gets
 * an end event so that the channel switches at the pass boundary (DMA_PREP_LOAD_EOT, rule CYC-4).
 */
static void sim_schedule_pass_end(struct sim_conv *c, struct sim_desc *a)
{
	u32 bpd = c->layout.bpd;
	u64 snow, passes, pass_end;

	if (list_empty(&c->ctl_queue))
		return;
	snow = sim_stream_now(c);
	passes = (snow > a->start ? div64_u64(snow - a->start, a->len) : 0) + 1;
	pass_end = a->start + passes * a->len;
	a->end_time = max(sim_now, sim_scan_time(c->t0, c->run_rate, div_u64(pass_end - 1, bpd)));
	a->pass_bytes = passes * a->len;
	a->pass_end = true;
	a->has_end = true;
}

/* Starts the next queued descriptor; `chained`: the previous transfer just ended at c->pos. */
static void sim_start_next(struct sim_conv *c, bool chained)
{
	struct sim_desc *d = list_first_entry_or_null(&c->ctl_queue, struct sim_desc, node);
	u32 bpd = c->layout.bpd;
	u64 start;

	if (!d || !c->running || !c->pos_valid)
		return;
	list_del(&d->node);
	start = chained ? c->pos : max(c->pos, sim_stream_now(c));
	sim_count_gap(c, start);
	d->start = start;
	d->has_end = false;
	d->pass_end = false;
	c->active = d;
	if (c->cfg->kind == SIM_DAC)
		sim_dac_begin_play(c, d);
	if (d->cyclic) {
		sim_schedule_pass_end(c, d);
		return;
	}
	d->end_time = max(sim_now, sim_scan_time(c->t0, c->run_rate,
						   div64_u64(start + d->len - 1, bpd)));
	d->has_end = true;
}

/* Cuts the running transfer where the converter is now: no completion. */
static void sim_abort_active(struct sim_conv *c)
{
	struct sim_desc *a = c->active;
	u64 done = 0;

	if (!a)
		return;
	if (c->running && c->pos_valid) {
		u64 snow = sim_stream_now(c);
		u64 progressed = snow > a->start ? snow - a->start : 0;

		done = a->cyclic ? progressed : min(a->len, progressed);
	}
	sim_finish(c, a, done);
	if (a->cyclic)
		c->bytes_cyclic += done;
	else
		c->bytes_aborted += done;
	c->active = NULL;
	if (c->pos_valid)
		c->pos = a->start + done;
	kfree(a);
}

/* Queues `d` on the channel and starts it if the channel is free (dmaengine_submit + issue_pending). */
static void sim_dma_queue(struct sim_conv *c, struct sim_desc *d)
{
	list_add_tail(&d->node, &c->ctl_queue);
	if (!c->active)
		sim_start_next(c, false);
	else if (c->active->cyclic && !c->active->has_end)
		sim_schedule_pass_end(c, c->active);
	sim_engine_kick();
}

/* A prepared descriptor over `block`, `len` bytes (sim_conv.c's own submit). */
int sim_dma_submit(struct sim_conv *c, struct iio_dma_buffer_block *block, u64 len)
{
	struct sim_desc *d = kzalloc(sizeof(*d), GFP_KERNEL);

	if (!d)
		return -ENOMEM;
	d->block = block;
	d->len = len;
	d->cyclic = block->cyclic;
	sim_dma_queue(c, d);
	return 0;
}

/*
 * A descriptor of the dmaengine provider (sim_dmac.c), issued. Its completion calls x->complete() from
 * the engine, with the engine lock held.
 */
int sim_dma_submit_xfer(struct sim_conv *c, struct sim_xfer *x)
{
	struct sim_desc *d = kzalloc(sizeof(*d), GFP_KERNEL);

	if (!d)
		return -ENOMEM;
	d->xfer = x;
	d->len = x->len;
	d->cyclic = x->cyclic;
	sim_dma_queue(c, d);
	return 0;
}

/* dma_error=: the next transfer of `c` to complete fails with `residue` bytes not moved (DMAQ-6). */
void sim_dma_inject_error(struct sim_conv *c, u64 residue)
{
	c->fail_pending = true;
	c->fail_residue = residue;
}

/*
 * dmaengine_terminate_sync: the running transfer is cut, queued ones dropped, no callback runs
 * later.
 */
void sim_dma_terminate(struct sim_conv *c)
{
	struct sim_desc *d, *dt;

	sim_abort_active(c);
	list_for_each_entry_safe(d, dt, &c->irqs, node) {
		list_del(&d->node);
		kfree(d);
	}
	list_for_each_entry_safe(d, dt, &c->ctl_queue, node) {
		list_del(&d->node);
		kfree(d);
	}
	sim_engine_kick();
}

/* The converter starts at the current time with the scan layout of `mask` (postenable). */
void sim_port_start(struct sim_conv *c, const unsigned long *mask)
{
	struct sim_dac_run *run;

	if (c->running)
		return;
	sim_layout_compute(&c->layout, c->cfg->ch, c->cfg->nch, mask, false, NULL, NULL);
	if (c->layout.bpd > c->scan_size) {
		/* cannot happen: a subset of the channels packs into at most the full scan */
		u8 *scan = krealloc(c->scan, c->layout.bpd, GFP_KERNEL);

		if (WARN_ON(!scan))
			return;
		c->scan = scan;
		c->scan_size = c->layout.bpd;
		kfree(c->chunk);
		c->chunk = kmalloc(max_t(u32, SIM_CHUNK, c->layout.bpd), GFP_KERNEL);
		if (WARN_ON(!c->chunk))
			return;
	}
	c->running = true;
	c->t0 = sim_now;
	c->run_rate = c->rate;
	c->pos_valid = true;
	c->pos = 0;
	if (c->cfg->kind == SIM_DAC && c->record) {
		run = kzalloc(sizeof(*run), GFP_KERNEL);
		if (run) {
			run->t0 = c->t0;
			run->rate = c->run_rate;
			run->layout = c->layout;
			run->end = U64_MAX;
			INIT_LIST_HEAD(&run->segs);
			list_add_tail(&run->node, &c->runs);
		}
		c->cur_run = run;
	}
	if (!c->active)
		sim_start_next(c, false);
	sim_engine_kick();
}

/*
 * The converter stops (postdisable): a transfer still running ends there, the gap since the last is
 * counted.
 */
void sim_port_stop(struct sim_conv *c)
{
	if (!c->running)
		return;
	if (c->active)
		sim_abort_active(c);
	if (c->pos_valid)
		sim_count_gap(c, sim_stream_now(c));
	if (c->cur_run) {
		c->cur_run->end = sim_stream_now(c);
		c->cur_run->open = NULL;
		c->cur_run = NULL;
	}
	c->pos_valid = false;
	c->running = false;
	sim_engine_kick();
}

/* ---- events ---- */

static void sim_conv_end_event(struct sim_conv *c)
{
	struct sim_desc *a = c->active;

	if (a->pass_end) {
		sim_finish(c, a, a->pass_bytes);
		c->bytes_cyclic += a->pass_bytes;
		c->active = NULL;
		c->pos = a->start + a->pass_bytes;
		/*
		 * the block stays on the driver's list, ACTIVE, until the buffer is disabled
		 * (CYC-5)
		 */
		kfree(a);
		sim_start_next(c, true);
		return;
	}
	if (c->fail_pending) {
		/* Dma.injectError(): the bytes past len - residue are never moved */
		a->failed = true;
		a->residue = min(a->len, c->fail_residue);
		c->fail_pending = false;
	}
	sim_finish(c, a, a->len - a->residue);
	c->transfers++;
	c->bytes_done += a->len - a->residue;
	a->irq_time = sim_now + (s64)c->cfg->dma_irq_ns;
	list_add_tail(&a->node, &c->irqs);
	c->active = NULL;
	c->pos = a->start + a->len;
	sim_start_next(c, true);
}

static void sim_conv_irq_event(struct sim_conv *c)
{
	struct sim_desc *d = list_first_entry(&c->irqs, struct sim_desc, node);
	struct iio_dma_buffer_block *block = d->block;
	struct sim_xfer *x = d->xfer;
	u64 residue = d->residue;
	bool failed = d->failed;

	list_del(&d->node);
	kfree(d);
	if (x)
		x->complete(x, residue, failed);
	else
		sim_conv_block_done(c, block, residue);
}

enum sim_ev {
	SIM_EV_NONE,
	SIM_EV_END,
	SIM_EV_IRQ,
	SIM_EV_TRIGGER,
};

/*
 * The earliest event. At equal times DAC events come first, then ADC events, then the dummy's: a
 * loopback ADC that completes a transfer at time t sees what the DAC started playing at t.
 */
static s64 sim_next_event(enum sim_ev *kind, void **who)
{
	struct sim_conv *c;
	struct sim_dummy *d;
	s64 best = S64_MAX;
	int best_prio = 3;

	*kind = SIM_EV_NONE;
	list_for_each_entry(c, &sim_conv_list, node) {
		struct sim_desc *irq = list_first_entry_or_null(&c->irqs, struct sim_desc, node);
		int prio = c->cfg->kind == SIM_DAC ? 0 : 1;

		struct sim_desc *a = c->active;

		if (a && a->has_end &&
		    (a->end_time < best || (a->end_time == best && prio < best_prio))) {
			best = a->end_time;
			best_prio = prio;
			*kind = SIM_EV_END;
			*who = c;
		}
		if (irq && (irq->irq_time < best || (irq->irq_time == best && prio < best_prio))) {
			best = irq->irq_time;
			best_prio = prio;
			*kind = SIM_EV_IRQ;
			*who = c;
		}
	}
	list_for_each_entry(d, &sim_dummy_list, node) {
		s64 t;

		if (!d->running)
			continue;
		t = sim_scan_time(d->t0, d->run_rate, d->n);
		if (t < best) {
			best = t;
			best_prio = 2;
			*kind = SIM_EV_TRIGGER;
			*who = d;
		}
	}
	return best;
}

/* Processes every event due at or before `target`, each at its own time. */
static void sim_advance(s64 target)
{
	unsigned int count = 0;

	for (;;) {
		enum sim_ev kind;
		void *who = NULL;
		s64 t = sim_next_event(&kind, &who);

		if (kind == SIM_EV_NONE || t > target)
			break;
		if (t > sim_now)
			sim_now = t;
		switch (kind) {
		case SIM_EV_END:
			sim_conv_end_event(who);
			break;
		case SIM_EV_IRQ:
			sim_conv_irq_event(who);
			break;
		case SIM_EV_TRIGGER:
			sim_dummy_fire(who, t);
			break;
		default:
			break;
		}
		if (!(++count & 0xff))
			cond_resched();
	}
}

/* Processes what is due and moves the engine's time to now; returns now. Engine lock held. */
s64 sim_engine_catch_up(void)
{
	s64 now = sim_engine_clock();

	if (now < sim_now)
		now = sim_now;
	sim_advance(now);
	sim_now = now;
	return now;
}

/*
 * Manual clock: moves the engine's time forward by `ns`, processing every event due on the way, in
 * the caller's context (the writer of advance_ns). -EPERM on the real-time clock.
 */
int sim_engine_advance(u64 ns)
{
	s64 target;

	if (!sim_manual_clock)
		return -EPERM;
	if (ns > S64_MAX / 2)
		return -ERANGE;
	mutex_lock(&sim_mutex);
	/* sim_advance() moves sim_now to each event it processes: the target is fixed first */
	target = sim_now + (s64)ns;
	sim_advance(target);
	sim_now = target;
	mutex_unlock(&sim_mutex);
	return 0;
}

static int sim_thread_fn(void *arg)
{
	while (!kthread_should_stop()) {
		enum sim_ev kind;
		void *who;
		s64 next;

		mutex_lock(&sim_mutex);
		sim_engine_catch_up();
		next = sim_next_event(&kind, &who);
		mutex_unlock(&sim_mutex);

		set_current_state(TASK_INTERRUPTIBLE);
		if (atomic_xchg(&sim_kicked, 0) || kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			continue;
		}
		if (kind == SIM_EV_NONE || sim_manual_clock) {
			/* on the manual clock only advance_ns moves time: nothing to wait for */
			schedule();
		} else {
			ktime_t expires = ns_to_ktime(sim_real_time_of(next));

			schedule_hrtimeout_range(&expires, 0, HRTIMER_MODE_ABS);
		}
	}
	return 0;
}

int sim_engine_start(void)
{
	struct task_struct *t;

	sim_epoch = ktime_get_ns();
	sim_now = sim_epoch;
	t = kthread_run(sim_thread_fn, NULL, "sim_iio");
	if (IS_ERR(t))
		return PTR_ERR(t);
	sched_set_fifo_low(t);
	sim_task = t;
	return 0;
}

void sim_engine_stop(void)
{
	if (sim_task) {
		kthread_stop(sim_task);
		sim_task = NULL;
	}
}
