// SPDX-License-Identifier: GPL-2.0
/**
 * DOC: x86-64 decoder and emulator for refcount-only writes
 *
 * When a process writes to a golden page, cowguard may skip the instruction
 * and synthesise its effects instead of copying the page, but only if it is
 * certain what the instruction does. This file recognises the handful of
 * instructions that refcounted runtimes use to change a reference count in
 * memory, and nothing else:
 *
 *	[F0] [REX] 89 /r	mov r/m32|64, r32|64 (no lock: lock mov is #UD)
 *	[F0] [REX] 01 /r	add r/m, r
 *	[F0] [REX] 29 /r	sub r/m, r
 *	[F0] [REX] 83 /0 ib	add r/m, imm8	[F0] [REX] 83 /5 ib	sub
 *	[F0] [REX] 81 /0 id	add r/m, imm32	[F0] [REX] 81 /5 id	sub
 *	[F0] [REX] FF /0	inc r/m		[F0] [REX] FF /1	dec r/m
 *	[F0] [REX] 0F C1 /r	xadd r/m, r
 *
 * in 64-bit mode, with a 32- or 64-bit operand (REX.W) and a memory
 * destination given by any ModRM/SIB/displacement form, RIP-relative
 * included. The only prefixes are one F0 followed by one REX, in that order,
 * with REX immediately before the opcode (a REX anywhere else is ignored by
 * the CPU, and refused here). REX bits that the CPU ignores in these forms
 * (R with a /digit opcode, X without a SIB, B in RIP-relative) are ignored
 * here too.
 *
 * Everything else is refused and the caller falls back to copying the page,
 * which is always correct. That is why the list is this small: each extra
 * opcode, prefix or operand size is more to get exactly right (flags,
 * segment bases, address-size wrap, #UD cases) for no gain, since compilers
 * emit only these forms for "++/--/+=/-=/=" on a 4- or 8-byte counter.
 * Segment overrides (FS/GS have a base), 66 (16-bit), 67 (32-bit address
 * wrap), F2/F3 (string/HLE/"rep" meanings), duplicated or reordered prefixes,
 * VEX/EVEX and 8-bit forms are all refused.
 *
 * Whether a decoded write may be dropped (its address, alignment, the band,
 * TF, ptrace) is for the caller to decide. The file has no state and no
 * allocation, and it reads only the bytes it is given, so it builds
 * unchanged as a host program for testing against the real CPU and the
 * assembler (selftests/host).
 */
#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#else
#include <string.h>
#endif

#include "decode.h"

#define CG_REX_W	0x08
#define CG_REX_R	0x04
#define CG_REX_X	0x02
#define CG_REX_B	0x01

/* A bounds-checked reader: the only place that touches the buffer. */
struct cg_cursor {
	const u8 *buf;
	unsigned int len;
	unsigned int pos;
};

static int cg_next(struct cg_cursor *c, u8 *byte)
{
	if (c->pos >= c->len)
		return -ENODATA;
	*byte = c->buf[c->pos++];
	return 0;
}

/* Little-endian and byte by byte: no unaligned load, no host byte order. */
static int cg_next_s32(struct cg_cursor *c, s32 *val)
{
	u32 v = 0;
	unsigned int i;
	u8 b;
	int ret;

	for (i = 0; i < 4; i++) {
		ret = cg_next(c, &b);
		if (ret)
			return ret;
		v |= (u32)b << (8 * i);
	}
	*val = (s32)v;
	return 0;
}

static int cg_next_s8(struct cg_cursor *c, s32 *val)
{
	u8 b;
	int ret;

	ret = cg_next(c, &b);
	if (ret)
		return ret;
	*val = (s8)b;
	return 0;
}

/*
 * The memory operand after a ModRM byte whose mod is not 3. The two special
 * cases keyed on the low three bits ignore REX.B, as the CPU does: rm 100
 * (rsp or r12) means a SIB follows, and base 101 with mod 00 (rbp or r13)
 * means disp32 with no base (in SIB) or RIP-relative (in ModRM).
 */
