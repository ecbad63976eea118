/* SPDX-License-Identifier: GPL-2.0 */
/* Layout of the tables that gen_vectors writes into vectors.s. */
#ifndef CG_VECTORS_H
#define CG_VECTORS_H

#include <stddef.h>

#include "decode.h"

struct vec {
	u32 off;	/* offset of the bytes in cg_vec_code */
	u32 len;	/* their length, measured by the assembler */
	u32 name;	/* offset of the source text in cg_vec_str */
	u8 op, width, lock, has_imm, reg;
	s8 base, index;
	u8 scale, rip_rel;
	u8 valid;	/* 0: cg_decode() must refuse it */
	u8 pad[2];
	s32 disp;
	s32 form;	/* addressing form id in gen_vectors, -1 if none */
	s64 imm;
};

_Static_assert(sizeof(struct vec) == 40, "vec layout");
_Static_assert(offsetof(struct vec, disp) == 24, "vec layout");
_Static_assert(offsetof(struct vec, imm) == 32, "vec layout");

extern const struct vec cg_vec[];
extern const unsigned int cg_vec_count;
extern const u8 cg_vec_code[];
extern const char cg_vec_str[];

static inline const u8 *vec_bytes(const struct vec *v)
{
	return cg_vec_code + v->off;
}

static inline const char *vec_name(const struct vec *v)
{
	return cg_vec_str + v->name;
}

#endif
