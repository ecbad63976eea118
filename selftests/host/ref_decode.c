// SPDX-License-Identifier: GPL-2.0
/*
 * Reference decoder: table-driven and "length first". It matches the opcode
 * against a table of the whitelisted forms, works out the whole length from
 * the structural bytes, and only then extracts the fields. The emulator
 * computes flags with compiler overflow builtins instead of bit tricks.
 *
 * Error rule it implements literally: -ENODATA when the bytes given are a
 * proper prefix of some whitelisted instruction, -EINVAL otherwise.
 */
#include <string.h>

#include "ref_decode.h"

struct ref_form {
	u8 opc[2];	/* opcode bytes */
	u8 opc_len;
	s8 digit;	/* ModRM.reg must equal this; -1 for the /r forms */
	u8 imm_len;
	u8 op;
	u8 lockable;
};

static const struct ref_form ref_forms[] = {
	{ { 0x89 }, 1, -1, 0, CG_OP_MOV, 0 },
	{ { 0x01 }, 1, -1, 0, CG_OP_ADD, 1 },
	{ { 0x29 }, 1, -1, 0, CG_OP_SUB, 1 },
	{ { 0x83 }, 1, 0, 1, CG_OP_ADD, 1 },
	{ { 0x83 }, 1, 5, 1, CG_OP_SUB, 1 },
	{ { 0x81 }, 1, 0, 4, CG_OP_ADD, 1 },
	{ { 0x81 }, 1, 5, 4, CG_OP_SUB, 1 },
	{ { 0xff }, 1, 0, 0, CG_OP_INC, 1 },
	{ { 0xff }, 1, 1, 0, CG_OP_DEC, 1 },
	{ { 0x0f, 0xc1 }, 2, -1, 0, CG_OP_XADD, 1 },
};

static const u8 disp_by_mod[3] = { 0, 1, 4 };

#define NFORMS (sizeof(ref_forms) / sizeof(ref_forms[0]))

static s64 le(const u8 *p, unsigned int n)
{
	u64 v = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		v |= (u64)p[i] << (8 * i);
	if (n == 1)
		return (s8)v;
	return (s32)v;
}

int ref_decode(const u8 *b, unsigned int n, struct cg_insn *o)
{
	unsigned int p = 0, op_at, modrm_at, need, disp_len, i;
	const struct ref_form *f = NULL;
	int candidates = 0;
	u8 rex = 0, modrm, mod, rm, sib = 0;

	memset(o, 0, sizeof(*o));
	o->base = -1;
	o->index = -1;
	o->scale = 1;

	if (n > 0 && b[0] == 0xf0) {
		o->lock = 1;
		p = 1;
	}
	if (n > p && b[p] >= 0x40 && b[p] <= 0x4f)
		rex = b[p++];
	op_at = p;
	if (n <= op_at)
		return -ENODATA;

	/* Opcode: any table entry whose opcode bytes match what we have. */
	for (i = 0; i < NFORMS; i++) {
		const struct ref_form *t = &ref_forms[i];
		unsigned int k, have = n - op_at < t->opc_len ?
				       n - op_at : t->opc_len;

		for (k = 0; k < have; k++)
			if (b[op_at + k] != t->opc[k])
				break;
		if (k < have)
			continue;
		if (o->lock && !t->lockable)
			continue;
		candidates++;
		if (have < t->opc_len)
			continue;
		modrm_at = op_at + t->opc_len;
		if (n <= modrm_at)
			return -ENODATA;
		if ((b[modrm_at] >> 6) == 3)
			continue;
		if (t->digit >= 0 && ((b[modrm_at] >> 3) & 7) != t->digit)
			continue;
		f = t;
		break;
	}
	if (!f)
		return candidates && n <= op_at + 1 ? -ENODATA : -EINVAL;

	modrm_at = op_at + f->opc_len;
	modrm = b[modrm_at];
	mod = modrm >> 6;
	rm = modrm & 7;

	/* Length of the SIB and displacement, from the structural bytes. */
	need = modrm_at + 1 + (rm == 4);
	if (n < need)
		return -ENODATA;
	if (rm == 4)
		sib = b[modrm_at + 1];
	disp_len = disp_by_mod[mod];
	if (mod == 0 && (rm == 5 || (rm == 4 && (sib & 7) == 5)))
		disp_len = 4;
	need += disp_len + f->imm_len;
	if (n < need)
		return -ENODATA;

	o->len = need;
	o->op = f->op;
	o->width = (rex & 8) ? 8 : 4;
	if (f->digit < 0)
		o->reg = ((modrm >> 3) & 7) + ((rex & 4) ? 8 : 0);
	if (disp_len)
		o->disp = le(b + need - f->imm_len - disp_len, disp_len);
	if (f->imm_len) {
		o->has_imm = 1;
		o->imm = le(b + need - f->imm_len, f->imm_len);
	}
	if (mod == 0 && rm == 5) {
		o->rip_rel = 1;
	} else if (rm == 4) {
		unsigned int idx = ((sib >> 3) & 7) + ((rex & 2) ? 8 : 0);

		if (idx != 4) {
			o->index = idx;
			o->scale = 1u << (sib >> 6);
		}
		if (!(mod == 0 && (sib & 7) == 5))
			o->base = (sib & 7) + ((rex & 1) ? 8 : 0);
	} else {
		o->base = rm + ((rex & 1) ? 8 : 0);
	}
	return 0;
}

