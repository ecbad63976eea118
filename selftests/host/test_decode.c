// SPDX-License-Identifier: GPL-2.0
/*
 * Decoder tests against the vectors that gen_vectors wrote and the
 * assembler encoded (vectors.s), plus a random differential run against
 * the reference decoder. Every decode of a vector runs on bytes placed
 * right before a PROT_NONE page, and on an exact-size heap copy (for
 * valgrind), so that reading one byte too many crashes or is reported.
 *
 * Usage: test_decode [-n RANDOM_ITERATIONS] [-s SEED]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "decode.h"
#include "ref_decode.h"
#include "tap.h"
#include "vectors.h"

#define MAX_DIAG 20

static u8 *guard_end;		/* first byte of the PROT_NONE page */
static u64 rng_state = 0x9e3779b97f4a7c15ULL;

static u64 rnd(void)
{
	/* xorshift64*: reproducible, good enough to pick test inputs */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void setup_guard(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	u8 *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + pg, pg, PROT_NONE)) {
		perror("guard page");
		exit(1);
	}
	guard_end = p + pg;
}

/* Copy n bytes so that they end exactly at the guard page. */
static const u8 *at_guard(const u8 *src, unsigned int n)
{
	u8 *p = guard_end - n;

	memcpy(p, src, n);
	return p;
}

/* Decode from the guard position and from an exact heap copy; both must agree. */
static int decode_both(const u8 *src, unsigned int n, struct cg_insn *in)
{
	struct cg_insn h;
	u8 *copy;
	int r1, r2;

	r1 = cg_decode(at_guard(src, n), n, in);
	copy = malloc(n ? n : 1);
	if (!copy)
		abort();
	memcpy(copy, src, n);
	r2 = cg_decode(copy, n, &h);
	free(copy);
	if (r1 != r2 || (!r1 && ref_insn_diff(in, &h))) {
		tap_diag("guard and heap decodes differ (%d, %d)", r1, r2);
		return -1000;
	}
	return r1;
}

static void fmt_bytes(char *out, size_t sz, const u8 *b, unsigned int n)
{
	size_t o = 0;
	unsigned int i;

	out[0] = 0;
	for (i = 0; i < n && o + 4 < sz; i++)
		o += snprintf(out + o, sz - o, "%02x ", b[i]);
}

static const char *field_diff(const struct vec *v, const struct cg_insn *in)
{
	if (in->len != v->len)
		return "len";
	if (in->op != v->op)
		return "op";
	if (in->width != v->width)
		return "width";
	if (in->lock != v->lock)
		return "lock";
	if (in->has_imm != v->has_imm)
		return "has_imm";
	if (in->reg != v->reg)
		return "reg";
	if (in->base != v->base)
		return "base";
	if (in->index != v->index)
		return "index";
	if (in->scale != v->scale)
		return "scale";
	if (in->rip_rel != v->rip_rel)
		return "rip_rel";
	if (in->disp != v->disp)
		return "disp";
	if (in->imm != v->imm)
		return "imm";
	return NULL;
}

static void report(int *shown, const struct vec *v, const char *what)
{
	char hex[64];

	if ((*shown)++ >= MAX_DIAG)
		return;
	fmt_bytes(hex, sizeof(hex), vec_bytes(v), v->len);
	tap_diag("%s: %s [%s]", vec_name(v), what, hex);
}

static void test_positive(void)
{
	unsigned int i, n = 0, bad = 0;
	int shown = 0;

	for (i = 0; i < cg_vec_count; i++) {
		const struct vec *v = &cg_vec[i];
		struct cg_insn in;
		const char *d;
		int r;

		if (!v->valid)
			continue;
		n++;
		r = decode_both(vec_bytes(v), v->len, &in);
		if (r) {
			bad++;
			report(&shown, v, "refused");
			continue;
		}
		d = field_diff(v, &in);
		if (!d && in.len > 13)
			d = "longer than 13 bytes";
		if (d) {
			bad++;
			report(&shown, v, d);
		}
	}
	tap_ok(!bad && n > 40000,
	       "%u assembled positive vectors decode to the expected fields (%u bad)",
	       n, bad);
}

static void test_truncated(void)
{
	unsigned int i, k, n = 0, bad = 0;
	int shown = 0;

	for (i = 0; i < cg_vec_count; i++) {
		const struct vec *v = &cg_vec[i];
		struct cg_insn in;
		int r;

		for (k = 0; k < v->len; k++) {
			r = decode_both(vec_bytes(v), k, &in);
			n++;
			/* A prefix of a valid insn could still become one. */
			if (v->valid ? r != -ENODATA : r >= 0) {
				bad++;
				report(&shown, v, "truncation accepted");
			}
		}
	}
	tap_ok(!bad, "%u truncations of all vectors refused without overreading (%u bad)",
	       n, bad);
}

