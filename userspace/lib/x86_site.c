// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Site patching, the pure part: decode a refcount write, say where a jump
 * to its trampoline can land, and write the jump and the trampoline.
 *
 * The jump is E9Patch's (Duck et al., PLDI 2020): an instruction of 5 bytes
 * or more becomes "jmp rel32" (the rest int3); a 3- or 4-byte one becomes
 * a punned "jmp rel32" whose last one or two bytes are the next
 * instruction's first bytes, left as they are, so that a jump to the next
 * instruction still finds it. The pun fixes the top bits of rel32: the
 * trampoline must start inside a 64 KiB (3 bytes) or 16 MiB (4 bytes)
 * window that cg_site_window() computes.
 *
 * The trampoline skips the write when the slot's old value has the band's
 * top byte (and, for a store, the new value too): a subset of what the
 * module would emulate, so a skipped write is one the module would have
 * dropped. It is exact otherwise: registers, memory and all six arithmetic
 * flags are what the instruction would leave. The test is flag-free (mov,
 * bswap, movzx, lea, jrcxz); on the skip path the flags come from the
 * same operation done on a copy of the old value in rcx, so inc/dec keep
 * CF and add/sub set PF and AF as the original would. rcx is saved below
 * the 128-byte red zone, which the code it interrupts may be using.
 */
#include <string.h>

#include "x86_site.h"

#define REX_W	0x08
#define REX_R	0x04
#define REX_X	0x02
#define REX_B	0x01

int cg_site_decode(const uint8_t *p, size_t n, struct cg_site_insn *o)
{
	size_t i = 0;
	unsigned int mod, reg, rm, op;
	int lock = 0, imm_len = 0;

	memset(o, 0, sizeof(*o));
	if (n > sizeof(o->bytes))
		n = sizeof(o->bytes);
	if (i < n && p[i] == 0xf0) {
		lock = 1;
		i++;
	}
	if (i + 3 > n || (p[i] & 0xf8) != 0x48)	/* REX with W */
		return -CG_SITE_E_FORM;
	o->rex = p[i++];
	op = p[i++];
	o->modrm = p[i++];
	mod = o->modrm >> 6;
	reg = (o->modrm >> 3) & 7;
	rm = o->modrm & 7;
	if (mod == 3)
		return -CG_SITE_E_FORM;
	switch (op) {
	case 0x83:
	case 0x81:
		if (reg != 0 && reg != 5)
			return -CG_SITE_E_FORM;
		o->form = reg == 0 ? CG_FORM_ADD : CG_FORM_SUB;
		imm_len = op == 0x83 ? 1 : 4;
		break;
	case 0xff:
		if (reg > 1)
			return -CG_SITE_E_FORM;
		o->form = reg == 0 ? CG_FORM_INC : CG_FORM_DEC;
		break;
	case 0x89:
		if (lock)
			return -CG_SITE_E_FORM;
		o->form = CG_FORM_STORE;
		o->src = reg | (o->rex & REX_R ? 8 : 0);
		if (o->src == 4)
			return -CG_SITE_E_RSP;
		break;
	default:
		return -CG_SITE_E_FORM;
	}
	if (rm == 4) {
		if (i >= n)
			return -CG_SITE_E_FORM;
		o->has_sib = 1;
		o->sib = p[i++];
		if ((o->sib & 7) == 4 && !(o->rex & REX_B))
			return -CG_SITE_E_RSP;
		if ((o->sib & 7) == 5 && mod == 0)
			o->disp_len = 4;	/* no base: [index * scale + disp32] */
	} else if (rm == 5 && mod == 0) {
		return -CG_SITE_E_RIP;
	}
	if (mod == 1)
		o->disp_len = 1;
	else if (mod == 2)
		o->disp_len = 4;
	if (i + o->disp_len + imm_len > n)
		return -CG_SITE_E_FORM;
	if (o->disp_len == 1) {
		o->disp = (int8_t)p[i];
	} else if (o->disp_len == 4) {
		uint32_t d;

		memcpy(&d, p + i, 4);
		o->disp = (int32_t)d;
	}
	i += o->disp_len;
	if (imm_len == 1) {
		o->imm = (int8_t)p[i];
	} else if (imm_len == 4) {
		uint32_t v;

		memcpy(&v, p + i, 4);
		o->imm = (int32_t)v;
	}
	i += imm_len;
	o->len = i;
	memcpy(o->bytes, p, i);
	return 0;
}

