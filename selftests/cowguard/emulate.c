// SPDX-License-Identifier: GPL-2.0
/*
 * Refcount-only writes: whitelisted instructions on a marked slot with band
 * values are emulated (page stays shared, value unchanged, registers and
 * flags as if executed); anything else takes the shadow path and keeps the
 * write; the trap budget turns a hot page into a shadow.
 */
#include "cg_test.h"
#include "kselftest_harness.h"

#define BAND_VAL	(1ULL << 60)

FIXTURE(emu) {
	int fd;
	uint64_t *w;
};

static int reg_slots(int fd, void *p, unsigned int budget)
{
	static uint8_t map[PG / 8 / 8];
	struct cowguard_register r = {
		.size = sizeof(r), .start = (uintptr_t)p, .length = PG,
		.slot_width = 8, .slot_map = (uintptr_t)map,
		.slot_map_len = sizeof(map), .trap_budget = budget,
		.band_low = 1ULL << 59, .band_high = 1ULL << 61,
	};

	map[0] = 0x05;		/* words 0 and 2 are refcounts */
	return ioctl(fd, COWGUARD_IOC_REGISTER, &r) ? -errno : 0;
}

FIXTURE_SETUP(emu)
{
	self->fd = cg_open();
	ASSERT_LE(0, self->fd);
	self->w = (uint64_t *)cg_map_filled(1);
	ASSERT_NE(NULL, self->w);
	self->w[0] = BAND_VAL;
	self->w[2] = BAND_VAL;
	ASSERT_EQ(0, reg_slots(self->fd, self->w, 0));
}

FIXTURE_TEARDOWN(emu)
{
	close(self->fd);
}

static struct cowguard_stats stats_of(int fd, void *p)
{
	struct cowguard_stats st;

	cg_stats(fd, p, &st);
	return st;
}

TEST_F(emu, whitelisted_writes_are_dropped)
{
	volatile uint64_t *w = self->w;
	uint64_t rax = 5, out;
	unsigned char zf = 1;
	struct cowguard_stats st;

	asm volatile("lock addq $1, (%1)\n\tsetz %0" : "=r"(zf) : "r"(w) : "memory", "cc");
	EXPECT_EQ(0, zf);
	asm volatile("lock xaddq %0, (%1)" : "+r"(rax) : "r"(w) : "memory", "cc");
	EXPECT_EQ(BAND_VAL, rax);		/* xadd loaded the page's value */
	asm volatile("incq (%0)" : : "r"(w + 2) : "memory", "cc");
	asm volatile("decq (%0)" : : "r"(w + 2) : "memory", "cc");
	asm volatile("subq $3, (%0)" : : "r"(w) : "memory", "cc");
	out = BAND_VAL + 7;
	asm volatile("movq %0, (%1)" : : "r"(out), "r"(w) : "memory");
	asm volatile("lock subl $1, (%0)" : : "r"(w) : "memory", "cc");	/* 4-byte: refused */
	st = stats_of(self->fd, self->w);
	EXPECT_EQ(6, st.emulated);
	EXPECT_EQ(1, st.shadow_pages);
	EXPECT_EQ(1, st.refused[COWGUARD_REFUSE_NOT_SLOT]);
	/* The 32-bit write landed on the shadow: the low word moved by -1. */
	EXPECT_EQ(BAND_VAL - 1 + (1ULL << 32), w[0]);
}

TEST_F(emu, emulated_page_stays_golden)
{
	volatile uint64_t *w = self->w;
	struct cowguard_stats st;
	int i;

	for (i = 0; i < 10; i++)
		asm volatile("lock addq $1, (%0)" : : "r"(w) : "memory", "cc");
	st = stats_of(self->fd, self->w);
	EXPECT_EQ(10, st.emulated);
	EXPECT_EQ(0, st.shadow_pages);
	EXPECT_EQ(BAND_VAL, w[0]);
	EXPECT_EQ(0, cg_smaps_kb(getpid(), self->w, PG, "Private_Dirty"));
}

