// SPDX-License-Identifier: GPL-2.0
/*
 * sim_iio: the `devices` module parameter. The grammar is documented in README.md; every refusal is
 * a pr_err() naming what cannot be expressed, and the module then refuses to load (-EINVAL).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/ctype.h>
#include <linux/limits.h>
#include <linux/iio/types.h>

#include "sim_iio.h"

/* The simulator's defaultDevices(). */
const char sim_default_devices[] =
	"adc:sim-adc,rate=1000000,"
	"ch=voltage0@le:s12/16>>0@ramp:1:0,"
	"ch=voltage1@le:s12/16>>0@ramp:1:1024,"
	"ch=voltage2@le:s12/16>>0@ramp:1:2048,"
	"ch=voltage3@le:s12/16>>0@ramp:1:3072;"
	"dac:sim-dac,rate=1000000,"
	"ch=voltage0@le:s16/16>>0,"
	"ch=voltage1@le:s16/16>>0;"
	"dummy:sim-dummy,rate=1000";

#define SIM_MAX_SAFE	((1LL << 53) - 1)

/* Channel type names as the IIO core prints them (include/uapi/linux/iio/types.h order). */
static const struct {
	const char *name;
	int type;
} sim_type_names[] = {
	{ "voltage", IIO_VOLTAGE }, { "current", IIO_CURRENT }, { "power", IIO_POWER },
	{ "accel", IIO_ACCEL }, { "anglvel", IIO_ANGL_VEL }, { "magn", IIO_MAGN },
	{ "illuminance", IIO_LIGHT }, { "intensity", IIO_INTENSITY },
	{ "proximity", IIO_PROXIMITY }, { "temp", IIO_TEMP }, { "incli", IIO_INCLI },
	{ "rot", IIO_ROT }, { "angl", IIO_ANGL }, { "timestamp", IIO_TIMESTAMP },
	{ "capacitance", IIO_CAPACITANCE }, { "altvoltage", IIO_ALTVOLTAGE }, { "cct", IIO_CCT },
	{ "pressure", IIO_PRESSURE }, { "humidityrelative", IIO_HUMIDITYRELATIVE },
	{ "activity", IIO_ACTIVITY }, { "steps", IIO_STEPS }, { "energy", IIO_ENERGY },
	{ "distance", IIO_DISTANCE }, { "velocity", IIO_VELOCITY },
	{ "concentration", IIO_CONCENTRATION }, { "resistance", IIO_RESISTANCE }, { "ph", IIO_PH },
	{ "uvindex", IIO_UVINDEX }, { "electricalconductivity", IIO_ELECTRICALCONDUCTIVITY },
	{ "count", IIO_COUNT }, { "index", IIO_INDEX }, { "gravity", IIO_GRAVITY },
	{ "positionrelative", IIO_POSITIONRELATIVE }, { "phase", IIO_PHASE },
	{ "massconcentration", IIO_MASSCONCENTRATION },
};