/* The lowest and highest user addresses a trampoline may occupy. */
#define CG_USER_LOW	0x10000ULL
#define CG_USER_HIGH	0x7ffffffff000ULL

/*
 * The jump that replaces a site: @prefixes redundant REX prefixes, E9 and
 * rel32. Its bytes past the site's own are the next instruction's: rel32's
 * byte k is free when it falls inside the site, else fixed by @next.
 */
static int cg_jump_shape(const struct cg_site_insn *in, unsigned int prefixes,
			 const uint8_t *next, uint32_t *fixed, unsigned int *free_bits)
{
	unsigned int k, len = in->len;

	if (len >= 5) {
		if (prefixes)
			return -CG_SITE_E_WINDOW;
		*fixed = 0;
		*free_bits = 32;
		return 0;
	}
	if (len < 3 || prefixes + 2 > len)
		return -CG_SITE_E_WINDOW;	/* at least one free byte */
	*fixed = 0;
	*free_bits = 0;
	for (k = 0; k < 4; k++) {
		unsigned int at = prefixes + 1 + k;

		if (at < len)
			*free_bits += 8;
		else
			*fixed |= (uint32_t)next[at - len] << (8 * k);
	}
	return 0;
}

/**
 * cg_site_window() - where the trampoline of a site may start
 * @site: the instruction's address
 * @in: the instruction
 * @next: the bytes after it (at least CG_SITE_NEXT), as they will be when
 *	it runs
 * @prefixes: redundant prefixes before the jump (E9Patch's padding), 0..2
 * @lo: out: lowest start
 * @hi: out: one past the highest start
 *
 * Return: 0, or -CG_SITE_E_WINDOW when no user address is in reach.
 */
int cg_site_window(uint64_t site, const struct cg_site_insn *in,
		   const uint8_t *next, unsigned int prefixes,
		   uint64_t *lo, uint64_t *hi)
{
	int64_t base = (int64_t)site + prefixes + 5, l, h;
	unsigned int free_bits;
	uint32_t fixed;

	if (cg_jump_shape(in, prefixes, next, &fixed, &free_bits))
		return -CG_SITE_E_WINDOW;
	if (free_bits == 32) {
		l = base - (1LL << 31);
		h = base + (1LL << 31);
	} else {
		l = base + (int32_t)fixed;
		h = l + (1LL << free_bits);
	}
	if (l < (int64_t)CG_USER_LOW)
		l = CG_USER_LOW;
	if (h > (int64_t)(CG_USER_HIGH - CG_TRAMP_MAX))
		h = CG_USER_HIGH - CG_TRAMP_MAX;
	if (l >= h)
		return -CG_SITE_E_WINDOW;
	*lo = l;
	*hi = h;
	return 0;
}

/**
 * cg_site_jump() - the bytes that replace a site's instruction
 * @site: the instruction's address
 * @in: the instruction
 * @tramp: its trampoline's address, inside cg_site_window()'s window
 * @next: the bytes after it, as for cg_site_window()
 * @prefixes: as for cg_site_window()
 * @out: in->len bytes: the prefixes, the jump, then int3 fill
 *
 * Return: 0, or -CG_SITE_E_WINDOW when @tramp is out of reach.
 */
