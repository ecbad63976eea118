// SPDX-License-Identifier: GPL-2.0
/*
 * Writes vectors.s: the decoder's test vectors as assembler source, so that
 * the bytes come from binutils at test time and not from our own idea of the
 * encoding. Each vector is a labelled instruction in .rodata.cgcode plus a
 * struct vec (see vectors.h) in .rodata.cgexp holding its offset, its length
 * (computed by the assembler from the labels), its source text and the
 * fields cg_decode() must report. Negative vectors carry valid = 0.
 *
 * Usage: gen_vectors OUT.s
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "vectors.h"

static FILE *out;
static unsigned int nvec;

static const char *const reg64[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static const char *const reg32[16] = {
	"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
	"r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d",
};

struct form {
	char text[64];
	int base, index, scale, rip;
	long disp;
	const char *pseudo;	/* "{disp32}" etc., or "" */
};

#define MAX_FORMS 256
static struct form forms[MAX_FORMS];
static int nforms;

static void hexs(char *buf, size_t n, long v)
{
	if (v < 0)
		snprintf(buf, n, "-0x%lx", -v);
	else
		snprintf(buf, n, "0x%lx", v);
}

static void add_form(int base, int index, int scale, long disp, int has_disp,
		     int rip, const char *pseudo)
{
	struct form *f = &forms[nforms++];
	char d[32] = "";

	if (nforms > MAX_FORMS) {
		fprintf(stderr, "too many forms\n");
		exit(1);
	}
	if (has_disp)
		hexs(d, sizeof(d), disp);
	if (rip)
		snprintf(f->text, sizeof(f->text), "%s(%%rip)", d);
	else if (base < 0 && index < 0)
		snprintf(f->text, sizeof(f->text), "%s", d);
	else if (index < 0)
		snprintf(f->text, sizeof(f->text), "%s(%%%s)", d, reg64[base]);
	else
		snprintf(f->text, sizeof(f->text), "%s(%s%s,%%%s,%d)", d,
			 base < 0 ? "" : "%", base < 0 ? "" : reg64[base],
			 reg64[index], scale);
	f->base = base;
	f->index = index;
	f->scale = index < 0 ? 1 : scale;
	f->disp = disp;
	f->rip = rip;
	f->pseudo = pseudo;
}

static void build_forms(void)
{
	static const long d8[] = { 0x10, -0x80, 0x7f, -1 };
	static const long d32[] = { 0x1000, -0x12345678, 0x7fffffff,
				    -0x80000000L };
	static const long dix[] = { 0, 0x10, -0x80, 0x1000, -0x12345678 };
	int r, s, i;

	/* Form ids 0..15: base only (rsp/r12 need a SIB, rbp/r13 a disp8). */
	for (r = 0; r < 16; r++)
		add_form(r, -1, 1, 0, 0, 0, "");
	for (r = 0; r < 16; r++)
		add_form(r, -1, 1, d8[r % 4], 1, 0, "");
	for (r = 0; r < 16; r++)
		add_form(r, -1, 1, d32[r % 4], 1, 0, "");
	/* Small displacements forced into the long encodings. */
	add_form(3, -1, 1, 0, 0, 0, "{disp32}");
	add_form(12, -1, 1, 8, 1, 0, "{disp32}");
	add_form(13, -1, 1, -8, 1, 0, "{disp32}");
	add_form(0, -1, 1, 0, 0, 0, "{disp8}");
	add_form(6, 9, 4, 0, 0, 0, "{disp8}");
	/* Absolute disp32, encoded with a SIB with neither base nor index. */
	add_form(-1, -1, 1, 0x40001000, 1, 0, "");
	add_form(-1, -1, 1, -0x1000, 1, 0, "");
	/* Every index and scale, with no base and with a rotating base. */
	i = 0;
	for (r = 0; r < 16; r++) {
		if (r == 4)
			continue;
		for (s = 1; s <= 8; s *= 2) {
			add_form(-1, r, s, (i % 3) ? 0x40 : -0x88, 1, 0, "");
			add_form(i % 16, r, s, dix[i % 5], dix[i % 5] != 0, 0,
				 "");
			i++;
		}
	}
	add_form(-1, -1, 1, 0x1234, 1, 1, "");
	add_form(-1, -1, 1, -0x1234, 1, 1, "");
	add_form(-1, -1, 1, 0, 1, 1, "");
	add_form(-1, -1, 1, 0x7ffffff0, 1, 1, "");
	add_form(-1, -1, 1, -0x80000000L, 1, 1, "");
}