static void test_trailing(void)
{
	unsigned int i, n = 0, bad = 0;
	int shown = 0, fill;

	for (i = 0; i < cg_vec_count; i++) {
		const struct vec *v = &cg_vec[i];
		struct cg_insn a, b;
		u8 buf[32];

		if (!v->valid)
			continue;
		cg_decode(vec_bytes(v), v->len, &a);
		for (fill = 0; fill < 3; fill++) {
			unsigned int j;

			for (j = 0; j < sizeof(buf); j++)
				buf[j] = fill == 0 ? 0xcc : fill == 1 ? 0 : rnd();
			memcpy(buf, vec_bytes(v), v->len);
			n++;
			if (cg_decode(buf, fill == 2 ? 15 : sizeof(buf), &b) ||
			    ref_insn_diff(&a, &b)) {
				bad++;
				report(&shown, v, "changed by trailing bytes");
			}
		}
	}
	tap_ok(!bad, "%u decodes with trailing bytes unchanged (%u bad)", n, bad);
}

static void test_negative(void)
{
	unsigned int i, n = 0, bad = 0;
	int shown = 0;

	for (i = 0; i < cg_vec_count; i++) {
		const struct vec *v = &cg_vec[i];
		struct cg_insn in;
		int r;

		if (v->valid)
			continue;
		n++;
		r = decode_both(vec_bytes(v), v->len, &in);
		if (r != -EINVAL) {
			bad++;
			report(&shown, v, r ? "wrong errno" : "accepted");
		}
		/* Also with more bytes after it: still refused. */
		{
			u8 buf[32];

			memset(buf, 0x90, sizeof(buf));
			memcpy(buf, vec_bytes(v), v->len);
			if (cg_decode(buf, sizeof(buf), &in) != -EINVAL) {
				bad++;
				report(&shown, v, "accepted with trailing bytes");
			}
		}
	}
	tap_ok(!bad && n > 150, "%u assembled negative vectors refused with -EINVAL (%u bad)",
	       n, bad);
}

static void test_ea(void)
{
	unsigned int i, n = 0, bad = 0;
	int shown = 0;

	for (i = 0; i < cg_vec_count; i++) {
		const struct vec *v = &cg_vec[i];
		struct cg_regs regs;
		struct cg_insn in;
		u64 want;
		int r;

		if (!v->valid)
			continue;
		cg_decode(vec_bytes(v), v->len, &in);
		for (r = 0; r < 16; r++)
			regs.gpr[r] = rnd();
		regs.ip = rnd();
		regs.flags = rnd();
		if (v->rip_rel) {
			want = regs.ip + v->len + (u64)(s64)v->disp;
		} else {
			want = (u64)(s64)v->disp;
			if (v->base >= 0)
				want += regs.gpr[(int)v->base];
			if (v->index >= 0)
				want += regs.gpr[(int)v->index] * v->scale;
		}
		n++;
		if (cg_effective_address(&in, &regs) != want) {
			bad++;
			report(&shown, v, "effective address");
		}
	}
	tap_ok(!bad, "%u effective addresses match (%u bad)", n, bad);
}

/* Random inputs biased towards the interesting first bytes. */
static unsigned int random_insn(u8 *b)
{
	static const u8 pfx[] = { 0xf0, 0x66, 0x67, 0xf2, 0xf3, 0x2e, 0x3e,
				  0x26, 0x36, 0x64, 0x65, 0x40, 0x41, 0x44,
				  0x48, 0x49, 0x4a, 0x4c, 0x4f, 0xc4, 0xc5,
				  0x62 };
	static const u8 opc[] = { 0x89, 0x01, 0x29, 0x83, 0x81, 0xff, 0x0f,
				  0x88, 0x00, 0x28, 0x80, 0xfe, 0xc7, 0x09,
				  0x87, 0x03, 0x8b, 0xf7, 0xc1, 0x90 };
	unsigned int n = 0, i;
	u64 x = rnd();

	for (i = 0; i < 16; i++)
		b[i] = rnd();
	if (x & 1)
		b[n++] = (x >> 8) & 1 ? 0xf0 : pfx[(x >> 16) % sizeof(pfx)];
	if ((x >> 2) & 1)
		b[n++] = pfx[(x >> 24) % sizeof(pfx)];
	if ((x >> 3) & 3)
		b[n++] = opc[(x >> 32) % sizeof(opc)];
	if (b[n - (n > 0)] == 0x0f && ((x >> 40) & 3))
		b[n++] = 0xc1;
	return (x >> 48) % 17;
}