int cg_site_jump(uint64_t site, const struct cg_site_insn *in, uint64_t tramp,
		 const uint8_t *next, unsigned int prefixes, uint8_t *out)
{
	int64_t rel = (int64_t)tramp - ((int64_t)site + prefixes + 5);
	unsigned int free_bits, k;
	uint32_t fixed, u;

	if (cg_jump_shape(in, prefixes, next, &fixed, &free_bits) ||
	    rel < INT32_MIN || rel > INT32_MAX)
		return -CG_SITE_E_WINDOW;
	u = (uint32_t)rel;
	/* The pun: what the jump reads past the site must be there already. */
	if (free_bits < 32 && (u >> free_bits) << free_bits != fixed)
		return -CG_SITE_E_WINDOW;
	memset(out, 0xcc, in->len);
	memset(out, 0x48, prefixes);	/* REX.W: a near jmp ignores it */
	out[prefixes] = 0xe9;
	for (k = 0; k < 4 && prefixes + 1 + k < in->len; k++)
		out[prefixes + 1 + k] = u >> (8 * k);
	return 0;
}

struct cg_emit {
	uint8_t *p;
	size_t n;
	uint64_t addr;		/* address of p[0] */
};

static void put(struct cg_emit *e, const void *b, size_t n)
{
	memcpy(e->p + e->n, b, n);
	e->n += n;
}

static void put1(struct cg_emit *e, uint8_t b)
{
	e->p[e->n++] = b;
}

static void put_jmp(struct cg_emit *e, uint64_t to)
{
	uint32_t rel = (uint32_t)(to - (e->addr + e->n + 5));

	put1(e, 0xe9);
	put(e, &rel, 4);
}

/* mov M, %rcx: the site's memory operand, reg field rcx. */
static void put_load_rcx(struct cg_emit *e, const struct cg_site_insn *in)
{
	put1(e, 0x48 | (in->rex & (REX_X | REX_B)));
	put1(e, 0x8b);
	put1(e, (in->modrm & 0xc7) | (1 << 3));
	if (in->has_sib)
		put1(e, in->sib);
	if (in->disp_len == 1)
		put1(e, (uint8_t)in->disp);
	else if (in->disp_len == 4)
		put(e, &in->disp, 4);
}

/* rcx := its top byte minus top; then jrcxz, its rel8 patched later. */
static size_t put_test_rcx(struct cg_emit *e, uint8_t top)
{
	static const uint8_t bswap_movzx[] = { 0x48, 0x0f, 0xc9, 0x0f, 0xb6, 0xc9 };

	put(e, bswap_movzx, sizeof(bswap_movzx));
	put1(e, 0x48);			/* lea -top(%rcx), %rcx */
	put1(e, 0x8d);
	put1(e, 0x49);
	put1(e, (uint8_t)-(int8_t)top);
	put1(e, 0xe3);			/* jrcxz */
	put1(e, 0);
	return e->n - 1;
}

static void patch_rel8(struct cg_emit *e, size_t at, size_t to)
{
	e->p[at] = (uint8_t)(int8_t)(to - (at + 1));
}

/* The skip path's copy of the operation on rcx: the flags it leaves. */
static void put_op_rcx(struct cg_emit *e, const struct cg_site_insn *in,
		       enum cg_tramp_fault fault)
{
	enum cg_site_form form = in->form;

	if (fault == CG_TRAMP_FAULT_FLAGS)
		form = form == CG_FORM_ADD ? CG_FORM_SUB :
		       form == CG_FORM_SUB ? CG_FORM_ADD :
		       form == CG_FORM_INC ? CG_FORM_DEC : CG_FORM_INC;
	put1(e, 0x48);
	switch (form) {
	case CG_FORM_ADD:
	case CG_FORM_SUB: {
		uint8_t modrm = form == CG_FORM_ADD ? 0xc1 : 0xe9;

		if (in->imm >= -128 && in->imm <= 127) {
			put1(e, 0x83);
			put1(e, modrm);
			put1(e, (uint8_t)in->imm);
		} else {
			put1(e, 0x81);
			put1(e, modrm);
			put(e, &in->imm, 4);
		}
		break;
	}
	case CG_FORM_INC:
		put1(e, 0xff);
		put1(e, 0xc1);
		break;
	default:
		put1(e, 0xff);
		put1(e, 0xc9);
		break;
	}
}