struct expect {
	int valid, op, width, lock, has_imm, reg, base, index, scale, rip;
	long disp;
	long imm;
	int form;
};

/* The instruction text is printf-formatted; it is also the vector's name. */
static void emit(const struct expect *e, const char *fmt, ...)
{
	char text[256];
	va_list ap;
	unsigned int n = nvec++;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);

	fprintf(out, "\t.pushsection .rodata.cgcode,\"a\"\n");
	fprintf(out, ".Lc%u:\t%s\n.Le%u:\n", n, text, n);
	fprintf(out, "\t.popsection\n");
	fprintf(out, "\t.pushsection .rodata.cgstr,\"a\"\n");
	fprintf(out, ".Ls%u:\t.asciz \"%s\"\n", n, text);
	fprintf(out, "\t.popsection\n");
	fprintf(out, "\t.long .Lc%u-cg_vec_code, .Le%u-.Lc%u, .Ls%u-cg_vec_str\n",
		n, n, n, n);
	fprintf(out, "\t.byte %d,%d,%d,%d,%d,%d,%d,%d,%d,%d,0,0\n",
		e->op, e->width, e->lock, e->has_imm, e->reg, e->base & 0xff,
		e->index & 0xff, e->scale, e->rip, e->valid);
	fprintf(out, "\t.long %ld, %d\n\t.quad %ld\n", e->disp, e->form,
		e->imm);
}

static void emit_neg(const char *text)
{
	struct expect e = { 0 };

	emit(&e, "%s", text);
}

static const char *const opname[] = {
	[CG_OP_MOV] = "mov", [CG_OP_ADD] = "add", [CG_OP_SUB] = "sub",
	[CG_OP_INC] = "inc", [CG_OP_DEC] = "dec", [CG_OP_XADD] = "xadd",
};

static void fill(struct expect *e, const struct form *f, int fi, int op,
		 int width, int lock)
{
	memset(e, 0, sizeof(*e));
	e->valid = 1;
	e->op = op;
	e->width = width;
	e->lock = lock;
	e->base = f->base;
	e->index = f->index;
	e->scale = f->scale;
	e->rip = f->rip;
	e->disp = f->disp;
	e->form = fi;
}

static void positives(void)
{
	static const long ib[] = { 1, -1, 0x7f, -0x80, 0x10, 0xf, 0, 2 };
	static const long id[] = { 0x80, -0x81, 0x7fffffff, -0x80000000L,
				   0x12345678, 0x1000, -0x10000, 0xffff };
	static const int rops[] = { CG_OP_MOV, CG_OP_ADD, CG_OP_SUB,
				    CG_OP_XADD };
	struct expect e;
	int fi, w, lock, r, k, o;

	for (fi = 0; fi < nforms; fi++) {
		const struct form *f = &forms[fi];

		for (w = 4; w <= 8; w += 4) {
			char sfx = w == 8 ? 'q' : 'l';
			const char *const *rn = w == 8 ? reg64 : reg32;

			for (lock = 0; lock <= 1; lock++) {
				const char *lp = lock ? "lock " : "";

				for (k = 0; k < 4; k++) {
					o = rops[k];
					if (o == CG_OP_MOV && lock)
						continue;
					for (r = 0; r < 16; r++) {
						fill(&e, f, fi, o, w, lock);
						e.reg = r;
						emit(&e, "%s %s%s%c %%%s,%s",
						     f->pseudo, lp, opname[o],
						     sfx, rn[r], f->text);
					}
				}
				for (o = CG_OP_ADD; o <= CG_OP_SUB; o++) {
					fill(&e, f, fi, o, w, lock);
					e.has_imm = 1;
					e.imm = ib[(fi + o + w) % 8];
					emit(&e, "%s %s%s%c $%ld,%s",
					     f->pseudo, lp, opname[o], sfx,
					     e.imm, f->text);
					e.imm = id[(fi + o + w + lock) % 8];
					emit(&e, "%s %s%s%c $%ld,%s",
					     f->pseudo, lp, opname[o], sfx,
					     e.imm, f->text);
				}
				for (o = CG_OP_INC; o <= CG_OP_DEC; o++) {
					fill(&e, f, fi, o, w, lock);
					emit(&e, "%s %s%s%c %s", f->pseudo, lp,
					     opname[o], sfx, f->text);
				}
			}
		}
	}
}

