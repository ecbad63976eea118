// SPDX-License-Identifier: GPL-2.0
/*
 * binutils as an independent oracle, in both directions. Random byte strings
 * (whitelist-shaped, mutated assembler vectors, prefix soup) are written as
 * .byte lines, one labelled 16-byte slot each, assembled with as and
 * disassembled with objdump. For each one:
 *  - objdump's reading says whether it is whitelisted: mnemonic mov/add/
 *    sub/inc/dec/xadd, 32- or 64-bit, memory destination, register or
 *    immediate source as the form requires, no segment/data16/addr32/rep/
 *    HLE prefix, no lock on mov; plus the raw rule that the only prefixes
 *    are an optional F0 followed by an optional REX;
 *  - cg_decode() must accept exactly those, and agree with objdump on the
 *    length, operation, width, lock, register, immediate and every part of
 *    the memory operand.
 *
 * Usage: test_objdump [-n SAMPLES] [-s SEED] [-k] (keep the temp files)
 * Environment: AS, OBJDUMP (default "as", "objdump"), TMPDIR.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "tap.h"
#include "vectors.h"

#define SLOT 16
#define MAX_DIAG 25

static u64 rng_state = 0x853c49e6748fea9bULL;

static u64 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static const u8 prefixes[] = { 0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26,
			       0x64, 0x65, 0x66, 0x67 };

static int is_prefix(u8 b)
{
	return memchr(prefixes, b, sizeof(prefixes)) || (b & 0xf0) == 0x40;
}

static void make_sample(u8 *b)
{
	static const u8 ours[] = { 0x89, 0x01, 0x29, 0x83, 0x81, 0xff, 0x0f };
	static const u8 others[] = { 0x88, 0x00, 0x28, 0x80, 0xfe, 0xc7, 0x09,
				     0x21, 0x31, 0x39, 0x87, 0x03, 0x2b, 0x8b,
				     0xf7, 0xd1, 0x85, 0xa3, 0x8f, 0xc6, 0x11,
				     0x19, 0xc4, 0xc5, 0x62 };
	unsigned int n = 0, i, kind = rnd() % 10;
	u64 x = rnd();

	for (i = 0; i < SLOT - 1; i++)
		b[i] = rnd();
	if (kind < 4) {
		/* Whitelist-shaped: mostly right, with the details random. */
		if (x & 1)
			b[n++] = 0xf0;
		if (x & 2)
			b[n++] = 0x40 | ((x >> 8) & 15);
		b[n] = ours[(x >> 16) % sizeof(ours)];
		if (b[n++] == 0x0f && (x & 4))
			b[n++] = 0xc1;
		return;
	}
	if (kind < 7) {
		/* An assembler vector with a byte changed or a prefix added. */
		const struct vec *v = &cg_vec[rnd() % cg_vec_count];
		unsigned int k = 0;

		if (x & 1)
			b[k++] = x & 2 ? prefixes[(x >> 8) % sizeof(prefixes)] :
					 0x40 | ((x >> 8) & 15);
		memcpy(b + k, vec_bytes(v), v->len);
		if (x & 4)
			b[k + (x >> 16) % v->len] ^= 1 << ((x >> 24) & 7);
		else if (x & 8)
			b[k + (x >> 16) % v->len] = x >> 32;
		return;
	}
	/* Prefix soup and a broader choice of opcodes. */
	for (i = 0; i < (x & 3); i++) {
		u64 y = rnd();

		b[n++] = y & 1 ? prefixes[(y >> 8) % sizeof(prefixes)] :
				 0x40 | ((y >> 8) & 15);
	}
	b[n] = (x >> 8) & 1 ? ours[(x >> 16) % sizeof(ours)] :
			      others[(x >> 16) % sizeof(others)];
	if (b[n++] == 0x0f && (x & 4))
		b[n++] = 0xc1;
}

/* The raw prefix rule: at most F0 then REX, nothing else before the opcode. */
static int prefixes_ok(const u8 *b)
{
	unsigned int p = 0;

	if (b[p] == 0xf0)
		p++;
	if ((b[p] & 0xf0) == 0x40)
		p++;
	return !is_prefix(b[p]);
}