static unsigned int parity8(u64 v)
{
	return !__builtin_parity((unsigned int)(v & 0xff));
}

void ref_emulate(const struct cg_insn *in, struct cg_regs *r, u64 old,
		 u64 *new_val)
{
	u64 src = in->has_imm ? (u64)in->imm : r->gpr[in->reg];
	u64 res = 0, f = 0, written = CG_FLAGS_ARITH;
	int cf = 0, of = 0, sub = 0;

	if (in->op == CG_OP_INC || in->op == CG_OP_DEC)
		src = 1;
	sub = in->op == CG_OP_SUB || in->op == CG_OP_DEC;
	if (in->width == 4) {
		u32 a = (u32)old, s = (u32)src, x;
		s32 sx;

		cf = sub ? __builtin_sub_overflow(a, s, &x) :
			   __builtin_add_overflow(a, s, &x);
		of = sub ? __builtin_sub_overflow((s32)a, (s32)s, &sx) :
			   __builtin_add_overflow((s32)a, (s32)s, &sx);
		res = x;
		f |= (res >> 31) & 1 ? CG_FLAG_SF : 0;
	} else {
		u64 x;
		s64 sx;

		cf = sub ? __builtin_sub_overflow(old, src, &x) :
			   __builtin_add_overflow(old, src, &x);
		of = sub ? __builtin_sub_overflow((s64)old, (s64)src, &sx) :
			   __builtin_add_overflow((s64)old, (s64)src, &sx);
		res = x;
		f |= res >> 63 ? CG_FLAG_SF : 0;
	}
	f |= cf ? CG_FLAG_CF : 0;
	f |= of ? CG_FLAG_OF : 0;
	f |= res == 0 ? CG_FLAG_ZF : 0;
	f |= parity8(res) ? CG_FLAG_PF : 0;
	/* AF: carry or borrow out of bit 3. */
	if (sub)
		f |= (old & 0xf) < (src & 0xf) ? CG_FLAG_AF : 0;
	else
		f |= (old & 0xf) + (src & 0xf) > 0xf ? CG_FLAG_AF : 0;

	switch (in->op) {
	case CG_OP_MOV:
		res = in->width == 4 ? (u32)src : src;
		written = 0;
		break;
	case CG_OP_INC:
	case CG_OP_DEC:
		written &= ~CG_FLAG_CF;
		break;
	case CG_OP_XADD:
		r->gpr[in->reg] = in->width == 4 ? (u32)old : old;
		break;
	}
	r->flags = (r->flags & ~written) | (f & written);
	r->flags &= ~CG_FLAG_RF;
	r->ip += in->len;
	*new_val = res;
}

const char *ref_insn_diff(const struct cg_insn *a, const struct cg_insn *b)
{
#define F(x) do { if (a->x != b->x) return #x; } while (0)
	F(len); F(op); F(width); F(lock); F(has_imm); F(reg); F(base);
	F(index); F(scale); F(rip_rel); F(disp); F(imm);
#undef F
	return NULL;
}