TEST_F(emu, other_writes_take_the_shadow_path)
{
	volatile uint64_t *w = self->w;
	struct cowguard_stats st;
	pid_t pid;
	int fds[2];

	pid = fork();
	if (!pid) {
		uint64_t v = 42;

		asm volatile("movq %0, 8(%1)" : : "r"(v), "r"(w) : "memory");	/* unmarked */
		st = stats_of(self->fd, self->w);
		_exit(w[1] == 42 && st.shadow_pages == 1 &&
		      st.refused[COWGUARD_REFUSE_NOT_SLOT] == 1 ? 0 : 1);
	}
	EXPECT_EQ(0, cg_wait(pid));
	pid = fork();
	if (!pid) {
		uint64_t v = 5;

		asm volatile("movq %0, (%1)" : : "r"(v), "r"(w) : "memory");	/* leaves the band */
		st = stats_of(self->fd, self->w);
		_exit(w[0] == 5 && st.refused[COWGUARD_REFUSE_BAND] == 1 ? 0 : 1);
	}
	EXPECT_EQ(0, cg_wait(pid));
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	if (!pid) {
		uint64_t v = BAND_VAL + 1;

		/* A kernel-mode write of a band value is never emulated. */
		if (write(fds[1], &v, 8) != 8 || read(fds[0], (void *)(w + 2), 8) != 8)
			_exit(2);
		st = stats_of(self->fd, self->w);
		_exit(w[2] == BAND_VAL + 1 &&
		      st.refused[COWGUARD_REFUSE_KERNEL] == 1 ? 0 : 1);
	}
	EXPECT_EQ(0, cg_wait(pid));
	pid = fork();
	if (!pid) {
		/* Single-stepping (TF) refuses emulation: the add executes. */
		asm volatile("pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\t"
			     "lock addq $1, (%0)\n\t"
			     "pushfq\n\tandq $~0x100, (%%rsp)\n\tpopfq"
			     : : "r"(w) : "memory", "cc");
		_exit(2);
	}
	EXPECT_EQ(128 + SIGTRAP, cg_wait(pid));
	EXPECT_EQ(BAND_VAL, w[0]);
	EXPECT_EQ(0, stats_of(self->fd, self->w).shadow_pages);
}

TEST_F(emu, budget_turns_a_hot_page_into_a_shadow)
{
	volatile uint64_t *w = (uint64_t *)cg_map_filled(1);
	struct cowguard_stats st;
	int i;

	w[0] = BAND_VAL;
	w[2] = BAND_VAL;
	ASSERT_EQ(0, reg_slots(self->fd, (void *)w, 4));
	for (i = 0; i < 10; i++)
		asm volatile("lock addq $1, (%0)" : : "r"(w) : "memory", "cc");
	st = stats_of(self->fd, (void *)w);
	EXPECT_EQ(4, st.emulated);
	EXPECT_EQ(1, st.budget_shadows);
	EXPECT_EQ(1, st.shadow_pages);
	EXPECT_EQ(BAND_VAL + 6, w[0]);		/* the writes after it landed */
}

/*
 * Every form, run once on plain memory and once on a golden page, must leave
 * all sixteen registers and RFLAGS the same. Each form is a function that
 * loads every register but %rsp from cg_cpu_in, sets the arithmetic flags,
 * runs the instruction and stores everything to cg_cpu_out.
 */
struct cpu {
	uint64_t gpr[16];	/* rax rcx rdx rbx rsp rbp rsi rdi r8..r15 */
	uint64_t flags;
};

struct cpu cg_cpu_in, cg_cpu_out;

