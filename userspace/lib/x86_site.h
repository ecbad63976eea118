/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * The pure part of site patching (x86_site.c): decoding a refcount
 * instruction, the window a jump to its trampoline must land in, the jump
 * and the trampoline's bytes. No system calls: the host tests run it on
 * random states against the original instruction.
 */
#ifndef CG_X86_SITE_H
#define CG_X86_SITE_H

#include <stddef.h>
#include <stdint.h>

enum cg_site_form {
	CG_FORM_ADD,	/* add $imm, qword M */
	CG_FORM_SUB,	/* sub $imm, qword M */
	CG_FORM_INC,	/* inc qword M: leaves CF alone */
	CG_FORM_DEC,	/* dec qword M */
	CG_FORM_STORE,	/* mov %reg, qword M */
};

/* Why an instruction cannot be patched (negative returns). */
enum cg_site_refusal {
	CG_SITE_E_FORM = 1,	/* not one of the forms above */
	CG_SITE_E_RIP,		/* rip-relative operand */
	CG_SITE_E_RSP,		/* operand or source register uses rsp */
	CG_SITE_E_WINDOW,	/* no room for a jump's target there */
};

struct cg_site_insn {
	enum cg_site_form form;
	uint8_t len;		/* the instruction's bytes */
	uint8_t bytes[15];
	uint8_t rex;		/* its REX prefix (W set) */
	uint8_t modrm;
	uint8_t has_sib, sib;
	uint8_t disp_len;	/* 0, 1 or 4 */
	int32_t disp;
	int32_t imm;		/* ADD, SUB */
	uint8_t src;		/* STORE: source register, 0..15 */
};

/* The most bytes cg_tramp_emit() writes. */
#define CG_TRAMP_MAX	128

/* Deliberate faults for the tests' self-check of the differential test. */
enum cg_tramp_fault {
	CG_TRAMP_OK,
	CG_TRAMP_FAULT_FLAGS,	/* the skip path sets the wrong op's flags */
	CG_TRAMP_FAULT_SCRATCH,	/* the skip path does not restore rcx */
	CG_TRAMP_FAULT_REDZONE,	/* no step over the red zone */
};

int cg_site_decode(const uint8_t *p, size_t n, struct cg_site_insn *out);
/* Bytes past a site that cg_site_window() and cg_site_jump() may read. */
#define CG_SITE_NEXT	3
/* Redundant prefixes a punned jump may carry (E9Patch's T1). */
#define CG_SITE_MAX_PREFIXES	2

int cg_site_window(uint64_t site, const struct cg_site_insn *in,
		   const uint8_t *next, unsigned int prefixes,
		   uint64_t *lo, uint64_t *hi);
int cg_site_jump(uint64_t site, const struct cg_site_insn *in, uint64_t tramp,
		 const uint8_t *next, unsigned int prefixes, uint8_t *out);
size_t cg_tramp_emit(const struct cg_site_insn *in, uint64_t tramp,
		     uint64_t back, uint8_t top, enum cg_tramp_fault fault,
		     uint8_t *out);

#endif /* CG_X86_SITE_H */