/* Modifier names made only of [a-z0-9], the only ones a simulator channel id can carry. */
static const struct {
	const char *name;
	int mod;
} sim_mod_names[] = {
	{ "x", IIO_MOD_X }, { "y", IIO_MOD_Y }, { "z", IIO_MOD_Z },
	{ "both", IIO_MOD_LIGHT_BOTH }, { "ir", IIO_MOD_LIGHT_IR },
	{ "clear", IIO_MOD_LIGHT_CLEAR }, { "red", IIO_MOD_LIGHT_RED },
	{ "green", IIO_MOD_LIGHT_GREEN }, { "blue", IIO_MOD_LIGHT_BLUE },
	{ "uv", IIO_MOD_LIGHT_UV }, { "uva", IIO_MOD_LIGHT_UVA }, { "uvb", IIO_MOD_LIGHT_UVB },
	{ "duv", IIO_MOD_LIGHT_DUV }, { "quaternion", IIO_MOD_QUATERNION },
	{ "ambient", IIO_MOD_TEMP_AMBIENT }, { "object", IIO_MOD_TEMP_OBJECT },
	{ "running", IIO_MOD_RUNNING }, { "jogging", IIO_MOD_JOGGING },
	{ "walking", IIO_MOD_WALKING }, { "still", IIO_MOD_STILL }, { "i", IIO_MOD_I },
	{ "q", IIO_MOD_Q }, { "co2", IIO_MOD_CO2 }, { "voc", IIO_MOD_VOC }, { "pm1", IIO_MOD_PM1 },
	{ "pm2p5", IIO_MOD_PM2P5 }, { "pm4", IIO_MOD_PM4 }, { "pm10", IIO_MOD_PM10 },
	{ "ethanol", IIO_MOD_ETHANOL }, { "h2", IIO_MOD_H2 }, { "o2", IIO_MOD_O2 },
	{ "pitch", IIO_MOD_PITCH }, { "yaw", IIO_MOD_YAW }, { "roll", IIO_MOD_ROLL },
	{ "rms", IIO_MOD_RMS }, { "active", IIO_MOD_ACTIVE }, { "reactive", IIO_MOD_REACTIVE },
	{ "apparent", IIO_MOD_APPARENT }, { "quaternionaxis", IIO_MOD_QUATERNION_AXIS },
};

/* A cursor over the parameter text. */
struct sim_cur {
	const char *p;
	const char *end;
	const char *what;	/* for messages */
};

static bool cur_eat(struct sim_cur *c, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n))
		return false;
	c->p += n;
	return true;
}