#define LOAD(r, i)	"movq cg_cpu_in+" #i "*8(%rip), %" #r "\n\t"
#define STORE(r, i)	"movq %" #r ", cg_cpu_out+" #i "*8(%rip)\n\t"
#define FORM(name, insn)						\
	void name(void);						\
	asm(".text\n\t.globl " #name "\n" #name ":\n\t"			\
	    "push %rbx\n\tpush %rbp\n\tpush %r12\n\t"			\
	    "push %r13\n\tpush %r14\n\tpush %r15\n\t"			\
	    "pushq cg_cpu_in+128(%rip)\n\tpopfq\n\t"			\
	    LOAD(rax, 0) LOAD(rcx, 1) LOAD(rdx, 2) LOAD(rbx, 3)	\
	    LOAD(rbp, 5) LOAD(rsi, 6) LOAD(rdi, 7) LOAD(r8, 8)		\
	    LOAD(r9, 9) LOAD(r10, 10) LOAD(r11, 11) LOAD(r12, 12)	\
	    LOAD(r13, 13) LOAD(r14, 14) LOAD(r15, 15)			\
	    insn "\n\t"							\
	    "pushfq\n\tpopq cg_cpu_out+128(%rip)\n\t"			\
	    STORE(rax, 0) STORE(rcx, 1) STORE(rdx, 2) STORE(rbx, 3)	\
	    STORE(rsp, 4) STORE(rbp, 5) STORE(rsi, 6) STORE(rdi, 7)	\
	    STORE(r8, 8) STORE(r9, 9) STORE(r10, 10) STORE(r11, 11)	\
	    STORE(r12, 12) STORE(r13, 13) STORE(r14, 14) STORE(r15, 15)	\
	    "pop %r15\n\tpop %r14\n\tpop %r13\n\t"			\
	    "pop %r12\n\tpop %rbp\n\tpop %rbx\n\tret\n\t.previous")

/* The target is (%rdi) + disp; index registers hold 0 unless set below. */
FORM(f_add_imm8_q, "lock addq $1, (%rdi)");
FORM(f_add_imm32_q, "addq $0x12345, 8(%rdi,%rcx,8)");
FORM(f_add_reg_q, "lock addq %rax, (%rdi)");
FORM(f_sub_reg_q, "subq %rbx, 0x100(%rdi)");
FORM(f_sub_imm8_q, "lock subq $3, (%rdi,%r8,1)");
FORM(f_inc_q, "lock incq (%rdi)");
FORM(f_dec_q, "decq -8(%r12,%r9,4)");
FORM(f_xadd_q, "lock xaddq %rdx, (%rdi)");
FORM(f_xadd_r9_q, "xaddq %r9, (%r10)");
FORM(f_mov_q, "movq %rsi, (%rdi)");
FORM(f_mov_r11_q, "movq %r11, 24(%rdi,%rcx,2)");
FORM(f_add_imm8_l, "lock addl $1, (%rdi)");
FORM(f_add_imm32_l, "addl $0x1000, (%rdi)");
FORM(f_add_reg_l, "addl %eax, (%rdi,%rcx,4)");
FORM(f_sub_reg_l, "lock subl %ebx, (%rdi)");
FORM(f_sub_imm8_l, "subl $1, (%rdi)");
FORM(f_inc_l, "incl (%rdi)");
FORM(f_dec_l, "lock decl (%rdi)");
FORM(f_xadd_l, "lock xaddl %edx, (%rdi)");
FORM(f_mov_l, "movl %esi, (%r13)");
/* Not whitelisted: each keeps the value in the band, so only the decoder
 * refuses it.
 */
FORM(f_bts_q, "lock btsq $0, (%rdi)");
FORM(f_or_q, "orq %rax, (%rdi)");
FORM(f_xchg_q, "xchgq %rsi, (%rdi)");
FORM(f_add_w, "addw $1, (%rdi)");
FORM(f_cmpxchg_q, "lock cmpxchgq %rsi, (%rdi)");

struct form {
	const char *name;
	void (*run)(void);
	int width;
};

#define F(n, w)	{ #n, n, w }
static const struct form whitelisted[] = {
	F(f_add_imm8_q, 8), F(f_add_imm32_q, 8), F(f_add_reg_q, 8),
	F(f_sub_reg_q, 8), F(f_sub_imm8_q, 8), F(f_inc_q, 8), F(f_dec_q, 8),
	F(f_xadd_q, 8), F(f_xadd_r9_q, 8), F(f_mov_q, 8), F(f_mov_r11_q, 8),
	F(f_add_imm8_l, 4), F(f_add_imm32_l, 4), F(f_add_reg_l, 4),
	F(f_sub_reg_l, 4), F(f_sub_imm8_l, 4), F(f_inc_l, 4), F(f_dec_l, 4),
	F(f_xadd_l, 4), F(f_mov_l, 4),
};

static const struct form refused[] = {
	F(f_bts_q, 8), F(f_or_q, 8), F(f_xchg_q, 8), F(f_add_w, 8),
	F(f_cmpxchg_q, 8),
};

