// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for cg_decode()/cg_emulate(). Built with
 * -fsanitize=fuzzer,address,undefined: the input is decoded from an
 * exact-size heap copy, so a read past len is an ASan report. On top of
 * memory safety it checks that:
 *  - cg_decode() and the reference decoder (ref_decode.c) give the same
 *    answer, errno and fields;
 *  - an accepted instruction has the shape of the whitelist: [F0][REX] and
 *    one of the whitelisted opcodes with a memory ModRM, no lock on mov,
 *    length <= 13, and every shorter buffer gives -ENODATA;
 *  - cg_emulate() agrees with the reference emulator and touches nothing
 *    but the arithmetic flags, RF, ip and (xadd) its source register.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "ref_decode.h"

#define CHECK(cond) do {						\
		if (!(cond)) {						\
			fprintf(stderr, "check failed: %s (line %d)\n",	\
				#cond, __LINE__);			\
			abort();					\
		}							\
	} while (0)

static u64 mix(u64 x)
{
	/* splitmix64 finaliser: register values from the input bytes */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void check_shape(const u8 *b, const struct cg_insn *in)
{
	unsigned int p = 0;
	u8 modrm, digit;

	CHECK(in->len >= 2 && in->len <= 13);
	CHECK(in->width == 4 || in->width == 8);
	CHECK(in->op <= CG_OP_XADD);
	CHECK(in->scale == 1 || in->scale == 2 || in->scale == 4 ||
	      in->scale == 8);
	CHECK(in->base >= -1 && in->base < 16 && in->index >= -1 &&
	      in->index < 16 && in->index != 4 && in->reg < 16);
	CHECK(!in->rip_rel || (in->base < 0 && in->index < 0));
	CHECK(in->index >= 0 || in->scale == 1);
	if (b[p] == 0xf0) {
		CHECK(in->lock);
		p++;
	} else {
		CHECK(!in->lock);
	}
	if ((b[p] & 0xf0) == 0x40) {
		CHECK(in->width == ((b[p] & 8) ? 8 : 4));
		p++;
	} else {
		CHECK(in->width == 4);
	}
	if (b[p] == 0x0f) {
		CHECK(b[p + 1] == 0xc1 && in->op == CG_OP_XADD);
		p++;
	}
	modrm = b[p + 1];
	digit = (modrm >> 3) & 7;
	CHECK((modrm >> 6) != 3);
	switch (b[p]) {
	case 0x89:
		CHECK(in->op == CG_OP_MOV && !in->lock);
		break;
	case 0x01:
		CHECK(in->op == CG_OP_ADD && !in->has_imm);
		break;
	case 0x29:
		CHECK(in->op == CG_OP_SUB && !in->has_imm);
		break;
	case 0x83:
	case 0x81:
		CHECK(in->has_imm && (digit == 0 || digit == 5));
		CHECK(in->op == (digit ? CG_OP_SUB : CG_OP_ADD));
		if (b[p] == 0x83)
			CHECK(in->imm == (s8)b[in->len - 1]);
		break;
	case 0xff:
		CHECK(digit <= 1 && !in->has_imm);
		CHECK(in->op == (digit ? CG_OP_DEC : CG_OP_INC));
		break;
	case 0xc1:
		break;
	default:
		CHECK(0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int len = size > 64 ? 64 : size, k;
	struct cg_insn a, b;
	struct cg_regs ra, rb, orig;
	u64 na, nb, old, seed = 0;
	u8 *copy;
	int r1, r2, i;

	copy = malloc(len ? len : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, len);

	r1 = cg_decode(copy, len, &a);
	r2 = ref_decode(copy, len, &b);
	CHECK(r1 == 0 || r1 == -EINVAL || r1 == -ENODATA);
	CHECK(r1 == r2);
	if (r1) {
		free(copy);
		return 0;
	}
	CHECK(!ref_insn_diff(&a, &b));
	CHECK(a.len <= len);
	check_shape(copy, &a);
	for (k = 0; k < a.len; k++)
		CHECK(cg_decode(copy, k, &b) == -ENODATA);
	CHECK(cg_decode(copy, a.len, &b) == 0 && !ref_insn_diff(&a, &b));

	/* Emulate with state derived from the input. */
	for (k = 0; k < len; k++)
		seed = mix(seed ^ copy[k]);
	for (i = 0; i < 16; i++)
		ra.gpr[i] = seed = mix(seed);
	ra.ip = mix(seed);
	ra.flags = mix(ra.ip);
	old = mix(ra.flags);
	if (len > a.len && (copy[a.len] & 1))
		old = (u64)(s64)(s8)copy[a.len];	/* small values too */
	rb = ra;
	orig = ra;
	(void)cg_effective_address(&a, &ra);
	cg_emulate(&a, &ra, old, &na);
	ref_emulate(&a, &rb, old, &nb);
	CHECK(na == nb);
	CHECK(!memcmp(&ra, &rb, sizeof(ra)));
	CHECK(a.width == 8 || na <= 0xffffffffULL);
	CHECK(ra.ip == orig.ip + a.len);
	CHECK(!((ra.flags ^ orig.flags) & ~(CG_FLAGS_ARITH | CG_FLAG_RF)));
	CHECK(!(ra.flags & CG_FLAG_RF));
	if (a.op == CG_OP_MOV)
		CHECK(!((ra.flags ^ orig.flags) & CG_FLAGS_ARITH));
	if (a.op == CG_OP_INC || a.op == CG_OP_DEC)
		CHECK(!((ra.flags ^ orig.flags) & CG_FLAG_CF));
	for (i = 0; i < 16; i++)
		CHECK(ra.gpr[i] == orig.gpr[i] ||
		      (a.op == CG_OP_XADD && i == a.reg));
	free(copy);
	return 0;
}