/* INT := ["-" | "+"] 1*DIGIT, fitting in s64. */
static int cur_int(struct sim_cur *c, s64 *out)
{
	bool neg = false;
	u64 v = 0;
	const char *start;

	if (c->p < c->end && (*c->p == '-' || *c->p == '+'))
		neg = *c->p++ == '-';
	start = c->p;
	while (c->p < c->end && isdigit(*c->p)) {
		u32 d = *c->p++ - '0';

		if (v > (U64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (c->p == start)
		return -EINVAL;
	if (neg) {
		if (v > (u64)S64_MAX + 1)
			return -ERANGE;
		*out = (s64)(0 - v);
	} else {
		if (v > S64_MAX)
			return -ERANGE;
		*out = (s64)v;
	}
	return 0;
}

static int cur_uint_range(struct sim_cur *c, s64 lo, s64 hi, s64 *out)
{
	int ret = cur_int(c, out);

	if (ret)
		return ret;
	return *out < lo || *out > hi ? -ERANGE : 0;
}

/* A text field up to one of the stop characters (or the end). */
static size_t cur_span(struct sim_cur *c, const char *stops)
{
	const char *q = c->p;

	while (q < c->end && !strchr(stops, *q))
		q++;
	return q - c->p;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* NAME := 1*(ALNUM | "-" | "." | "_" | "~" | "%" HEX HEX), percent-decoded into out. */
static int parse_name(const char *s, size_t n, char *out, size_t outsz)
{
	size_t i, o = 0;

	if (!n)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -EINVAL;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			ch = (char)(hi * 16 + lo);
			if (!ch)
				return -EINVAL;
			i += 2;
		} else if (!isalnum(ch) && !strchr("-._~", ch)) {
			return -EINVAL;
		}
		if (o + 1 >= outsz)
			return -ENAMETOOLONG;
		out[o++] = ch;
	}
	out[o] = '\0';
	return 0;
}

/*
 * TYPE := ("le"|"be") ":" ("s"|"u") INT "/" INT ["X" INT] ">>" INT, checked as parseScanType()
 * does.
 */
static int parse_scan_type(struct sim_cur *c, struct sim_scan_type *st, const char *dev,
			   const char *ch)
{
	s64 realbits, storagebits, shift, repeat = 1;

	if (cur_eat(c, "le"))
		st->big_endian = false;
	else if (cur_eat(c, "be"))
		st->big_endian = true;
	else
		goto bad;
	if (!cur_eat(c, ":"))
		goto bad;
	if (cur_eat(c, "s"))
		st->is_signed = true;
	else if (cur_eat(c, "u"))
		st->is_signed = false;
	else
		goto bad;
	if (c->p < c->end && !isdigit(*c->p))
		goto bad;
	if (cur_int(c, &realbits) || !cur_eat(c, "/"))
		goto bad;
	if (c->p < c->end && !isdigit(*c->p))
		goto bad;
	if (cur_int(c, &storagebits))
		goto bad;
	if (cur_eat(c, "X")) {
		if (c->p < c->end && !isdigit(*c->p))
			goto bad;
		if (cur_int(c, &repeat))
			goto bad;
	}
	if (!cur_eat(c, ">>"))
		goto bad;
	if (c->p < c->end && !isdigit(*c->p))
		goto bad;
	if (cur_int(c, &shift))
		goto bad;
	if (storagebits != 8 && storagebits != 16 && storagebits != 32 && storagebits != 64) {
		pr_err("device '%s' channel '%s': storagebits must be 8, 16, 32 or 64\n", dev, ch);
		return -EINVAL;
	}
	if (realbits < 1 || shift < 0 || realbits + shift > storagebits) {
		pr_err("device '%s' channel '%s': realbits + shift must fit in storagebits\n", dev, ch);
		return -EINVAL;
	}
	if (repeat < 1 || repeat > 255) {
		pr_err("device '%s' channel '%s': repeat %lld is not expressible (1..255)\n", dev, ch,
		       repeat);
		return -EOPNOTSUPP;
	}
	st->realbits = realbits;
	st->storagebits = storagebits;
	st->shift = shift;
	st->repeat = repeat;
	return 0;
bad:
	pr_err("device '%s' channel '%s': scan type is not of the form le:s12/16>>0\n", dev, ch);
	return -EINVAL;
}

/*
 * SIGNAL := "ramp:" INT ":" INT | "const:" INT | "square:" INT ":" INT ":" INT ":" INT
 *         | "noise:" INT ":" INT ":" INT | "samples:" ("0"|"1") 1*(":" INT)
 */
static int parse_signal(struct sim_cur *c, struct sim_signal *sig, const char *dev, const char *ch)
{
	size_t n = cur_span(c, ":,;");
	int ret = 0;

	memset(sig, 0, sizeof(*sig));
	if (n == 4 && !memcmp(c->p, "ramp", 4)) {
		c->p += 4;
		sig->kind = SIM_SIG_RAMP;
		if (!cur_eat(c, ":") || cur_int(c, &sig->a) || !cur_eat(c, ":") ||
		    cur_int(c, &sig->b))
			goto bad;
		if (sig->a < -SIM_MAX_SAFE || sig->a > SIM_MAX_SAFE || sig->b < -SIM_MAX_SAFE ||
		    sig->b > SIM_MAX_SAFE) {
			pr_err("device '%s' channel '%s': ramp step and offset must be safe integers\n",
			       dev, ch);
			return -EINVAL;
		}
	} else if (n == 5 && !memcmp(c->p, "const", 5)) {
		c->p += 5;
		sig->kind = SIM_SIG_CONST;
		if (!cur_eat(c, ":") || cur_int(c, &sig->a))
			goto bad;
	} else if (n == 6 && !memcmp(c->p, "square", 6)) {
		c->p += 6;
		sig->kind = SIM_SIG_SQUARE;
		if (!cur_eat(c, ":") || cur_int(c, &sig->a) || !cur_eat(c, ":") ||
		    cur_int(c, &sig->b) || !cur_eat(c, ":") || cur_int(c, &sig->c) ||
		    !cur_eat(c, ":") || cur_int(c, &sig->d))
			goto bad;
		if (sig->c < 1 || sig->c > SIM_MAX_SAFE) {
			pr_err("device '%s' channel '%s': square periodSamples must be >= 1\n", dev, ch);
			return -EINVAL;
		}
		if (sig->d < 0 || sig->d > sig->c) {
			pr_err("device '%s' channel '%s': square high count must be in [0, period]\n",
			       dev, ch);
			return -EINVAL;
		}
	} else if (n == 5 && !memcmp(c->p, "noise", 5)) {
		c->p += 5;
		sig->kind = SIM_SIG_NOISE;
		if (!cur_eat(c, ":") || cur_int(c, &sig->a) || !cur_eat(c, ":") ||
		    cur_int(c, &sig->b) || !cur_eat(c, ":") || cur_int(c, &sig->c))
			goto bad;
		if (sig->a < 0 || sig->a >= (1 << 20)) {
			pr_err("device '%s' channel '%s': noise amplitude %lld is not expressible (0..1048575: the simulator's floating-point scaling is exact only there)\n",
			       dev, ch, sig->a);
			return -EOPNOTSUPP;
		}
		if (sig->c < -SIM_MAX_SAFE || sig->c > SIM_MAX_SAFE || sig->b < -SIM_MAX_SAFE ||
		    sig->b > SIM_MAX_SAFE) {
			pr_err("device '%s' channel '%s': noise seed and offset must be safe integers\n",
			       dev, ch);
			return -EINVAL;
		}
	} else if (n == 7 && !memcmp(c->p, "samples", 7)) {
		const char *save;
		u32 count = 0, i;
		s64 flag;

		c->p += 7;
		sig->kind = SIM_SIG_SAMPLES;
		if (!cur_eat(c, ":") || cur_int(c, &flag) || (flag != 0 && flag != 1))
			goto bad;
		sig->repeat = flag;
		save = c->p;
		while (cur_eat(c, ":")) {
			s64 v;

			if (cur_int(c, &v))
				goto bad;
			count++;
		}
		if (!count) {
			pr_err("device '%s' channel '%s': samples table must not be empty\n", dev, ch);
			return -EINVAL;
		}
		if (count > SIM_MAX_SAMPLES) {
			pr_err("device '%s' channel '%s': samples table of %u values is not expressible (at most %u)\n",
			       dev, ch, count, SIM_MAX_SAMPLES);
			return -EOPNOTSUPP;
		}
		sig->values = kvmalloc_array(count, sizeof(s64), GFP_KERNEL);
		if (!sig->values)
			return -ENOMEM;
		sig->nvalues = count;
		c->p = save;
		for (i = 0; i < count; i++) {
			cur_eat(c, ":");
			ret = cur_int(c, &sig->values[i]);
			if (ret)
				goto bad;
		}
	} else {
		pr_err("device '%s' channel '%s': signal kind '%.*s' is not supported (ramp, const, square, noise, samples); the scenario is not expressible\n",
		       dev, ch, (int)n, c->p);
		return -EOPNOTSUPP;
	}
	return 0;
bad:
	pr_err("device '%s' channel '%s': malformed signal\n", dev, ch);
	return -EINVAL;
}

/* ID := 1*LOWER *DIGIT ["_" 1*(LOWER | DIGIT)], as the simulator's parseChannelId(). */
static int parse_channel_id(const char *s, size_t n, struct sim_chan_cfg *ch, const char *dev)
{
	size_t i = 0, t, d;
	size_t k;

	if (n >= sizeof(ch->id))
		goto bad;
	memcpy(ch->id, s, n);
	ch->id[n] = '\0';
	while (i < n && s[i] >= 'a' && s[i] <= 'z')
		i++;
	t = i;
	if (!t)
		goto bad;
	while (i < n && isdigit(s[i]))
		i++;
	d = i;
	ch->channel = -1;
	ch->modifier = -1;
	if (d > t) {
		s64 v = 0;

		for (k = t; k < d; k++) {
			v = v * 10 + (s[k] - '0');
			if (v > INT_MAX)
				goto bad;
		}
		ch->channel = v;
	}
	if (i < n) {
		if (s[i] != '_' || i + 1 == n)
			goto bad;
		for (k = i + 1; k < n; k++)
			if (!(s[k] >= 'a' && s[k] <= 'z') && !isdigit(s[k]))
				goto bad;
		for (k = 0; k < ARRAY_SIZE(sim_mod_names); k++) {
			if (strlen(sim_mod_names[k].name) == n - i - 1 &&
			    !memcmp(sim_mod_names[k].name, s + i + 1, n - i - 1)) {
				ch->modifier = sim_mod_names[k].mod;
				break;
			}
		}
		if (ch->modifier < 0) {
			pr_err("device '%s' channel '%s': modifier '%s' has no IIO equivalent; not expressible\n",
			       dev, ch->id, ch->id + i + 1);
			return -EOPNOTSUPP;
		}
	}
	for (k = 0; k < ARRAY_SIZE(sim_type_names); k++) {
		if (strlen(sim_type_names[k].name) == t && !memcmp(sim_type_names[k].name, s, t)) {
			ch->iio_type = sim_type_names[k].type;
			return 0;
		}
	}
	pr_err("device '%s' channel '%s': type '%.*s' has no IIO equivalent; not expressible\n", dev,
	       ch->id, (int)t, s);
	return -EOPNOTSUPP;
bad:
	pr_err("device '%s': bad channel id '%.*s': expected a type, an optional index and an optional _modifier\n",
	       dev, (int)n, s);
	return -EINVAL;
}

/* CHANNEL := ID "@" TYPE ["@" SIGNAL] */
static int parse_channel(struct sim_cur *c, struct sim_dev_cfg *d)
{
	struct sim_chan_cfg *ch;
	size_t n;
	int ret;

	if (d->nch >= SIM_MAX_CHANNELS) {
		pr_err("device '%s': more than %d channels are not expressible\n", d->name,
		       SIM_MAX_CHANNELS);
		return -EOPNOTSUPP;
	}
	ch = &d->ch[d->nch];
	n = cur_span(c, "@,;");
	ret = parse_channel_id(c->p, n, ch, d->name);
	if (ret)
		return ret;
	c->p += n;
	if (!cur_eat(c, "@")) {
		pr_err("device '%s' channel '%s': missing @TYPE\n", d->name, ch->id);
		return -EINVAL;
	}
	ret = parse_scan_type(c, &ch->st, d->name, ch->id);
	if (ret)
		return ret;
	d->nch++;	/* from here on the channel owns what it allocates */
	if (cur_eat(c, "@")) {
		ret = parse_signal(c, &ch->sig, d->name, ch->id);
		if (ret)
			return ret;
		ch->has_signal = true;
	}
	if (c->p < c->end && *c->p != ',' && *c->p != ';') {
		pr_err("device '%s' channel '%s': unexpected text after the channel\n", d->name, ch->id);
		return -EINVAL;
	}
	return 0;
}

static int parse_device(struct sim_cur *c, struct sim_dev_cfg *d)
{
	bool have_rate = false;
	size_t n;
	int ret;
	s64 v;

	n = cur_span(c, ":,;");
	if (n == 3 && !memcmp(c->p, "adc", 3))
		d->kind = SIM_ADC;
	else if (n == 3 && !memcmp(c->p, "dac", 3))
		d->kind = SIM_DAC;
	else if (n == 5 && !memcmp(c->p, "dummy", 5))
		d->kind = SIM_DUMMY;
	else {
		pr_err("device kind '%.*s' is not adc, dac or dummy\n", (int)n, c->p);
		return -EINVAL;
	}
	c->p += n;
	if (!cur_eat(c, ":")) {
		pr_err("a device needs KIND:NAME\n");
		return -EINVAL;
	}
	n = cur_span(c, ",;");
	ret = parse_name(c->p, n, d->name, sizeof(d->name));
	if (ret) {
		pr_err("bad device name '%.*s' (1..%d bytes of [A-Za-z0-9._~-] or %%XX)\n", (int)n, c->p,
		       SIM_MAX_NAME - 1);
		return -EINVAL;
	}
	c->p += n;

	/* The simulator's defaults (buildDevices()). */
	d->loopback_idx = -1;
	if (d->kind == SIM_DUMMY) {
		d->rate = 1000;
		d->max_rate = 100000;
	} else {
		d->max_rate = -1;
		d->dma_max_seg = 16 * 1024 * 1024;
		d->dma_align = d->kind == SIM_ADC ? 8 : 4;
		d->dma_irq_ns = 2000;
		d->dma_bw = 1600000000ULL;
	}

	while (cur_eat(c, ",")) {
		size_t k = cur_span(c, "=,;");
		const char *key = c->p;

		c->p += k;
		if (!cur_eat(c, "=")) {
			pr_err("device '%s': property '%.*s' needs =VALUE\n", d->name, (int)k, key);
			return -EINVAL;
		}
#define KEY(s) (k == strlen(s) && !memcmp(key, s, k))
		if (KEY("rate")) {
			ret = cur_uint_range(c, 1, S64_MAX, &v);
			d->rate = v;
			have_rate = true;
		} else if (KEY("max_rate")) {
			ret = cur_uint_range(c, 1, S64_MAX, &v);
			d->max_rate = v;
		} else if (d->kind != SIM_DUMMY && KEY("ch")) {
			ret = parse_channel(c, d);
			if (ret)
				return ret;
		} else if (d->kind != SIM_DUMMY && KEY("dma_max_seg")) {
			ret = cur_uint_range(c, 1, S64_MAX, &v);
			d->dma_max_seg = v;
		} else if (d->kind != SIM_DUMMY && KEY("dma_align")) {
			ret = cur_uint_range(c, 1, 1 << 20, &v);
			d->dma_align = v;
		} else if (d->kind != SIM_DUMMY && KEY("dma_irq_ns")) {
			ret = cur_uint_range(c, 0, 10LL * NSEC_PER_SEC * 3600, &v);
			d->dma_irq_ns = v;
		} else if (d->kind != SIM_DUMMY && KEY("dma_bw")) {
			ret = cur_uint_range(c, 1, S64_MAX, &v);
			d->dma_bw = v;
		} else if (d->kind == SIM_ADC && KEY("loopback")) {
			n = cur_span(c, ",;");
			ret = parse_name(c->p, n, d->loopback, sizeof(d->loopback));
			c->p += n;
		} else {
			pr_err("device '%s': unknown property '%.*s' for a %s\n", d->name, (int)k, key,
			       d->kind == SIM_ADC ? "adc" : d->kind == SIM_DAC ? "dac" : "dummy");
			return -EINVAL;
		}
#undef KEY
		if (ret) {
			pr_err("device '%s': bad value of '%.*s'\n", d->name, (int)k, key);
			return -EINVAL;
		}
		if (c->p < c->end && *c->p != ',' && *c->p != ';') {
			pr_err("device '%s': unexpected text after '%.*s'\n", d->name, (int)k, key);
			return -EINVAL;
		}
	}
	if (d->kind == SIM_DUMMY) {
		if (d->rate > INT_MAX || d->max_rate > INT_MAX) {
			pr_err("device '%s': rates above %d Hz are not expressible\n", d->name, INT_MAX);
			return -EOPNOTSUPP;
		}
		return 0;
	}
	if (!have_rate) {
		pr_err("device '%s': sampleRateHz must be a positive integer\n", d->name);
		return -EINVAL;
	}
	if (d->rate > INT_MAX) {
		pr_err("device '%s': rates above %d Hz are not expressible\n", d->name, INT_MAX);
		return -EOPNOTSUPP;
	}
	return 0;
}

static void sim_free_dev(struct sim_dev_cfg *d)
{
	u32 i;

	if (!d)
		return;
	for (i = 0; i < d->nch; i++)
		kvfree(d->ch[i].sig.values);
	kfree(d);
}

void sim_free_board(struct sim_board *board)
{
	u32 i;

	for (i = 0; i < board->ndev; i++)
		sim_free_dev(board->dev[i]);
	board->ndev = 0;
}

/* The simulator's buildDevices() checks, then signal binding. */
static int sim_check_board(struct sim_board *b)
{
	u32 i, j, k;

	for (i = 0; i < b->ndev; i++) {
		struct sim_dev_cfg *d = b->dev[i];
		u64 scan_bytes = 0;

		for (j = 0; j < i; j++) {
			if (!strcmp(b->dev[j]->name, d->name)) {
				pr_err("device name '%s' is used twice\n", d->name);
				return -EINVAL;
			}
		}
		if (d->kind == SIM_DUMMY)
			continue;
		if (!d->nch) {
			pr_err("device '%s': at least one channel is needed\n", d->name);
			return -EINVAL;
		}
		if (d->max_rate < 0)
			d->max_rate = max_t(s64, d->rate, NSEC_PER_SEC / 8);
		for (k = 0; k < d->nch; k++)
			scan_bytes += d->ch[k].st.storagebits / 8;
		if (d->max_rate > 0 && scan_bytes > div64_u64(U64_MAX, d->max_rate)) {
			pr_err("device '%s': data rate exceeds the DMA bandwidth\n", d->name);
			return -EINVAL;
		}
		if (scan_bytes * d->max_rate > d->dma_bw) {
			pr_err("device '%s': %llu bytes/s at %lld Hz exceeds the DMA bandwidth of %llu bytes/s\n",
			       d->name, scan_bytes * d->max_rate, d->max_rate, d->dma_bw);
			return -EINVAL;
		}
		for (k = 0; k < d->nch; k++) {
			struct sim_chan_cfg *ch = &d->ch[k];

			if (d->kind != SIM_ADC)
				continue;	/* a DAC channel's signal is ignored */
			if (ch->st.realbits > 53) {
				pr_err("device '%s' channel '%s': realbits must be an integer in 1..53 for an ADC signal\n",
				       d->name, ch->id);
				return -EINVAL;
			}
			if (!ch->has_signal) {
				/* defaultAdcSignal(i): a ramp of step 1 starting at 1024 * i */
				memset(&ch->sig, 0, sizeof(ch->sig));
				ch->sig.kind = SIM_SIG_RAMP;
				ch->sig.a = 1;
				ch->sig.b = 1024LL * k;
				ch->has_signal = true;
			}
			sim_signal_bind(&ch->sig, &ch->st);
		}
	}
	for (i = 0; i < b->ndev; i++) {
		struct sim_dev_cfg *d = b->dev[i];

		if (d->kind != SIM_ADC || !d->loopback[0])
			continue;
		for (j = 0; j < b->ndev; j++)
			if (!strcmp(b->dev[j]->name, d->loopback))
				break;
		if (j == b->ndev || b->dev[j]->kind != SIM_DAC) {
			pr_err("device '%s': loopbackFrom '%s' is not a DAC\n", d->name, d->loopback);
			return -EINVAL;
		}
		d->loopback_idx = j;
	}
	return 0;
}

/* devices := device *(";" device); the empty string is a board without devices. */
int sim_parse_board(const char *text, struct sim_board *board)
{
	struct sim_cur c = { .p = text, .end = text + strlen(text) };
	int ret;

	memset(board, 0, sizeof(*board));
	/* a trailing newline (sysfs-style writes) is tolerated */
	while (c.end > c.p && (c.end[-1] == '\n' || c.end[-1] == ' '))
		c.end--;
	if (c.p == c.end)
		return 0;
	for (;;) {
		struct sim_dev_cfg *d;

		if (board->ndev >= SIM_MAX_DEVICES) {
			pr_err("more than %d devices are not expressible\n", SIM_MAX_DEVICES);
			ret = -EOPNOTSUPP;
			goto fail;
		}
		d = kzalloc(sizeof(*d), GFP_KERNEL);
		if (!d) {
			ret = -ENOMEM;
			goto fail;
		}
		board->dev[board->ndev++] = d;
		ret = parse_device(&c, d);
		if (ret)
			goto fail;
		if (c.p == c.end)
			break;
		if (!cur_eat(&c, ";")) {
			pr_err("device '%s': expected ';' before the next device, found '%c'\n", d->name,
			       *c.p);
			ret = -EINVAL;
			goto fail;
		}
	}
	ret = sim_check_board(board);
	if (ret)
		goto fail;
	return 0;
fail:
	sim_free_board(board);
	return ret < 0 ? ret : -EINVAL;
}