/* Values chosen for the flags they give: sign, overflow, adjust, parity. */
static const uint64_t values_q[] = {
	(1ULL << 60), (1ULL << 60) + 0xf, (1ULL << 60) + 0x7f, (1ULL << 61) - 0x200000,
};
static const uint64_t values_l[] = {
	0x80000000, 0x7fffffff, 0x4000000f, 0xc0000000,
};

#define NVALUES	4
#define CF	0x001UL
#define ARITH	0x8d5UL		/* CF PF AF ZF SF OF */

/* Point the form's memory operand at @target: every base register holds
 * a pointer adjusted for its form's displacement and index.
 */
static void set_input(uint64_t *target, uint64_t seed, uint64_t flags)
{
	int i;

	for (i = 0; i < 16; i++)
		cg_cpu_in.gpr[i] = seed * 0x9e3779b97f4a7c15ULL ^ (i * 0x1111);
	cg_cpu_in.gpr[0] = 3;				/* rax: add/or source */
	cg_cpu_in.gpr[1] = 2;				/* rcx: index */
	cg_cpu_in.gpr[3] = 5;				/* rbx: sub source */
	cg_cpu_in.gpr[2] = 9;				/* rdx: xadd source */
	cg_cpu_in.gpr[8] = 0;				/* r8: index */
	cg_cpu_in.gpr[9] = 2;				/* r9: index and xadd source */
	cg_cpu_in.gpr[6] = *target + 11;		/* rsi: mov source, in band */
	cg_cpu_in.gpr[11] = *target + 13;		/* r11 */
	cg_cpu_in.gpr[7] = (uintptr_t)target;		/* rdi */
	cg_cpu_in.gpr[10] = (uintptr_t)target;		/* r10 */
	cg_cpu_in.gpr[12] = (uintptr_t)target;		/* r12 */
	cg_cpu_in.gpr[13] = (uintptr_t)target;		/* r13 */
	cg_cpu_in.flags = 0x202 | flags;
}

/* The form's memory operand minus (%rdi), from its register values above. */
static long form_offset(const struct form *f)
{
	if (f->run == f_add_imm32_q)
		return 8 + 2 * 8;
	if (f->run == f_sub_reg_q)
		return 0x100;
	if (f->run == f_dec_q)
		return -8 + 2 * 4;
	if (f->run == f_mov_r11_q)
		return 24 + 2 * 2;
	if (f->run == f_add_reg_l)
		return 2 * 4;
	return 0;
}

/* Run @f with its operand at @word; the registers and flags it left. */
static struct cpu run_form(const struct form *f, void *word, uint64_t seed,
			   uint64_t flags)
{
	uint64_t *base = (uint64_t *)((char *)word - form_offset(f));

	/* set_input reads *target for the mov sources: read the value. */
	uint64_t value = f->width == 8 ? *(uint64_t *)word : *(uint32_t *)word;

	set_input(&value, seed, flags);
	cg_cpu_in.gpr[7] = (uintptr_t)base;
	cg_cpu_in.gpr[10] = (uintptr_t)word;
	cg_cpu_in.gpr[12] = (uintptr_t)base;
	cg_cpu_in.gpr[13] = (uintptr_t)word;
	f->run();
	return cg_cpu_out;
}

static int reg_page(int fd, void *p, int width)
{
	static uint8_t map[PG / 4 / 8];
	struct cowguard_register r = {
		.size = sizeof(r), .start = (uintptr_t)p, .length = PG,
		.slot_width = width, .slot_map = (uintptr_t)map,
		.slot_map_len = PG / width / 8, .trap_budget = 60000,
		.band_low = width == 8 ? 1ULL << 59 : 1ULL << 30,
		.band_high = width == 8 ? 1ULL << 61 : 0xffffffffULL,
	};

	memset(map, 0xff, sizeof(map));		/* every word is a slot */
	return ioctl(fd, COWGUARD_IOC_REGISTER, &r) ? -errno : 0;
}

/* Lay NVALUES test values out 512 bytes apart on a page of each width. */
static void fill_values(void *page, int width)
{
	int v;

	for (v = 0; v < NVALUES; v++) {
		if (width == 8)
			((uint64_t *)page)[v * 64 + 32] = values_q[v];
		else
			((uint32_t *)page)[v * 128 + 64] = (uint32_t)values_l[v];
	}
}