static const uint8_t lea_down[] = { 0x48, 0x8d, 0x64, 0x24, 0x80 };
static const uint8_t lea_up[] = { 0x48, 0x8d, 0xa4, 0x24, 0x80, 0, 0, 0 };
static const uint8_t load_saved_rcx[] = { 0x48, 0x8b, 0x0c, 0x24 };
static const uint8_t drop_saved_rcx[] = { 0x48, 0x8d, 0x64, 0x24, 0x08 };

static void put_enter(struct cg_emit *e, enum cg_tramp_fault fault)
{
	if (fault != CG_TRAMP_FAULT_REDZONE)
		put(e, lea_down, sizeof(lea_down));
	put1(e, 0x51);			/* push %rcx */
}

static void put_leave(struct cg_emit *e, enum cg_tramp_fault fault)
{
	if (fault == CG_TRAMP_FAULT_SCRATCH)
		put(e, drop_saved_rcx, sizeof(drop_saved_rcx));
	else
		put1(e, 0x59);		/* pop %rcx */
	if (fault != CG_TRAMP_FAULT_REDZONE)
		put(e, lea_up, sizeof(lea_up));
}

/**
 * cg_tramp_emit() - write a site's trampoline
 * @in: the site's instruction
 * @tramp: the address the trampoline will run at
 * @back: where it continues (the instruction after the site)
 * @top: the band's top byte: the write is skipped when the old value's
 *	top byte is @top (for a store, the new value's too)
 * @fault: CG_TRAMP_OK, or a deliberate fault for the tests
 * @out: CG_TRAMP_MAX bytes
 *
 * Return: the trampoline's length.
 */
size_t cg_tramp_emit(const struct cg_site_insn *in, uint64_t tramp,
		     uint64_t back, uint8_t top, enum cg_tramp_fault fault,
		     uint8_t *out)
{
	struct cg_emit e = { .p = out, .addr = tramp };
	size_t to_skip, to_new, orig;

	put_enter(&e, fault);
	put_load_rcx(&e, in);
	if (in->form == CG_FORM_STORE) {
		to_new = put_test_rcx(&e, top);
		orig = e.n;
		put_leave(&e, CG_TRAMP_OK);
		put(&e, in->bytes, in->len);
		put_jmp(&e, back);
		patch_rel8(&e, to_new, e.n);
		if (in->src == 1)
			put(&e, load_saved_rcx, sizeof(load_saved_rcx));
		else {		/* mov %src, %rcx */
			put1(&e, 0x48 | (in->src & 8 ? REX_R : 0));
			put1(&e, 0x89);
			put1(&e, 0xc0 | (in->src & 7) << 3 | 1);
		}
		to_skip = put_test_rcx(&e, top);
		put1(&e, 0xeb);		/* jmp orig */
		put1(&e, (uint8_t)(int8_t)(orig - (e.n + 1)));
		patch_rel8(&e, to_skip, e.n);
		put_leave(&e, fault);
		put_jmp(&e, back);
		return e.n;
	}
	to_skip = put_test_rcx(&e, top);
	put_leave(&e, CG_TRAMP_OK);
	put(&e, in->bytes, in->len);
	put_jmp(&e, back);
	patch_rel8(&e, to_skip, e.n);
	put(&e, load_saved_rcx, sizeof(load_saved_rcx));
	put_load_rcx(&e, in);
	put_op_rcx(&e, in, fault);
	put_leave(&e, fault);
	put_jmp(&e, back);
	return e.n;
}
