/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowguard: decoder and emulator for the refcount-only write whitelist.
 *
 * The same source builds in the kernel module and in the host tests
 * (selftests/host), hence the two sets of includes.
 */
#ifndef _COWGUARD_DECODE_H
#define _COWGUARD_DECODE_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#else
#include <stdbool.h>
#include <errno.h>
#include <linux/types.h>
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s32 s32;
typedef __s64 s64;
#endif

/* Longest instruction the CPU accepts; ours are at most 13 bytes. */
#define CG_INSN_MAX_LEN		15

/* RFLAGS bits, spelled out so that the host build needs no kernel header. */
#define CG_FLAG_CF		0x0001ULL
#define CG_FLAG_PF		0x0004ULL
#define CG_FLAG_AF		0x0010ULL
#define CG_FLAG_ZF		0x0040ULL
#define CG_FLAG_SF		0x0080ULL
#define CG_FLAG_OF		0x0800ULL
#define CG_FLAG_RF		0x10000ULL
#define CG_FLAGS_ARITH		(CG_FLAG_CF | CG_FLAG_PF | CG_FLAG_AF | \
				 CG_FLAG_ZF | CG_FLAG_SF | CG_FLAG_OF)

/*
 * Registers in x86 encoding order: 0 rax, 1 rcx, 2 rdx, 3 rbx, 4 rsp, 5 rbp,
 * 6 rsi, 7 rdi, 8..15 r8..r15.
 */
struct cg_regs {
	u64 gpr[16];
	u64 ip;
	u64 flags;
};

enum cg_op {
	CG_OP_MOV,
	CG_OP_ADD,
	CG_OP_SUB,
	CG_OP_INC,
	CG_OP_DEC,
	CG_OP_XADD,
};

struct cg_insn {
	u8 len;		/* total bytes, prefixes included */
	u8 op;		/* enum cg_op */
	u8 width;	/* operand bytes: 4 or 8 */
	u8 lock;	/* had an F0 prefix */
	u8 has_imm;	/* add/sub with an immediate (83 ib, 81 id) */
	u8 reg;		/* ModRM.reg source (mov/add/sub/xadd r form), else 0 */
	s8 base;	/* -1 none; 0..15 */
	s8 index;	/* -1 none; 0..15 (rsp is never an index) */
	u8 scale;	/* 1, 2, 4, 8; 1 when there is no index */
	u8 rip_rel;	/* memory operand is disp32(%rip) */
	s32 disp;	/* sign-extended displacement, 0 if none */
	s64 imm;	/* sign-extended to 64 bits, 0 unless has_imm */
};

/**
 * cg_decode() - decode one whitelisted instruction
 * @buf: instruction bytes
 * @len: number of readable bytes at @buf; buf[len] and beyond are never read
 * @insn: result; undefined on failure
 *
 * Return: 0 on success, -EINVAL for anything outside the whitelist,
 * -ENODATA when the buffer ends inside what could still be a whitelisted
 * instruction (so the caller may fetch more bytes and retry).
 */
int cg_decode(const u8 *buf, unsigned int len, struct cg_insn *insn);

/**
 * cg_effective_address() - address of the memory operand
 * @insn: a decoded instruction
 * @regs: registers; regs->ip is the address of the instruction
 *
 * RIP-relative operands are relative to regs->ip + insn->len. The sum wraps
 * at 64 bits, as on the CPU; the caller checks the result is user memory.
 *
 * Return: the effective address.
 */
u64 cg_effective_address(const struct cg_insn *insn,
			 const struct cg_regs *regs);

/**
 * cg_emulate() - apply an instruction to registers and a memory value
 * @insn: a decoded instruction
 * @regs: registers, updated as executing @insn would update them
 * @old: the value currently in memory (only its low insn->width bytes count)
 * @new_val: the value the instruction would store, zero-extended from
 *	insn->width bytes
 *
 * Sets CF PF AF ZF SF OF for add/sub/xadd, the same but CF for inc/dec,
 * none for mov; xadd loads @old into its source register (a 32-bit write
 * zero-extends); ip += len; RF cleared. Other flags and registers are
 * untouched.
 */
void cg_emulate(const struct cg_insn *insn, struct cg_regs *regs, u64 old,
		u64 *new_val);

#endif /* _COWGUARD_DECODE_H */