static int cg_decode_mem(struct cg_cursor *c, u8 rex, u8 modrm,
			 struct cg_insn *insn)
{
	u8 mod = modrm >> 6;
	u8 rm = modrm & 7;
	bool disp32 = mod == 2;
	u8 sib, index;
	int ret;

	if (rm == 4) {
		ret = cg_next(c, &sib);
		if (ret)
			return ret;
		index = ((sib >> 3) & 7) | (rex & CG_REX_X ? 8 : 0);
		/* 100 without REX.X is "no index"; r12 is a valid index. */
		if (index != 4) {
			insn->index = index;
			insn->scale = 1 << (sib >> 6);
		}
		if ((sib & 7) == 5 && mod == 0)
			disp32 = true;
		else
			insn->base = (sib & 7) | (rex & CG_REX_B ? 8 : 0);
	} else if (rm == 5 && mod == 0) {
		insn->rip_rel = 1;
		disp32 = true;
	} else {
		insn->base = rm | (rex & CG_REX_B ? 8 : 0);
	}

	if (disp32)
		return cg_next_s32(c, &insn->disp);
	if (mod == 1)
		return cg_next_s8(c, &insn->disp);
	return 0;
}

int cg_decode(const u8 *buf, unsigned int len, struct cg_insn *insn)
{
	struct cg_cursor c = { .buf = buf, .len = len, .pos = 0 };
	u8 b, rex = 0, modrm, digit;
	int imm_bytes = 0;
	s32 imm = 0;
	int ret;

	memset(insn, 0, sizeof(*insn));
	insn->base = -1;
	insn->index = -1;
	insn->scale = 1;

	ret = cg_next(&c, &b);
	if (ret)
		return ret;
	if (b == 0xf0) {
		insn->lock = 1;
		ret = cg_next(&c, &b);
		if (ret)
			return ret;
	}
	/* REX counts only right before the opcode; anything else is refused. */
	if ((b & 0xf0) == 0x40) {
		rex = b;
		ret = cg_next(&c, &b);
		if (ret)
			return ret;
	}
	insn->width = rex & CG_REX_W ? 8 : 4;

	switch (b) {
	case 0x89:
		if (insn->lock)
			return -EINVAL;
		insn->op = CG_OP_MOV;
		break;
	case 0x01:
		insn->op = CG_OP_ADD;
		break;
	case 0x29:
		insn->op = CG_OP_SUB;
		break;
	case 0x83:
		imm_bytes = 1;
		break;
	case 0x81:
		imm_bytes = 4;
		break;
	case 0xff:
		break;
	case 0x0f:
		ret = cg_next(&c, &b);
		if (ret)
			return ret;
		if (b != 0xc1)
			return -EINVAL;
		insn->op = CG_OP_XADD;
		break;
	default:
		return -EINVAL;
	}

	ret = cg_next(&c, &modrm);
	if (ret)
		return ret;
	if ((modrm >> 6) == 3)
		return -EINVAL;
	digit = (modrm >> 3) & 7;

	if (b == 0xff) {
		/* FF /2../7 are call, jmp, push, invalid: not ours. */
		if (digit > 1)
			return -EINVAL;
		insn->op = digit ? CG_OP_DEC : CG_OP_INC;
	} else if (imm_bytes) {
		/* 83/81 /1../7 are or, adc, sbb, and, xor, cmp. */
		if (digit != 0 && digit != 5)
			return -EINVAL;
		insn->op = digit ? CG_OP_SUB : CG_OP_ADD;
		insn->has_imm = 1;
	} else {
		/* REX.R extends the register operand only in the /r forms. */
		insn->reg = digit | (rex & CG_REX_R ? 8 : 0);
	}

	ret = cg_decode_mem(&c, rex, modrm, insn);
	if (ret)
		return ret;

	if (imm_bytes) {
		if (imm_bytes == 1)
			ret = cg_next_s8(&c, &imm);
		else
			ret = cg_next_s32(&c, &imm);
		if (ret)
			return ret;
		insn->imm = imm;
	}

	/* Cannot happen (13 bytes at most), but never report a longer one. */
	if (c.pos > CG_INSN_MAX_LEN)
		return -EINVAL;
	insn->len = c.pos;
	return 0;
}