/*
 * Legal encodings the assembler never chooses: redundant or ignored REX
 * bits and SIB bytes without an index. Written as bytes, with the fields
 * the CPU gives them.
 */
static void odd_positives(void)
{
	struct expect e;

#define ODD(text, op_, w_, lock_, reg_, base_, index_, scale_, rip_, disp_, \
	    imm_, has_imm_) do {						\
		memset(&e, 0, sizeof(e));					\
		e.valid = 1; e.op = op_; e.width = w_; e.lock = lock_;		\
		e.reg = reg_; e.base = base_; e.index = index_;			\
		e.scale = scale_; e.rip = rip_; e.disp = disp_;			\
		e.imm = imm_; e.has_imm = has_imm_; e.form = -1;		\
		emit(&e, "%s", text);						\
	} while (0)

	/* SIB with index 100 and no REX.X: no index, whatever the scale. */
	ODD(".byte 0x48,0x01,0x04,0x23", CG_OP_ADD, 8, 0, 0, 3, -1, 1, 0, 0,
	    0, 0);
	ODD(".byte 0xf0,0x48,0x01,0x0c,0xa3", CG_OP_ADD, 8, 1, 1, 3, -1, 1,
	    0, 0, 0, 0);
	ODD(".byte 0x48,0x29,0x44,0x60,0x10", CG_OP_SUB, 8, 0, 0, 0, -1, 1,
	    0, 0x10, 0, 0);
	/* Same with REX.X: index r12. */
	ODD(".byte 0x4a,0x01,0x04,0xa3", CG_OP_ADD, 8, 0, 0, 3, 12, 4, 0, 0,
	    0, 0);
	/* REX.X without a SIB is ignored. */
	ODD(".byte 0x4a,0x01,0x03", CG_OP_ADD, 8, 0, 0, 3, -1, 1, 0, 0, 0, 0);
	/* REX.B with rm 101 mod 00 is still RIP-relative. */
	ODD(".byte 0x49,0x01,0x05,0x78,0x56,0x34,0x12", CG_OP_ADD, 8, 0, 0, -1,
	    -1, 1, 1, 0x12345678, 0, 0);
	/* SIB base 101 mod 00 with REX.B: disp32, no base (not r13). */
	ODD(".byte 0x49,0x01,0x04,0x25,0x00,0x10,0x00,0x40", CG_OP_ADD, 8, 0,
	    0, -1, -1, 1, 0, 0x40001000, 0, 0);
	ODD(".byte 0x4b,0x01,0x04,0xe5,0xf0,0xff,0xff,0xff", CG_OP_ADD, 8, 0,
	    0, -1, 12, 8, 0, -0x10, 0, 0);
	/* REX.R is ignored by the /digit forms. */
	ODD(".byte 0x4c,0x83,0x00,0x01", CG_OP_ADD, 8, 0, 0, 0, -1, 1, 0, 0, 1,
	    1);
	ODD(".byte 0xf0,0x44,0xff,0x0b", CG_OP_DEC, 4, 1, 0, 3, -1, 1, 0, 0, 0,
	    0);
	/* A REX with no bits set changes nothing here. */
	ODD(".byte 0x40,0x0f,0xc1,0x03", CG_OP_XADD, 4, 0, 0, 3, -1, 1, 0, 0,
	    0, 0);
	ODD("{rex} addl %eax,(%rbx)", CG_OP_ADD, 4, 0, 0, 3, -1, 1, 0, 0, 0,
	    0);
	/* REX.W with 81 id: the immediate is sign-extended to 64 bits. */
	ODD(".byte 0x48,0x81,0x2b,0xff,0xff,0xff,0xff", CG_OP_SUB, 8, 0, 0, 3,
	    -1, 1, 0, 0, -1, 1);
	/* mod 10 with a zero disp32 on r12 via SIB. */
	ODD(".byte 0xf0,0x49,0x0f,0xc1,0x84,0x24,0,0,0,0", CG_OP_XADD, 8, 1, 0,
	    12, -1, 1, 0, 0, 0, 0);
