/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A second, deliberately differently built decoder and emulator for the
 * same whitelist, used as an oracle by the random and fuzz tests.
 */
#ifndef CG_REF_DECODE_H
#define CG_REF_DECODE_H

#include "decode.h"

int ref_decode(const u8 *buf, unsigned int len, struct cg_insn *insn);
void ref_emulate(const struct cg_insn *insn, struct cg_regs *regs, u64 old,
		 u64 *new_val);
/* Compare two decodes field by field; returns the first differing name. */
const char *ref_insn_diff(const struct cg_insn *a, const struct cg_insn *b);

#endif
