// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Differential test of site patching's trampolines (x86_site.c): every
 * instruction form, over random encodings and random register, flag and
 * memory states, runs once as itself and once through its trampoline;
 * registers, the six arithmetic flags, memory and the red zone must come
 * out the same, except that the write is skipped exactly when the old
 * value (and a store's new value) has the band's top byte. Then the same
 * run with each deliberate fault of enum cg_tramp_fault must find
 * differences: the test can fail. Also the windows and punned jumps.
 *
 * Runs natively (not under valgrind: it executes code it writes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../x86_site.h"
#include "tap.h"

#define TOP		0x10	/* the band's top byte: 2^60 */
#define MEM_ADDR	0x10000000UL	/* low, for [index * scale + disp32] */
#define STACK_WORDS	1024

struct state {
	uint64_t r[16];		/* by register number; r[4] is rsp */
	uint64_t flags;		/* in: for popfq; out: lahf's AH and seto */
};

struct state g_in, g_out;
uint64_t g_code, g_saved_rsp;
uint8_t g_ah, g_of;

void cg_run(void);
void cg_epilogue(void);

/* Load g_in, jump to g_code; cg_epilogue stores everything in g_out. */
asm(".text\n.globl cg_run\ncg_run:\n"
    "push %rbx\npush %rbp\npush %r12\npush %r13\npush %r14\npush %r15\n"
    "mov %rsp, g_saved_rsp(%rip)\n"
    "mov g_in+128(%rip), %rax\npush %rax\npopfq\n"
    "mov g_in+0(%rip), %rax\nmov g_in+8(%rip), %rcx\n"
    "mov g_in+16(%rip), %rdx\nmov g_in+24(%rip), %rbx\n"
    "mov g_in+40(%rip), %rbp\nmov g_in+48(%rip), %rsi\n"
    "mov g_in+56(%rip), %rdi\nmov g_in+64(%rip), %r8\n"
    "mov g_in+72(%rip), %r9\nmov g_in+80(%rip), %r10\n"
    "mov g_in+88(%rip), %r11\nmov g_in+96(%rip), %r12\n"
    "mov g_in+104(%rip), %r13\nmov g_in+112(%rip), %r14\n"
    "mov g_in+120(%rip), %r15\nmov g_in+32(%rip), %rsp\n"
    "jmp *g_code(%rip)\n"
    ".globl cg_epilogue\ncg_epilogue:\n"
    "mov %rax, g_out+0(%rip)\nmov %rcx, g_out+8(%rip)\n"
    "mov %rdx, g_out+16(%rip)\nmov %rbx, g_out+24(%rip)\n"
    "mov %rsp, g_out+32(%rip)\nmov %rbp, g_out+40(%rip)\n"
    "mov %rsi, g_out+48(%rip)\nmov %rdi, g_out+56(%rip)\n"
    "mov %r8, g_out+64(%rip)\nmov %r9, g_out+72(%rip)\n"
    "mov %r10, g_out+80(%rip)\nmov %r11, g_out+88(%rip)\n"
    "mov %r12, g_out+96(%rip)\nmov %r13, g_out+104(%rip)\n"
    "mov %r14, g_out+112(%rip)\nmov %r15, g_out+120(%rip)\n"
    "seto g_of(%rip)\nlahf\nmov %ah, g_ah(%rip)\n"
    "mov g_saved_rsp(%rip), %rsp\n"
    "pop %r15\npop %r14\npop %r13\npop %r12\npop %rbp\npop %rbx\nret\n");

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

struct operand {
	int base, index, scale, src;	/* -1: none */
	int32_t disp;
};

/* Encode one instruction of a form with a random operand; its length. */
static size_t encode(enum cg_site_form form, uint8_t *p, struct operand *o)
{
	static const uint8_t reg_of[] = { 0, 5, 0, 1, 0 };
	int mod, rm, reg = reg_of[form], wide_imm = 0, imm_len = 0;
	uint8_t rex = 0x48, op;
	size_t n = 0;
	int32_t imm = 0;

	if (form != CG_FORM_STORE && below(8) == 0)
		p[n++] = 0xf0;		/* lock */
	do
		o->base = below(16);
	while (o->base == 4);
	o->index = below(3) ? -1 : (int)below(16);
	if (o->index == 4 || o->index == o->base)
		o->index = -1;
	o->scale = 1 << below(4);
	if (o->index >= 0 && below(8) == 0)
		o->base = -1;		/* no base: [index * scale + disp32] */
	mod = o->base < 0 ? 0 : (int)below(3);
	if (o->base >= 0 && (o->base & 7) == 5 && mod == 0)
		mod = 1;		/* rbp/r13 need a displacement */
	if (o->base < 0)
		o->disp = (int32_t)below(1 << 16) * 8;
	else if (mod == 1)
		o->disp = (int8_t)(below(256) & ~7);
	else if (mod == 2)
		o->disp = ((int32_t)below(1 << 20) - (1 << 19)) * 8;
	else
		o->disp = 0;
	o->src = -1;
	switch (form) {
	case CG_FORM_ADD:
	case CG_FORM_SUB:
		wide_imm = below(4) == 0;
		op = wide_imm ? 0x81 : 0x83;
		imm_len = wide_imm ? 4 : 1;
		imm = below(2) ? 1 : -1;
		if (below(4) == 0)
			imm = wide_imm ? (int32_t)rnd() : (int8_t)below(256);
		break;
	case CG_FORM_STORE:
		op = 0x89;
		do
			o->src = below(16);
		while (o->src == 4);
		reg = o->src & 7;
		if (o->src & 8)
			rex |= 0x04;
		break;
	default:
		op = 0xff;
		break;
	}
	rm = o->index >= 0 || o->base < 0 ? 4 : o->base & 7;
	if (o->index >= 0 && o->index & 8)
		rex |= 0x02;
	if (o->base >= 0 && o->base & 8)
		rex |= 0x01;
	p[n++] = rex;
	p[n++] = op;
	p[n++] = mod << 6 | reg << 3 | rm;
	if (rm == 4)
		p[n++] = __builtin_ctz(o->scale) << 6 |
			 (o->index >= 0 ? o->index & 7 : 4) << 3 |
			 (o->base >= 0 ? o->base & 7 : 5);
	if (mod == 1) {
		p[n++] = (uint8_t)o->disp;
	} else if (mod == 2 || o->base < 0) {
		memcpy(p + n, &o->disp, 4);
		n += 4;
	}
	memcpy(p + n, &imm, imm_len);
	n += imm_len;
	return n;
}

/* A slot value: the band's top byte or near it, edges included. */
static uint64_t slot_value(void)
{
	static const uint64_t low[] = { 0, 1, 0xff, 0x00ffffffffffffffULL,
					0x00fffffffffffffeULL, 0x0080000000000000ULL };
	uint64_t top = below(4) ? TOP : (uint64_t)TOP + below(3) - 1;

	if (below(10) == 0)
		return rnd();
	return top << 56 | (below(2) ? low[below(6)] : rnd() >> 8);
}

static uint8_t *code_page, *tramp_page;
static uint64_t *mem;		/* at MEM_ADDR: the slot is mem[16] */
static uint64_t stack[STACK_WORDS];

/* Run the code at code_page with state in; the results in out. */
static void run(const struct state *in, struct state *out, uint64_t *slot)
{
	g_in = *in;
	g_code = (uint64_t)code_page;
	cg_run();
	*out = g_out;
	out->flags = (uint64_t)g_ah << 8 | g_of;
	*slot = mem[16];
}

static void set_code(const uint8_t *b, size_t n, uint8_t *page)
{
	mprotect(page, 4096, PROT_READ | PROT_WRITE);
	memset(page, 0xcc, 4096);
	memcpy(page, b, n);
	mprotect(page, 4096, PROT_READ | PROT_EXEC);
}

/* jmp *0(%rip) and the address: reaches the epilogue from anywhere. */
static void put_jmp_abs(uint8_t *b, uint64_t to)
{
	static const uint8_t jmp[] = { 0xff, 0x25, 0, 0, 0, 0 };

	memcpy(b, jmp, sizeof(jmp));
	memcpy(b + sizeof(jmp), &to, 8);
}

static void put_jmp(uint8_t *b, uint64_t at, uint64_t to)
{
	uint32_t rel = (uint32_t)(to - (at + 5));

	b[0] = 0xe9;
	memcpy(b + 1, &rel, 4);
}

/* Differences found over n states of one encoding, with fault. */
static int differences(const uint8_t *insn, size_t len,
		       const struct cg_site_insn *d, const struct operand *o,
		       enum cg_tramp_fault fault, int n, int *skips)
{
	uint8_t code[64], tramp[CG_TRAMP_MAX];
	uint64_t back = (uint64_t)code_page + 32, ea = MEM_ADDR + 16 * 8;
	int bad = 0, k, i;

	for (k = 0; k < n; k++) {
		struct state in, a, b;
		uint64_t old = slot_value(), sa, sb, newv;
		uint64_t *rz = &stack[STACK_WORDS / 2];
		int skip;

		for (i = 0; i < 16; i++)
			in.r[i] = below(2) ? rnd() : below(4) ? slot_value() : below(16);
		in.r[4] = (uint64_t)rz;
		if (o->index >= 0)
			in.r[o->index] = below(4);
		if (o->base >= 0)
			in.r[o->base] = ea - o->disp -
				(o->index >= 0 ? in.r[o->index] * o->scale : 0);
		else
			in.r[o->index] = (ea - (uint64_t)(int64_t)o->disp) / o->scale;
		in.flags = 0x2 | (rnd() & 0x8d5);	/* CF PF AF ZF SF OF */
		newv = o->src >= 0 ? in.r[o->src] : 0;
		skip = (old >> 56) == TOP &&
		       (d->form != CG_FORM_STORE || (newv >> 56) == TOP);
		*skips += skip;

		/* As itself. */
		memcpy(code, insn, len);
		put_jmp_abs(code + len, (uint64_t)cg_epilogue);
		set_code(code, len + 14, code_page);
		for (i = 0; i < STACK_WORDS; i++)
			stack[i] = 0x5a5a5a5a00000000ULL | i;
		mem[15] = mem[17] = 0xdeadbeef;
		mem[16] = old;
		run(&in, &a, &sa);

		/* Through the trampoline. */
		memset(code, 0xcc, sizeof(code));
		put_jmp(code, (uint64_t)code_page, (uint64_t)tramp_page);
		put_jmp_abs(code + 32, (uint64_t)cg_epilogue);
		set_code(code, sizeof(code), code_page);
		set_code(tramp, cg_tramp_emit(d, (uint64_t)tramp_page, back, TOP,
					     fault, tramp), tramp_page);
		for (i = 0; i < STACK_WORDS; i++)
			stack[i] = 0x5a5a5a5a00000000ULL | i;
		mem[16] = old;
		run(&in, &b, &sb);

		if (memcmp(a.r, b.r, sizeof(a.r)) || a.flags != b.flags ||
		    sb != (skip ? old : sa) || mem[15] != 0xdeadbeef ||
		    mem[17] != 0xdeadbeef) {
			bad++;
			continue;
		}
		/* The red zone and everything above it are untouched. */
		for (i = STACK_WORDS / 2 - 16; i < STACK_WORDS; i++)
			if (stack[i] != (0x5a5a5a5a00000000ULL | i)) {
				bad++;
				break;
			}
	}
	return bad;
}

static void test_forms(void)
{
	static const char *const name[] = { "add", "sub", "inc", "dec", "store" };
	int form, runs = 0, skips = 0, fault_found[4] = { 0 };

	for (form = CG_FORM_ADD; form <= CG_FORM_STORE; form++) {
		int enc, bad = 0, decoded = 0;

		for (enc = 0; enc < 300; enc++) {
			uint8_t insn[16];
			struct cg_site_insn d;
			struct operand o;
			size_t len = encode(form, insn, &o);

			if (cg_site_decode(insn, len, &d) || d.len != len ||
			    d.form != (enum cg_site_form)form)
				continue;
			decoded++;
			bad += differences(insn, len, &d, &o, CG_TRAMP_OK, 100, &skips);
			runs += 100;
			if (form != CG_FORM_STORE) {
				int f;

				for (f = CG_TRAMP_FAULT_FLAGS; f <= CG_TRAMP_FAULT_REDZONE; f++) {
					int s = 0;

					fault_found[f] += differences(insn, len, &d, &o, f, 20, &s);
				}
			}
		}
		ok(decoded == 300, "%s: all 300 random encodings decode to themselves (%d)",
		   name[form], decoded);
		ok(bad == 0, "%s: trampoline == instruction on %d states (%d differ)",
		   name[form], decoded * 100, bad);
	}
	diag("%d runs, %d of them skipped the write", runs, skips);
	ok(skips > runs / 10 && skips < runs * 9 / 10, "both paths ran (%d skips)", skips);
	ok(fault_found[CG_TRAMP_FAULT_FLAGS] > 0,
	   "a skip path with the wrong op's flags is caught (%d)", fault_found[CG_TRAMP_FAULT_FLAGS]);
	ok(fault_found[CG_TRAMP_FAULT_SCRATCH] > 0,
	   "a skip path that leaves rcx clobbered is caught (%d)", fault_found[CG_TRAMP_FAULT_SCRATCH]);
	ok(fault_found[CG_TRAMP_FAULT_REDZONE] > 0,
	   "a trampoline that writes the red zone is caught (%d)", fault_found[CG_TRAMP_FAULT_REDZONE]);
}

static void test_refusals(void)
{
	static const struct {
		const char *what;
		uint8_t b[8];
		size_t n;
		int err;
	} cases[] = {
		{ "rip-relative add", { 0x48, 0x83, 0x05, 1, 2, 3, 4, 1 }, 8, -CG_SITE_E_RIP },
		{ "rsp-based add", { 0x48, 0x83, 0x04, 0x24, 1 }, 5, -CG_SITE_E_RSP },
		{ "store of rsp", { 0x48, 0x89, 0x20 }, 3, -CG_SITE_E_RSP },
		{ "32-bit add", { 0x83, 0x00, 0x01 }, 3, -CG_SITE_E_FORM },
		{ "register add", { 0x48, 0x83, 0xc0, 0x01 }, 4, -CG_SITE_E_FORM },
		{ "or to memory", { 0x48, 0x83, 0x08, 0x01 }, 4, -CG_SITE_E_FORM },
		{ "lock store", { 0xf0, 0x48, 0x89, 0x00 }, 4, -CG_SITE_E_FORM },
		{ "truncated", { 0x48, 0x83, 0x40 }, 3, -CG_SITE_E_FORM },
	};
	struct cg_site_insn d;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(cg_site_decode(cases[i].b, cases[i].n, &d) == cases[i].err,
		   "refused: %s", cases[i].what);
}

/* Windows: every start in one gives a jump that lands there; none outside. */
static void test_windows(void)
{
	int k, wrong = 0, tried = 0, by_prefixes[3] = { 0 };

	for (k = 0; k < 30000; k++) {
		uint8_t b[16], next[CG_SITE_NEXT], j[16];
		struct cg_site_insn d = { 0 };
		uint64_t site = 0x400000 + below(1ULL << 40), lo, hi, t;
		unsigned int p = below(CG_SITE_MAX_PREFIXES + 1), i;
		int32_t rel;

		for (i = 0; i < CG_SITE_NEXT; i++)
			next[i] = below(256);
		d.len = 3 + below(4);
		if (cg_site_window(site, &d, next, p, &lo, &hi))
			continue;
		tried++;
		by_prefixes[p]++;
		t = lo + below(hi - lo);
		if (cg_site_jump(site, &d, t, next, p, j)) {
			wrong++;
			continue;
		}
		memcpy(b, j, d.len);
		memcpy(b + d.len, next, CG_SITE_NEXT);
		for (i = 0; i < p; i++)
			wrong += b[i] != 0x48;
		memcpy(&rel, b + p + 1, 4);
		if (site + p + 5 + (int64_t)rel != t || b[p] != 0xe9)
			wrong++;
		if (!cg_site_jump(site, &d, hi, next, p, j) && d.len < 5)
			wrong++;
		if (lo > 0x10000 && !cg_site_jump(site, &d, lo - 1, next, p, j) && d.len < 5)
			wrong++;
	}
	ok(wrong == 0 && tried > 10000 && by_prefixes[1] && by_prefixes[2],
	   "punned jumps land where the window says (%d windows: %d/%d/%d with 0/1/2 prefixes, %d wrong)",
	   tried, by_prefixes[0], by_prefixes[1], by_prefixes[2], wrong);
}

int main(void)
{
	mem = mmap((void *)MEM_ADDR, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	code_page = mmap(NULL, 8192, PROT_READ | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem != (void *)MEM_ADDR || code_page == MAP_FAILED) {
		ok(0, "test memory at %#lx", MEM_ADDR);
		return tap_done();
	}
	tramp_page = code_page + 4096;
	test_refusals();
	test_windows();
	test_forms();
	return tap_done();
}