static void test_random(unsigned long iters)
{
	unsigned long i, n_ok = 0, bad = 0, bad_prefix = 0;
	int shown = 0;

	for (i = 0; i < iters; i++) {
		struct cg_insn a, b;
		u8 buf[16];
		unsigned int len = random_insn(buf), k;
		int ra = decode_both(buf, len, &a);
		int rb = ref_decode(buf, len, &b);

		if (ra != rb || (!ra && ref_insn_diff(&a, &b))) {
			char hex[64];

			bad++;
			fmt_bytes(hex, sizeof(hex), buf, len);
			if (shown++ < MAX_DIAG)
				tap_diag("[%s] len %u: cg %d ref %d %s", hex, len,
					 ra, rb, ra || rb ? "" : ref_insn_diff(&a, &b));
			continue;
		}
		if (ra == -EINVAL) {
			/* Refusal is final: more bytes cannot fix it. */
			if (len < 16 && cg_decode(buf, 16, &b) != -EINVAL)
				bad_prefix++;
			continue;
		}
		if (ra)
			continue;
		n_ok++;
		for (k = 0; k < 16; k++) {
			int r = cg_decode(buf, k, &b);

			if (k < a.len ? r != -ENODATA :
					(r || ref_insn_diff(&a, &b)))
				bad_prefix++;
		}
	}
	tap_ok(!bad, "%lu random inputs: cg_decode agrees with the reference decoder (%lu accepted, %lu bad)",
	       iters, n_ok, bad);
	tap_ok(!bad_prefix, "random inputs: results consistent across buffer lengths (%lu bad)",
	       bad_prefix);
}

static void test_emulate_ref(unsigned long iters)
{
	static const u64 edge[] = {
		0, 1, 0x7f, 0x80, 0xf, 0x10, 0x7fffffff, 0x80000000,
		0xffffffff, 0x100000000ULL, 0x7fffffffffffffffULL,
		0x8000000000000000ULL, ~0ULL, 1ULL << 60,
	};
	unsigned long i, bad = 0;
	unsigned int npos = 0, j;
	int shown = 0;

	for (j = 0; j < cg_vec_count; j++)
		npos += cg_vec[j].valid;
	for (i = 0; i < iters; i++) {
		const struct vec *v = &cg_vec[rnd() % cg_vec_count];
		struct cg_regs ra, rb;
		struct cg_insn in;
		u64 old, na, nb;
		int r;

		if (!v->valid || cg_decode(vec_bytes(v), v->len, &in))
			continue;
		for (r = 0; r < 16; r++)
			ra.gpr[r] = rnd() & 1 ? rnd() : edge[rnd() % 14];
		ra.ip = rnd();
		ra.flags = rnd() & 0x3f7fd5;
		old = rnd() & 1 ? rnd() : edge[rnd() % 14] + (rnd() % 3) - 1;
		rb = ra;
		cg_emulate(&in, &ra, old, &na);
		ref_emulate(&in, &rb, old, &nb);
		if (na != nb || memcmp(&ra, &rb, sizeof(ra))) {
			bad++;
			if (shown++ < MAX_DIAG)
				tap_diag("%s: old %#llx: emulate %#llx flags %#llx, ref %#llx flags %#llx",
					 vec_name(v), (unsigned long long)old,
					 (unsigned long long)na,
					 (unsigned long long)ra.flags,
					 (unsigned long long)nb,
					 (unsigned long long)rb.flags);
		}
	}
	tap_ok(!bad && npos, "%lu random emulations agree with the reference emulator (%lu bad)",
	       iters, bad);
}

int main(int argc, char **argv)
{
	unsigned long iters = 2000000;
	int c;

	while ((c = getopt(argc, argv, "n:s:")) != -1) {
		switch (c) {
		case 'n':
			iters = strtoul(optarg, NULL, 0);
			break;
		case 's':
			rng_state = strtoull(optarg, NULL, 0) | 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-n ITERS] [-s SEED]\n",
				argv[0]);
			return 2;
		}
	}
	setup_guard();
	tap_plan(9);
	tap_diag("%u vectors from the assembler, seed %#llx", cg_vec_count,
		 (unsigned long long)rng_state);
	test_positive();
	test_truncated();
	test_trailing();
	test_negative();
	test_ea();
	test_random(iters);
	test_emulate_ref(iters / 4);
	{
		struct cg_insn in;

		/* Zero length at the guard: nothing may be read at all. */
		tap_ok(cg_decode(guard_end, 0, &in) == -ENODATA,
		       "empty buffer refused with -ENODATA");
	}
	return tap_exit();
}