static void *value_at(void *page, int width, int v)
{
	return (char *)page + v * 512 + 256;
}

TEST_F(emu, every_form_sets_registers_and_flags_as_executed)
{
	void *golden[2], *plain = cg_map_filled(1);
	struct cowguard_stats st;
	unsigned int i, v, runs = 0;
	uint64_t flags;

	ASSERT_NE(NULL, plain);
	for (i = 0; i < 2; i++) {
		golden[i] = cg_map_filled(1);
		ASSERT_NE(NULL, golden[i]);
		/* Every word a slot, so every word inside its width's band. */
		memset(golden[i], i ? 0x40 : 0x10, PG);
		fill_values(golden[i], i ? 4 : 8);
		ASSERT_EQ(0, reg_page(self->fd, golden[i], i ? 4 : 8));
	}
	for (i = 0; i < sizeof(whitelisted) / sizeof(whitelisted[0]); i++) {
		const struct form *f = &whitelisted[i];
		void *page = golden[f->width == 4];

		for (v = 0; v < NVALUES; v++) {
			for (flags = 0; flags <= CF; flags += CF) {
				void *want_word = value_at(plain, f->width, v);
				void *got_word = value_at(page, f->width, v);
				uint64_t before;
				struct cpu want, got;

				memcpy(plain, page, PG);
				before = f->width == 8 ? *(uint64_t *)got_word :
							 *(uint32_t *)got_word;
				want = run_form(f, want_word, i * 8 + v, flags);
				got = run_form(f, got_word, i * 8 + v, flags);
				/* Only the base registers point at different pages. */
				want.gpr[7] = got.gpr[7];
				want.gpr[10] = got.gpr[10];
				want.gpr[12] = got.gpr[12];
				want.gpr[13] = got.gpr[13];
				EXPECT_EQ(0, memcmp(&want, &got, sizeof(want)))
					TH_LOG("%s value %#lx CF %lu: flags %#lx want %#lx, rdx %#lx want %#lx, r9 %#lx want %#lx",
					       f->name, before, flags, got.flags, want.flags,
					       got.gpr[2], want.gpr[2], got.gpr[9], want.gpr[9]);
				/* The write was dropped; on plain memory it landed. */
				EXPECT_EQ(before, f->width == 8 ? *(uint64_t *)got_word :
							      *(uint32_t *)got_word)
					TH_LOG("%s", f->name);
				EXPECT_NE(0, memcmp(plain, page, PG)) TH_LOG("%s", f->name);
				runs++;
			}
		}
	}
	st = stats_of(self->fd, NULL);		/* all of this process's views */
	EXPECT_EQ(0, st.shadow_pages);
	EXPECT_EQ(runs, st.emulated);
	for (i = 0; i < 2; i++)
		EXPECT_EQ(0, cg_smaps_kb(getpid(), golden[i], PG, "Private_Dirty"));
	TH_LOG("%u emulated runs: registers and flags as executed", runs);
}

TEST_F(emu, non_whitelisted_instructions_take_the_shadow_path)
{
	unsigned int i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const struct form *f = &refused[i];
		pid_t pid = fork();

		if (!pid) {
			uint64_t *page = (uint64_t *)cg_map_filled(1), want;
			struct cowguard_stats st;

			memset(page, 0x10, PG);	/* in the band */
			page[0] = 1ULL << 60;
			if (reg_page(self->fd, page, 8))
				_exit(2);
			/* Run it on plain memory first for the expected value. */
			want = 1ULL << 60;
			run_form(f, &want, 1, 0);
			run_form(f, page, 1, 0);
			st = stats_of(self->fd, page);
			if (page[0] != want || st.shadow_pages != 1 || st.emulated != 0 ||
			    st.refused[COWGUARD_REFUSE_INSN] != 1) {
				fprintf(stderr, "%s: value %#lx want %#lx shadows %llu insn-refused %llu\n",
					f->name, page[0], want, st.shadow_pages,
					st.refused[COWGUARD_REFUSE_INSN]);
				_exit(1);
			}
			_exit(0);
		}
		EXPECT_EQ(0, cg_wait(pid)) TH_LOG("%s", f->name);
	}
}

TEST_HARNESS_MAIN