#undef ODD
}

static void negatives(void)
{
	static const char *const neg[] = {
		/* 16- and 8-bit operands */
		"addw %ax,(%rbx)", "lock addw $1,(%rbx)", "incw (%rax)",
		"lock xaddw %ax,(%rbx)", "movw %ax,(%rbx)", "subw $0x1234,(%rbx)",
		"addb %al,(%rbx)", "lock addb $1,(%rbx)", "incb (%rax)",
		"decb (%rax)", "xaddb %al,(%rbx)", "movb %al,(%rbx)",
		"subb %r8b,(%rbx)", "lock subb $0x7f,(%rbx)",
		/* immediate and absolute-address stores */
		"movb $1,(%rbx)", "movw $1,(%rbx)", "movl $1,(%rbx)",
		"movq $1,(%rbx)", "movq $-1,0x10(%rbx,%rcx,8)",
		"movabs %rax,0x1122334455667788",
		"movabs %eax,0x1122334455667788",
		/* segment overrides */
		"addq %rax,%fs:(%rbx)", "lock incq %gs:8(%rax)",
		"movq %rax,%fs:0x28", "addq $1,%es:(%rbx)",
		"addq $1,%cs:(%rbx)", "addq $1,%ss:(%rbx)",
		"ds addq $1,(%rbx)", "cs lock addq $1,(%rbx)",
		/* 32-bit addressing */
		"addq %rax,(%ebx)", "lock incl (%eax)",
		"addl $1,0x10(%eax,%ecx,4)", "movq %rax,(%ebx)",
		"xaddq %rax,(%r8d)", "addq $1,(%eip)",
		/* other read-modify-write instructions */
		"orq %rax,(%rbx)", "lock orq $1,(%rbx)", "andq %rax,(%rbx)",
		"lock andl $1,(%rbx)", "xorq %rax,(%rbx)", "adcq %rax,(%rbx)",
		"adcq $1,(%rbx)", "sbbq $1,(%rbx)", "sbbl %eax,(%rbx)",
		"cmpq $1,(%rbx)", "cmpq %rax,(%rbx)", "testq %rax,(%rbx)",
		"lock cmpxchgq %rcx,(%rbx)", "cmpxchgl %ecx,(%rbx)",
		"lock cmpxchg16b (%rbx)", "lock cmpxchg8b (%rbx)",
		"xchgq %rax,(%rbx)", "xchgl %eax,(%rbx)", "negq (%rbx)",
		"lock negl (%rbx)", "notq (%rbx)", "lock notq (%rbx)",
		"shlq (%rbx)", "sarq $3,(%rbx)", "lock btsq $1,(%rbx)",
		"lock btrq %rax,(%rbx)", "lock btcq %rax,(%rbx)",
		"imulq $3,(%rbx),%rax", "mulq (%rbx)", "popq (%rbx)",
		"pushq (%rbx)", "call *(%rbx)", "jmp *(%rbx)",
		"ljmp *(%rbx)", "lcall *(%rbx)",
		/* loads */
		"addq (%rbx),%rax", "subq (%rbx),%rax", "movq (%rbx),%rax",
		"movl (%rbx),%eax", "leaq 8(%rbx),%rax",
		/* register destinations */
		"xaddq %rax,%rbx", "xaddl %eax,%ecx", ".byte 0xf0,0x0f,0xc1,0xc1",
		"addq %rax,%rbx", "addq $1,%rbx", "addl $0x1000,%ecx",
		"movq %rax,%rbx", "incq %rbx", "decl %ecx", "subq %rax,%rbx",
		"subq $8,%rsp", "incq %r12",
		/* vector, string and other stores */
		"vmovdqu %ymm0,(%rax)", "vmovdqu %xmm0,(%rax)",
		"vmovdqu64 %zmm0,(%rax)", "vmovq %xmm1,(%rax)",
		"vpaddq %ymm0,%ymm1,%ymm2", "movups %xmm0,(%rax)",
		"movnti %rax,(%rbx)", "movq %xmm0,(%rax)", "movbe %rax,(%rbx)",
		"rep movsb", "rep stosq", "movsq", "stosl", "cmpxchg %rax,(%rbx)",
		"xacquire lock addq $1,(%rbx)", "xrelease lock incq (%rbx)",
		"xrelease movq %rax,(%rbx)", "data16 addq %rax,(%rbx)",
		"bnd jmp *(%rax)", "notrack jmp *(%rax)", "ud2", "nop",
		"nopl 0(%rax)", "int3", "syscall", "setc (%rax)",
		/* prefixes in orders or numbers the decoder refuses */
		".byte 0xf0,0x89,0x03", ".byte 0xf0,0x48,0x89,0x03",
		".byte 0x48,0xf0,0x01,0x03", ".byte 0xf0,0xf0,0x01,0x03",
		".byte 0x48,0x48,0x01,0x03", ".byte 0x40,0x48,0x01,0x03",
		".byte 0x66,0x48,0x01,0x03", ".byte 0xf2,0x48,0x01,0x03",
		".byte 0xf3,0x48,0x01,0x03", ".byte 0x3e,0x48,0x01,0x03",
		".byte 0x2e,0xf0,0x48,0x01,0x03", ".byte 0xf0,0x2e,0x48,0x01,0x03",
		".byte 0x67,0xf0,0xff,0x00", ".byte 0xf0,0x67,0xff,0x00",
		".byte 0x26,0xff,0x00", ".byte 0x36,0xff,0x00",
		".byte 0x64,0xff,0x00", ".byte 0x65,0xff,0x00",
		".byte 0x66,0x89,0x03", ".byte 0xf0,0x66,0x01,0x03",
		/* the opcode extensions next to ours, and reg-reg forms */
		".byte 0x48,0x83,0x08,0x01", ".byte 0x48,0x83,0x10,0x01",
		".byte 0x48,0x83,0x18,0x01", ".byte 0x48,0x83,0x20,0x01",
		".byte 0x48,0x83,0x30,0x01", ".byte 0x48,0x83,0x38,0x01",
		".byte 0x48,0x81,0x08,1,0,0,0", ".byte 0x48,0x81,0x38,1,0,0,0",
		".byte 0x48,0xff,0x10", ".byte 0x48,0xff,0x18",
		".byte 0x48,0xff,0x20", ".byte 0x48,0xff,0x28",
		".byte 0x48,0xff,0x30", ".byte 0x48,0xff,0x38",
		".byte 0x48,0x83,0xc0,0x01", ".byte 0xf0,0xff,0xc0",
		".byte 0x0f,0xc1,0xc3", ".byte 0x0f,0xc0,0x03",
		".byte 0x0f,0xc2,0x03,0x00", ".byte 0x0f,0x01,0x03",
		".byte 0x48,0x0f,0x01,0x03", ".byte 0x01,0xc3",
		".byte 0x89,0xc3", ".byte 0x29,0xd8",
		".byte 0xc5,0xfe,0x7f,0x00", ".byte 0xc4,0xe1,0xfe,0x7f,0x00",
		".byte 0x62,0xf1,0xfe,0x48,0x7f,0x00", ".byte 0x8f,0x00",
		".byte 0xd6", ".byte 0x0f,0x0b",
		".byte 0x48,0x90", ".byte 0xf0,0x90",
	};
	unsigned int i;

	for (i = 0; i < sizeof(neg) / sizeof(neg[0]); i++)
		emit_neg(neg[i]);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUT.s\n", argv[0]);
		return 2;
	}
	out = fopen(argv[1], "w");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	build_forms();
	fprintf(out, "/* Generated by gen_vectors; do not edit. */\n");
	fprintf(out, "\t.section .rodata.cgcode,\"a\"\n\t.globl cg_vec_code\n");
	fprintf(out, "cg_vec_code:\n");
	fprintf(out, "\t.section .rodata.cgstr,\"a\"\n\t.globl cg_vec_str\n");
	fprintf(out, "cg_vec_str:\n");
	fprintf(out, "\t.section .rodata.cgexp,\"a\"\n\t.balign 8\n");
	fprintf(out, "\t.globl cg_vec\ncg_vec:\n");
	positives();
	odd_positives();
	negatives();
	fprintf(out, "\t.globl cg_vec_count\n\t.balign 4\ncg_vec_count:\n");
	fprintf(out, "\t.long %u\n", nvec);
	fprintf(out, "\t.section .note.GNU-stack,\"\",@progbits\n");
	if (fclose(out)) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