u64 cg_effective_address(const struct cg_insn *insn,
			 const struct cg_regs *regs)
{
	u64 ea = (u64)(s64)insn->disp;

	if (insn->rip_rel)
		return regs->ip + insn->len + ea;
	if (insn->base >= 0)
		ea += regs->gpr[insn->base & 15];
	if (insn->index >= 0)
		ea += regs->gpr[insn->index & 15] * insn->scale;
	return ea;
}

/* PF reflects only the low byte of the result: set when its parity is even. */
static u64 cg_parity_flag(u64 res)
{
	u8 v = res & 0xff;

	v ^= v >> 4;
	v ^= v >> 2;
	v ^= v >> 1;
	return (v & 1) ? 0 : CG_FLAG_PF;
}

/*
 * The six arithmetic flags of dst + src or dst - src = res, all three already
 * truncated to the operand width whose top bit is @sign.
 */
static u64 cg_arith_flags(u64 dst, u64 src, u64 res, bool sub, u64 sign)
{
	u64 f = 0;

	if (sub) {
		if (dst < src)
			f |= CG_FLAG_CF;
		/* Operands of different signs and the result's sign differs from dst. */
		if ((dst ^ src) & (dst ^ res) & sign)
			f |= CG_FLAG_OF;
	} else {
		if (res < dst)
			f |= CG_FLAG_CF;
		/* Operands of the same sign and a result of the other sign. */
		if (~(dst ^ src) & (dst ^ res) & sign)
			f |= CG_FLAG_OF;
	}
	if ((dst ^ src ^ res) & 0x10)
		f |= CG_FLAG_AF;
	if (!res)
		f |= CG_FLAG_ZF;
	if (res & sign)
		f |= CG_FLAG_SF;
	return f | cg_parity_flag(res);
}

void cg_emulate(const struct cg_insn *insn, struct cg_regs *regs, u64 old,
		u64 *new_val)
{
	u64 mask = insn->width == 8 ? ~0ULL : 0xffffffffULL;
	u64 sign = (mask >> 1) + 1;
	u64 keep = CG_FLAGS_ARITH;	/* the flags this instruction writes */
	u64 src, res, f = 0;
	bool sub = false;

	old &= mask;
	if (insn->has_imm)
		src = (u64)insn->imm & mask;
	else
		src = regs->gpr[insn->reg & 15] & mask;

	switch (insn->op) {
	case CG_OP_MOV:
		res = src;
		keep = 0;
		break;
	case CG_OP_INC:
	case CG_OP_DEC:
		/* inc and dec leave CF alone: that is their point. */
		keep &= ~CG_FLAG_CF;
		src = 1;
		sub = insn->op == CG_OP_DEC;
		res = sub ? old - 1 : old + 1;
		break;
	case CG_OP_SUB:
		sub = true;
		res = old - src;
		break;
	case CG_OP_ADD:
	case CG_OP_XADD:
		res = old + src;
		break;
	default:
		/* Not produced by cg_decode(): store back what was there. */
		res = old;
		keep = 0;
		break;
	}
	res &= mask;
	if (keep)
		f = cg_arith_flags(old, src, res, sub, sign);

	/* A 32-bit register write zero-extends; old is already truncated. */
	if (insn->op == CG_OP_XADD)
		regs->gpr[insn->reg & 15] = old;

	regs->flags = (regs->flags & ~keep) | (f & keep);
	/* RF is set in the saved flags of a fault; the next insn must not keep it. */
	regs->flags &= ~CG_FLAG_RF;
	regs->ip += insn->len;
	*new_val = res;
}