static const char *const r64[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static const char *const r32[16] = {
	"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
	"r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d",
};

/* "%name" -> register number; *width set to 4 or 8; -1 if not a GPR32/64. */
static int reg_num(const char *s, size_t n, int *width)
{
	int i;

	if (n < 2 || s[0] != '%')
		return -1;
	s++;
	n--;
	for (i = 0; i < 16; i++) {
		if (strlen(r64[i]) == n && !strncmp(s, r64[i], n)) {
			*width = 8;
			return i;
		}
		if (strlen(r32[i]) == n && !strncmp(s, r32[i], n)) {
			*width = 4;
			return i;
		}
	}
	return -1;
}

struct parsed {
	int op, width, lock, reg, has_imm;
	u64 imm;
	int base, index, scale, rip;
	u64 disp;		/* as printed: sign-extended for absolute */
};

static int parse_hex(const char *s, const char *end, u64 *v)
{
	int neg = 0;
	char *e;

	if (s < end && *s == '-') {
		neg = 1;
		s++;
	}
	if (end - s < 3 || s[0] != '0' || s[1] != 'x')
		return -1;
	*v = strtoull(s, &e, 16);
	if (e != end)
		return -1;
	if (neg)
		*v = -*v;
	return 0;
}

/* Memory operand: [disp][(base[,index[,scale]])] with 64-bit registers only. */
static int parse_mem(const char *s, const char *end, struct parsed *p)
{
	const char *lp = memchr(s, '(', end - s), *q, *c;
	int w;

	p->base = -1;
	p->index = -1;
	p->scale = 1;
	p->rip = 0;
	p->disp = 0;
	if (memchr(s, ':', end - s))
		return -1;	/* segment override */
	if (!lp)
		return parse_hex(s, end, &p->disp);
	if (lp > s && parse_hex(s, lp, &p->disp))
		return -1;
	if (end[-1] != ')')
		return -1;
	q = lp + 1;
	c = memchr(q, ',', end - 1 - q);
	if (!c)
		c = end - 1;
	if (c - q == 4 && !strncmp(q, "%rip", 4)) {
		p->rip = 1;
	} else if (c > q) {
		p->base = reg_num(q, c - q, &w);
		if (p->base < 0 || w != 8)
			return -1;
	}
	if (c == end - 1)
		return 0;
	q = c + 1;
	c = memchr(q, ',', end - 1 - q);
	if (!c)
		return -1;
	if (c - q == 4 && !strncmp(q, "%riz", 4)) {
		p->index = -1;
	} else {
		p->index = reg_num(q, c - q, &w);
		if (p->index < 0 || w != 8)
			return -1;
	}
	p->scale = atoi(c + 1);
	if (p->index < 0)
		p->scale = 1;
	return 0;
}

/*
 * objdump's text -> whitelisted instruction, or -1. The raw prefix rule is
 * checked by the caller.
 */
static int parse_objdump(char *text, struct parsed *p)
{
	static const char *const mn[] = { "mov", "add", "sub", "inc", "dec",
					  "xadd" };
	char *tok, *ops, *end, *comma, *hash;
	size_t ml;
	int i, w = 0, sfx = 0;

	memset(p, 0, sizeof(*p));
	hash = strchr(text, '#');
	if (hash)
		*hash = 0;
	tok = strtok(text, " \t");
	while (tok && (!strcmp(tok, "lock") || !strncmp(tok, "rex", 3))) {
		if (!strcmp(tok, "lock"))
			p->lock = 1;
		tok = strtok(NULL, " \t");
	}
	if (!tok)
		return -1;
	ops = strtok(NULL, " \t");
	ml = strlen(tok);
	p->op = -1;
	for (i = 0; i < 6; i++) {
		size_t l = strlen(mn[i]);

		if (!strncmp(tok, mn[i], l) && (ml == l || (ml == l + 1 &&
		    (tok[l] == 'l' || tok[l] == 'q')))) {
			p->op = i;
			sfx = ml == l + 1 ? (tok[l] == 'q' ? 8 : 4) : 0;
		}
	}
	if (p->op < 0 || !ops || strtok(NULL, " \t"))
		return -1;
	if (p->op == CG_OP_MOV && p->lock)
		return -1;
	end = ops + strlen(ops);
	if (p->op == CG_OP_INC || p->op == CG_OP_DEC) {
		if (ops[0] == '%' || parse_mem(ops, end, p))
			return -1;
		w = sfx;
	} else {
		/* Source and destination: the first comma outside parens. */
		comma = strchr(ops, ',');
		if (!comma || parse_mem(comma + 1, end, p) || comma[1] == '%')
			return -1;
		if (ops[0] == '$') {
			if (p->op == CG_OP_MOV || p->op == CG_OP_XADD ||
			    parse_hex(ops + 1, comma, &p->imm))
				return -1;
			p->has_imm = 1;
			w = sfx;
		} else {
			p->reg = reg_num(ops, comma - ops, &w);
			if (p->reg < 0 || (sfx && sfx != w))
				return -1;
		}
	}
	if (w != 4 && w != 8)
		return -1;
	p->width = w;
	return 0;
}

static const char *compare(const struct cg_insn *in, const struct parsed *p,
			   unsigned int olen)
{
	u64 mask = in->width == 8 ? ~0ULL : 0xffffffffULL;

	if (in->len != olen)
		return "length";
	if (in->op != p->op)
		return "op";
	if (in->width != p->width)
		return "width";
	if (in->lock != p->lock)
		return "lock";
	if (in->has_imm != p->has_imm)
		return "has_imm";
	if (in->has_imm && ((u64)in->imm & mask) != (p->imm & mask))
		return "imm";
	if (!in->has_imm && in->op != CG_OP_INC && in->op != CG_OP_DEC &&
	    in->reg != p->reg)
		return "reg";
	if (in->rip_rel != p->rip)
		return "rip";
	if (in->base != p->base)
		return "base";
	if (in->index != p->index)
		return "index";
	if (in->scale != p->scale)
		return "scale";
	if ((u64)(s64)in->disp != p->disp)
		return "disp";
	return NULL;
}

int main(int argc, char **argv)
{
	const char *as = getenv("AS"), *objdump = getenv("OBJDUMP");
	const char *tmp = getenv("TMPDIR");
	unsigned int n = 20000, i, j, cur = 0, olen = 0;
	unsigned long both_acc = 0, both_ref = 0, bad = 0, missing = 0;
	char dir[256], cmd[4096], line[512];
	int keep = 0, c, shown = 0, have = 0;
	u8 (*samples)[SLOT];
	FILE *f;

	while ((c = getopt(argc, argv, "n:s:k")) != -1) {
		switch (c) {
		case 'n':
			n = strtoul(optarg, NULL, 0);
			break;
		case 's':
			rng_state = strtoull(optarg, NULL, 0) | 1;
			break;
		case 'k':
			keep = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-n N] [-s SEED] [-k]\n", argv[0]);
			return 2;
		}
	}
	as = as ? as : "as";
	objdump = objdump ? objdump : "objdump";
	snprintf(dir, sizeof(dir), "%s/cg_objdump.XXXXXX", tmp ? tmp : "/tmp");
	samples = calloc(n, SLOT);
	if (!samples || !mkdtemp(dir)) {
		perror("setup");
		return 1;
	}
	tap_plan(3);

	snprintf(cmd, sizeof(cmd), "%s/s.s", dir);
	f = fopen(cmd, "w");
	if (!f) {
		perror(cmd);
		return 1;
	}
	fprintf(f, "\t.text\n");
	for (i = 0; i < n; i++) {
		make_sample(samples[i]);
		samples[i][SLOT - 1] = 0xcc;
		fprintf(f, "s%u:\t.byte ", i);
		for (j = 0; j < SLOT; j++)
			fprintf(f, "0x%02x%s", samples[i][j], j + 1 < SLOT ? "," : "\n");
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "%s --64 -o %s/s.o %s/s.s && %s -d -w --insn-width=16 %s/s.o > %s/s.txt",
		 as, dir, dir, objdump, dir, dir);
	tap_ok(system(cmd) == 0, "%u samples assembled and disassembled by binutils", n);

	snprintf(cmd, sizeof(cmd), "%s/s.txt", dir);
	f = fopen(cmd, "r");
	if (!f) {
		perror(cmd);
		return 1;
	}
	/* The first instruction line after each "<sN>:" header. */
	while (fgets(line, sizeof(line), f)) {
		char *lt = strchr(line, '<'), *tab1, *tab2, *nl;
		const u8 *b;
		struct cg_insn in;
		struct parsed p;
		const char *why = NULL;
		int ours, theirs;

		if (isxdigit((unsigned char)line[0]) && lt && lt[1] == 's') {
			cur = strtoul(lt + 2, NULL, 10);
			have = 1;
			continue;
		}
		if (!have || !(tab1 = strchr(line, '\t')))
			continue;
		have = 0;
		tab2 = strchr(tab1 + 1, '\t');
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		olen = 0;
		for (j = 1; tab1[j] && tab1 + j != tab2; j++)
			if (isxdigit((unsigned char)tab1[j]) &&
			    isxdigit((unsigned char)tab1[j + 1])) {
				olen++;
				j++;
			}
		if (cur >= n)
			continue;
		b = samples[cur];
		ours = cg_decode(b, SLOT - 1, &in) == 0;
		{
			char text[256];

			snprintf(text, sizeof(text), "%s", tab2 ? tab2 + 1 : "");
			theirs = prefixes_ok(b) && !parse_objdump(text, &p);
		}
		if (ours && theirs)
			why = compare(&in, &p, olen);
		else if (ours != theirs)
			why = ours ? "accepted, objdump says not whitelisted" :
				     "refused, objdump says whitelisted";
		if (why) {
			char hex[64] = "";

			bad++;
			for (j = 0; j < olen && j < 15; j++)
				snprintf(hex + 3 * j, 4, "%02x ", b[j]);
			if (shown++ < MAX_DIAG)
				tap_diag("[%s] \"%s\": %s", hex,
					 tab2 ? tab2 + 1 : "", why);
		} else if (ours) {
			both_acc++;
		} else {
			both_ref++;
		}
	}
	fclose(f);
	missing = n - both_acc - both_ref - bad;
	tap_ok(!missing, "objdump output parsed for every sample (%lu missing)",
	       missing);
	tap_ok(!bad && both_acc > n / 10,
	       "cg_decode agrees with objdump: %lu whitelisted, %lu refused, %lu disagreements",
	       both_acc, both_ref, bad);
	if (!keep) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			tap_diag("could not remove %s", dir);
	} else {
		tap_diag("kept %s", dir);
	}
	free(samples);
	return tap_exit();
}
