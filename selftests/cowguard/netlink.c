// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "cowguard", spoken raw (no libnl), so that the
 * tests can send exactly the malformed requests they mean to: each is
 * refused with its errno and an extended-ack message, and changes nothing.
 * Who may do what: setting needs CAP_SYS_ADMIN (of the sender and of the
 * socket's opener), and a dump shows a process's entries only to a caller
 * who could read its /proc/PID/maps, tried as uid 65534 without
 * capabilities. Then dumps across thousands of processes, with processes
 * exiting in the middle of a dump.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/cowguard.h>

#include "kselftest_harness.h"
#include "cg_test.h"
#include "cg_nl.h"

#define NOBODY	65534
#define CAP(c)	(1ULL << (c))

static long param(const char *name)
{
	char path[128], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/cowguard/parameters/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return buf[0] ? atol(buf) : -1;
}

FIXTURE(genl) {
	struct nl nl;
	long budget;	/* trap_budget before the test */
};

FIXTURE_SETUP(genl)
{
	ASSERT_EQ(0, nl_open(&self->nl)) TH_LOG("family %s not found", COWGUARD_GENL_NAME);
	self->budget = param("trap_budget");
	ASSERT_LE(0, self->budget);
}

FIXTURE_TEARDOWN(genl)
{
	/* Every test leaves the tunable as it found it. */
	EXPECT_EQ(self->budget, param("trap_budget"));
	close(self->nl.fd);
}

TEST_F(genl, get_module_reports_the_parameters)
{
	EXPECT_EQ(param("trap_budget"), get_tunable(&self->nl, "trap_budget"));
	EXPECT_EQ(param("max_register_mb"), get_tunable(&self->nl, "max_register_mb"));
}

TEST_F(genl, set_changes_the_parameter)
{
	struct req r;

	req_init(&r, self->nl.family, NLM_F_ACK, COWGUARD_CMD_SET_TUNABLE);
	req_str(&r, COWGUARD_A_TUNABLE_NAME, "trap_budget");
	req_u64(&r, COWGUARD_A_TUNABLE_VALUE, self->budget + 3);
	ASSERT_EQ(0, transact(&self->nl, &r)) TH_LOG("%s", self->nl.msg);
	EXPECT_EQ(self->budget + 3, param("trap_budget"));
	EXPECT_EQ(self->budget + 3, get_tunable(&self->nl, "trap_budget"));

	req_init(&r, self->nl.family, NLM_F_ACK, COWGUARD_CMD_SET_TUNABLE);
	req_str(&r, COWGUARD_A_TUNABLE_NAME, "trap_budget");
	req_u64(&r, COWGUARD_A_TUNABLE_VALUE, self->budget);
	ASSERT_EQ(0, transact(&self->nl, &r));
}

/* Each bad SET is refused with @err and a message containing @msg. */
static void expect_refused(struct __test_metadata *_metadata, struct nl *nl,
			   struct req *r, int err, const char *msg, long budget)
{
	EXPECT_EQ(-err, transact(nl, r));
	EXPECT_NE(0, nl->msg[0]) TH_LOG("no extended-ack message");
	EXPECT_NE(NULL, strstr(nl->msg, msg)) TH_LOG("message: \"%s\", want \"%s\"",
						      nl->msg, msg);
	EXPECT_EQ(budget, param("trap_budget"));
}

TEST_F(genl, set_value_of_the_wrong_type)
{
	struct req r;

	req_init(&r, self->nl.family, NLM_F_ACK, COWGUARD_CMD_SET_TUNABLE);
	req_str(&r, COWGUARD_A_TUNABLE_NAME, "trap_budget");
	req_u32(&r, COWGUARD_A_TUNABLE_VALUE, 7);	/* NLA_U64 expected */
	expect_refused(_metadata, &self->nl, &r, EINVAL, "length", self->budget);
}

TEST_F(genl, set_name_of_the_wrong_type)
{
	struct req r;

	req_init(&r, self->nl.family, NLM_F_ACK, COWGUARD_CMD_SET_TUNABLE);
	req_u64(&r, COWGUARD_A_TUNABLE_NAME, 0x4141414141414141ULL);	/* no NUL */
	req_u64(&r, COWGUARD_A_TUNABLE_VALUE, 7);
	expect_refused(_metadata, &self->nl, &r, EINVAL, "policy", self->budget);
}

TEST_F(genl, set_without_a_value)
{
	struct req r;

	req_init(&r, self->nl.family, NLM_F_ACK, COWGUARD_CMD_SET_TUNABLE);
	req_str(&r, COWGUARD_A_TUNABLE_NAME, "trap_budget");
	expect_refused(_metadata, &self->nl, &r, EINVAL, "missing tunable value",
		       self->budget);
}

TEST_F(genl, set_without_a_name)
{
	struct req r;

	req_init(&r, self->nl.family, NLM_F_ACK, COWGUARD_CMD_SET_TUNABLE);
	req_u64(&r, COWGUARD_A_TUNABLE_VALUE, 7);
	expect_refused(_metadata, &self->nl, &r, EINVAL, "missing tunable name",
		       self->budget);
}

TEST_F(genl, set_oversized_name)
{
	char name[COWGUARD_TUNABLE_NAME_MAX + 8];
	struct req r;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	req_init(&r, self->nl.family, NLM_F_ACK, COWGUARD_CMD_SET_TUNABLE);
	req_str(&r, COWGUARD_A_TUNABLE_NAME, name);
	req_u64(&r, COWGUARD_A_TUNABLE_VALUE, 7);
	expect_refused(_metadata, &self->nl, &r, EINVAL, "policy", self->budget);
}

TEST_F(genl, set_unknown_tunable)
{
	struct req r;

	req_init(&r, self->nl.family, NLM_F_ACK, COWGUARD_CMD_SET_TUNABLE);
	req_str(&r, COWGUARD_A_TUNABLE_NAME, "no_such_knob");
	req_u64(&r, COWGUARD_A_TUNABLE_VALUE, 7);
	expect_refused(_metadata, &self->nl, &r, ENOENT, "unknown tunable",
		       self->budget);
}

TEST_F(genl, set_out_of_range)
{
	struct req r;

	req_init(&r, self->nl.family, NLM_F_ACK, COWGUARD_CMD_SET_TUNABLE);
	req_str(&r, COWGUARD_A_TUNABLE_NAME, "trap_budget");
	req_u64(&r, COWGUARD_A_TUNABLE_VALUE, 1ULL << 40);
	expect_refused(_metadata, &self->nl, &r, ERANGE, "out of range",
		       self->budget);
}

TEST_F(genl, set_with_an_unknown_attribute)
{
	struct req r;

	req_init(&r, self->nl.family, NLM_F_ACK, COWGUARD_CMD_SET_TUNABLE);
	req_str(&r, COWGUARD_A_TUNABLE_NAME, "trap_budget");
	req_u64(&r, COWGUARD_A_TUNABLE_VALUE, self->budget + 1);
	req_u32(&r, 99, 1);
	expect_refused(_metadata, &self->nl, &r, EINVAL, "Unknown attribute",
		       self->budget);
}

TEST_F(genl, set_with_an_attribute_it_does_not_take)
{
	struct req r;

	req_init(&r, self->nl.family, NLM_F_ACK, COWGUARD_CMD_SET_TUNABLE);
	req_u32(&r, COWGUARD_A_PID, 1);
	req_str(&r, COWGUARD_A_TUNABLE_NAME, "trap_budget");
	req_u64(&r, COWGUARD_A_TUNABLE_VALUE, self->budget + 1);
	expect_refused(_metadata, &self->nl, &r, EINVAL, "ttribute", self->budget);
}

TEST_F(genl, get_module_takes_no_attributes)
{
	struct req r;

	req_init(&r, self->nl.family, NLM_F_ACK, COWGUARD_CMD_GET_MODULE);
	req_u32(&r, COWGUARD_A_PID, 1);
	EXPECT_EQ(-EINVAL, transact(&self->nl, &r));
	EXPECT_NE(0, self->nl.msg[0]);
}

/* Effective and permitted capabilities: @caps (a subset of the current). */
static int set_caps(uint64_t caps)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {
		{ .effective = (uint32_t)caps, .permitted = (uint32_t)caps },
		{ .effective = caps >> 32, .permitted = caps >> 32 },
	};

	return syscall(SYS_capset, &h, d);
}

/* uid and gid NOBODY, no groups, no capabilities. */
static int become_nobody(void)
{
	return setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	       setresuid(NOBODY, NOBODY, NOBODY) || set_caps(0) ? -1 : 0;
}

/* What a child saw: two errnos and their extended-ack messages. */
struct outcome {
	int err[2];
	char msg[2][256];
	int setup;	/* nonzero: the child could not set itself up */
};

static struct outcome *outcome_map(void)
{
	struct outcome *o = mmap(NULL, sizeof(*o), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return o == MAP_FAILED ? NULL : o;
}

/* SET trap_budget=@v on @nl, then on a socket of the child's own. */
static void set_twice(struct nl *nl, struct outcome *o, long v)
{
	o->err[0] = set_tunable(nl, "trap_budget", v);
	snprintf(o->msg[0], sizeof(o->msg[0]), "%s", nl->msg);
	close(nl->fd);
	o->err[1] = nl_open(nl);
	if (!o->err[1])
		o->err[1] = set_tunable(nl, "trap_budget", v);
	snprintf(o->msg[1], sizeof(o->msg[1]), "%s", nl->msg);
}

static void expect_eperm(struct __test_metadata *_metadata, struct outcome *o)
{
	int i;

	EXPECT_EQ(0, o->setup);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(-EPERM, o->err[i]) TH_LOG("socket %d: %s", i, o->msg[i]);
		EXPECT_NE(NULL, strstr(o->msg[i], "CAP_SYS_ADMIN"))
			TH_LOG("socket %d: message \"%s\"", i, o->msg[i]);
	}
}

TEST_F(genl, set_unprivileged)
{
	struct outcome *o = outcome_map();
	pid_t pid;

	ASSERT_NE(NULL, o);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		o->setup = become_nobody();
		if (!o->setup)
			set_twice(&self->nl, o, self->budget + 1);
		_exit(0);
	}
	EXPECT_EQ(0, cg_wait(pid));
	expect_eperm(_metadata, o);
	EXPECT_EQ(self->budget, param("trap_budget"));
}

/* Root with CAP_NET_ADMIN (what genetlink's GENL_ADMIN_PERM asks) only. */
TEST_F(genl, set_needs_cap_sys_admin)
{
	struct outcome *o = outcome_map();
	pid_t pid;

	ASSERT_NE(NULL, o);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		o->setup = set_caps(CAP(CAP_NET_ADMIN));
		if (!o->setup)
			set_twice(&self->nl, o, self->budget + 1);
		_exit(0);
	}
	EXPECT_EQ(0, cg_wait(pid));
	expect_eperm(_metadata, o);
	EXPECT_EQ(self->budget, param("trap_budget"));
	cg_param_set(CG_PARAM("trap_budget"), self->budget);
}

/* CAP_SYS_ADMIN, as for the parameter files, is enough. */
TEST_F(genl, set_with_cap_sys_admin_only)
{
	struct outcome *o = outcome_map();
	pid_t pid;

	ASSERT_NE(NULL, o);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		o->setup = set_caps(CAP(CAP_SYS_ADMIN));
		if (!o->setup)
			set_twice(&self->nl, o, self->budget + 1);
		_exit(0);
	}
	EXPECT_EQ(0, cg_wait(pid));
	EXPECT_EQ(0, o->setup);
	EXPECT_EQ(0, o->err[0]) TH_LOG("%s", o->msg[0]);
	EXPECT_EQ(0, o->err[1]) TH_LOG("%s", o->msg[1]);
	EXPECT_EQ(self->budget + 1, param("trap_budget"));
	cg_param_set(CG_PARAM("trap_budget"), self->budget);
}

/*
 * A socket opened by an unprivileged user and written by root: refused, as
 * genetlink refuses its admin commands (a setuid program writing what a
 * user hands it must not set tunables for him).
 */
TEST_F(genl, set_on_an_unprivileged_users_socket)
{
	struct outcome *o = outcome_map();
	pid_t pid;

	ASSERT_NE(NULL, o);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct nl nl;

		/* euid NOBODY, saved uid 0: capabilities come back with euid 0. */
		o->setup = setresuid(NOBODY, NOBODY, 0) || nl_open(&nl) ||
			   setresuid(-1, 0, -1);
		if (!o->setup) {
			o->err[0] = o->err[1] = set_tunable(&nl, "trap_budget",
							    self->budget + 1);
			snprintf(o->msg[0], sizeof(o->msg[0]), "%s", nl.msg);
			snprintf(o->msg[1], sizeof(o->msg[1]), "%s", nl.msg);
		}
		_exit(0);
	}
	EXPECT_EQ(0, cg_wait(pid));
	expect_eperm(_metadata, o);
	EXPECT_EQ(self->budget, param("trap_budget"));
	cg_param_set(CG_PARAM("trap_budget"), self->budget);
}

/* A process holding a one-page registration until released. */
struct holder {
	pid_t pid;
	uint64_t reg_id;
	int release;
};

/* As @uid (0: root), dumpable or not. */
static int holder_start(struct holder *h, uid_t uid, int dumpable)
{
	int ready[2], release[2];
	ssize_t n;

	if (pipe(ready) || pipe(release))
		return -1;
	h->pid = fork();
	if (h->pid < 0)
		return -1;
	if (h->pid == 0) {
		int fd = cg_open();	/* the device is root's: open it first */
		char *p = cg_map_filled(1);
		struct cowguard_stats st;
		uint64_t id;
		char c;

		close(ready[0]);
		close(release[1]);
		if (fd < 0 || !p || (uid && become_nobody()) ||
		    cg_register(fd, p, PG) || cg_stats(fd, p, &st) ||
		    prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0))
			_exit(1);
		id = st.reg_id;
		if (write(ready[1], &id, sizeof(id)) != sizeof(id))
			_exit(2);
		while (read(release[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(p[0] == 1 ? 0 : 3);
	}
	close(ready[1]);
	close(release[0]);
	n = read(ready[0], &h->reg_id, sizeof(h->reg_id));
	close(ready[0]);
	h->release = release[1];
	return n == sizeof(h->reg_id) ? 0 : -1;
}

static int holder_stop(struct holder *h)
{
	close(h->release);
	return cg_wait(h->pid);
}

/*
 * Each holder inherited the release ends of those started before it: stop
 * them newest first, so that closing one's end is its EOF.
 */
static void holders_stop(struct __test_metadata *_metadata, struct holder *h,
			 int n)
{
	while (n--)
		EXPECT_EQ(0, holder_stop(&h[n]));
}

/* How often each of ids[] appeared in each dump. */
enum { SEEN_REGS, SEEN_VIEWS, SEEN_SITES, __SEEN_MAX };
#define SEEN_IDS	4

struct seen {
	uint64_t ids[SEEN_IDS];
	int count[__SEEN_MAX][SEEN_IDS];
	int err[__SEEN_MAX];
	char msg[256];
	int64_t registrations;	/* GET_MODULE's total */
	int setup;
};

struct seen_ctx {
	struct seen *s;
	int dump;
	uint16_t attr;		/* the attribute with the registration id */
};

static void on_seen(const struct nlmsghdr *h, void *arg)
{
	struct seen_ctx *ctx = arg;
	struct nlattr *a;
	int i;

	for_each_top_attr(a, h) {
		if (a->nla_type != ctx->attr)
			continue;
		for (i = 0; i < SEEN_IDS; i++)
			if (ctx->s->ids[i] && ctx->s->ids[i] == attr_u64(a))
				ctx->s->count[ctx->dump][i]++;
	}
}

static void dump_seen(struct nl *nl, struct seen *s)
{
	static const struct { uint8_t cmd; uint16_t attr; } dumps[] = {
		[SEEN_REGS] = { COWGUARD_CMD_GET_REGISTRATIONS, COWGUARD_REG_A_ID },
		[SEEN_VIEWS] = { COWGUARD_CMD_GET_VIEWS, COWGUARD_VIEW_A_REG_ID },
		[SEEN_SITES] = { COWGUARD_CMD_GET_SITES, COWGUARD_SITES_A_REG_ID },
	};
	struct tunable_query q = {};
	struct seen_ctx ctx = { .s = s };
	struct req r;

	for (ctx.dump = 0; ctx.dump < __SEEN_MAX; ctx.dump++) {
		ctx.attr = dumps[ctx.dump].attr;
		req_init(&r, nl->family, NLM_F_DUMP, dumps[ctx.dump].cmd);
		s->err[ctx.dump] = nl_send(nl, &r);
		if (!s->err[ctx.dump])
			s->err[ctx.dump] = nl_recv(nl, on_seen, &ctx, NULL);
	}
	if (!get_module(nl, &q))
		s->registrations = q.registrations;
}

static struct seen *seen_map(void)
{
	struct seen *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return s == MAP_FAILED ? NULL : s;
}

static const char *const seen_name[] = { "registrations", "views", "sites" };

/* Registration ids[i] appeared @want[i] times in each dump. */
static void expect_seen(struct __test_metadata *_metadata, struct seen *s,
			const int *want, const char *const *who)
{
	int d, i;

	EXPECT_EQ(0, s->setup);
	for (d = 0; d < __SEEN_MAX; d++) {
		EXPECT_EQ(0, s->err[d]) TH_LOG("%s dump: %s", seen_name[d], s->msg);
		for (i = 0; i < SEEN_IDS; i++) {
			/* Braces: EXPECT_EQ() is two statements. */
			if (!s->ids[i])
				continue;
			EXPECT_EQ(want[i], s->count[d][i])
				TH_LOG("%s dump: registration of %s",
				       seen_name[d], who[i]);
		}
	}
}

/*
 * uid NOBODY without capabilities sees its own entries and those of a
 * dumpable process of its uid; not root's (the hidepid bypass), not a
 * non-dumpable process's of its own uid (set with prctl here; setuid
 * programs are non-dumpable too). Module totals still count them all.
 * Root, with CAP_SYS_PTRACE, sees them all.
 */
TEST_F(genl, dump_shows_only_processes_the_caller_may_read)
{
	static const char *const who[SEEN_IDS] = {
		"root", "a dumpable process of the same uid",
		"a non-dumpable process of the same uid", "the dumper itself",
	};
	static const int want_nobody[SEEN_IDS] = { 0, 1, 0, 1 };
	static const int want_root[SEEN_IDS] = { 1, 1, 1, 0 };
	struct holder h[3];
	struct seen *s = seen_map();
	pid_t pid;
	int i;

	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, holder_start(&h[0], 0, 1));
	ASSERT_EQ(0, holder_start(&h[1], NOBODY, 1));
	ASSERT_EQ(0, holder_start(&h[2], NOBODY, 0));
	for (i = 0; i < 3; i++)
		s->ids[i] = h[i].reg_id;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = cg_open();
		char *p = cg_map_filled(1);
		struct cowguard_stats st;
		struct nl nl;

		/* Non-dumpable itself: a process always sees its own. */
		s->setup = fd < 0 || !p || become_nobody() ||
			   prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) ||
			   cg_register(fd, p, PG) || cg_stats(fd, p, &st) ||
			   nl_open(&nl);
		if (!s->setup) {
			s->ids[3] = st.reg_id;
			dump_seen(&nl, s);
			snprintf(s->msg, sizeof(s->msg), "%s", nl.msg);
		}
		_exit(0);
	}
	EXPECT_EQ(0, cg_wait(pid));
	expect_seen(_metadata, s, want_nobody, who);
	EXPECT_LE(4, s->registrations) TH_LOG("module totals hidden");

	memset(s->count, 0, sizeof(s->count));
	s->ids[3] = 0;
	dump_seen(&self->nl, s);
	expect_seen(_metadata, s, want_root, who);

	holders_stop(_metadata, h, 3);
}

/*
 * The dump is read with root's credentials on a socket uid NOBODY opened:
 * it shows what NOBODY may read, no more (as /proc checks the opener of
 * /proc/PID/maps, not its reader).
 */
TEST_F(genl, dump_checks_the_sockets_opener)
{
	static const char *const who[SEEN_IDS] = {
		"root", "a dumpable process of the opener's uid",
		"a non-dumpable process of the opener's uid",
	};
	static const int want[SEEN_IDS] = { 0, 1, 0 };
	struct holder h[3];
	struct seen *s = seen_map();
	pid_t pid;
	int i;

	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, holder_start(&h[0], 0, 1));
	ASSERT_EQ(0, holder_start(&h[1], NOBODY, 1));
	ASSERT_EQ(0, holder_start(&h[2], NOBODY, 0));
	for (i = 0; i < 3; i++)
		s->ids[i] = h[i].reg_id;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct nl nl;

		/* Saved ids 0: root's capabilities come back with euid 0. */
		s->setup = setgroups(0, NULL) ||
			   setresgid(NOBODY, NOBODY, 0) ||
			   setresuid(NOBODY, NOBODY, 0) || nl_open(&nl) ||
			   setresuid(-1, 0, -1) || setresgid(-1, 0, -1);
		if (!s->setup) {
			dump_seen(&nl, s);
			snprintf(s->msg, sizeof(s->msg), "%s", nl.msg);
		}
		_exit(0);
	}
	EXPECT_EQ(0, cg_wait(pid));
	expect_seen(_metadata, s, want, who);
	holders_stop(_metadata, h, 3);
}

TEST_F(genl, dump_pid_of_the_wrong_size)
{
	struct req r;

	req_init(&r, self->nl.family, NLM_F_DUMP, COWGUARD_CMD_GET_VIEWS);
	req_u64(&r, COWGUARD_A_PID, getpid());
	EXPECT_EQ(-EINVAL, transact(&self->nl, &r));
	EXPECT_NE(0, self->nl.msg[0]);
}

TEST_F(genl, dump_pid_zero)
{
	struct req r;

	req_init(&r, self->nl.family, NLM_F_DUMP, COWGUARD_CMD_GET_SITES);
	req_u32(&r, COWGUARD_A_PID, 0);
	EXPECT_EQ(-ERANGE, transact(&self->nl, &r));
	EXPECT_NE(0, self->nl.msg[0]);
}

TEST_F(genl, dump_no_such_process)
{
	struct req r;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(0);
	ASSERT_EQ(0, cg_wait(pid));	/* reaped: the id is free now */
	req_init(&r, self->nl.family, NLM_F_DUMP, COWGUARD_CMD_GET_VIEWS);
	req_u32(&r, COWGUARD_A_PID, pid);
	EXPECT_EQ(-ESRCH, transact(&self->nl, &r));
	EXPECT_NE(NULL, strstr(self->nl.msg, "no such process")) TH_LOG("%s", self->nl.msg);
}

/* Views of registration @reg_id seen in a dump, by id. */
struct view_count {
	uint64_t reg_id;
	uint64_t *ids;
	size_t n, cap;
	uint32_t *pids;
	size_t sites_msgs;
};

static void on_view(const struct nlmsghdr *h, void *arg)
{
	struct view_count *vc = arg;
	uint64_t id = 0, reg = 0;
	uint32_t pid = 0;
	struct nlattr *a;

	/* Views and sites messages name these three alike. */
	for_each_top_attr(a, h) {
		if (a->nla_type == COWGUARD_VIEW_A_ID)
			id = attr_u64(a);
		if (a->nla_type == COWGUARD_VIEW_A_REG_ID)
			reg = attr_u64(a);
		if (a->nla_type == COWGUARD_VIEW_A_PID)
			pid = attr_u32(a);
	}
	if (reg != vc->reg_id || vc->n == vc->cap)
		return;
	vc->ids[vc->n] = id;
	vc->pids[vc->n++] = pid;
}

static void on_site_msg(const struct nlmsghdr *h, void *arg)
{
	struct view_count *vc = arg;
	uint64_t reg = 0;
	struct nlattr *a;

	for_each_top_attr(a, h)
		if (a->nla_type == COWGUARD_SITES_A_REG_ID)
			reg = attr_u64(a);
	if (reg == vc->reg_id)
		vc->sites_msgs++;
}

static int cmp_u64(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

#define CHILDREN	2000

TEST_F_TIMEOUT(genl, dump_thousands_of_processes, 900)
{
	struct view_count vc = { .cap = 2 * CHILDREN };
	int pipefd[2], batches = 0, err, i;
	pid_t *kids = calloc(CHILDREN, sizeof(*kids));
	struct cowguard_stats st;
	char *p, c;
	int fd = cg_open();
	struct req r;
	size_t k, dup = 0;

	ASSERT_LE(0, fd);
	vc.ids = calloc(vc.cap, sizeof(*vc.ids));
	vc.pids = calloc(vc.cap, sizeof(*vc.pids));
	ASSERT_TRUE(kids && vc.ids && vc.pids);
	p = cg_map_filled(1);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, cg_register(fd, p, PG));
	ASSERT_EQ(0, cg_stats(fd, p, &st));
	vc.reg_id = st.reg_id;
	ASSERT_EQ(0, pipe(pipefd));
	for (i = 0; i < CHILDREN; i++) {
		kids[i] = fork();
		ASSERT_LE(0, kids[i]) TH_LOG("fork %d: %s", i, strerror(errno));
		if (kids[i] == 0) {
			close(pipefd[1]);
			/* Hold the view until the parent closes the pipe. */
			while (read(pipefd[0], &c, 1) < 0 && errno == EINTR)
				;
			_exit(p[0] == 1 ? 0 : 1);
		}
	}
	close(pipefd[0]);

	/* Every view, in more than one batch. */
	req_init(&r, self->nl.family, NLM_F_DUMP, COWGUARD_CMD_GET_VIEWS);
	ASSERT_EQ(0, nl_send(&self->nl, &r));
	err = nl_recv(&self->nl, on_view, &vc, &batches);
	EXPECT_EQ(0, err) TH_LOG("%s", self->nl.msg);
	EXPECT_EQ(CHILDREN + 1, vc.n);
	EXPECT_LT(1, batches);
	qsort(vc.ids, vc.n, sizeof(*vc.ids), cmp_u64);
	for (k = 1; k < vc.n; k++)
		dup += vc.ids[k] == vc.ids[k - 1];
	EXPECT_EQ(0, dup);
	TH_LOG("%zu views in %d batches", vc.n, batches);

	/* The sites dump walks the same views. */
	req_init(&r, self->nl.family, NLM_F_DUMP, COWGUARD_CMD_GET_SITES);
	ASSERT_EQ(0, nl_send(&self->nl, &r));
	EXPECT_EQ(0, nl_recv(&self->nl, on_site_msg, &vc, NULL));
	EXPECT_EQ(CHILDREN + 1, vc.sites_msgs);

	/* One process by pid. */
	vc.n = 0;
	req_init(&r, self->nl.family, NLM_F_DUMP, COWGUARD_CMD_GET_VIEWS);
	req_u32(&r, COWGUARD_A_PID, kids[CHILDREN / 2]);
	ASSERT_EQ(0, nl_send(&self->nl, &r));
	EXPECT_EQ(0, nl_recv(&self->nl, on_view, &vc, NULL));
	ASSERT_EQ(1, vc.n);
	EXPECT_EQ((uint32_t)kids[CHILDREN / 2], vc.pids[0]);

	/*
	 * Processes exit between two reads of one dump: no view is listed
	 * twice, and every view alive from start to end is listed.
	 */
	vc.n = 0;
	req_init(&r, self->nl.family, NLM_F_DUMP, COWGUARD_CMD_GET_VIEWS);
	ASSERT_EQ(0, nl_send(&self->nl, &r));
	{
		ssize_t n = recv(self->nl.fd, self->nl.buf, sizeof(self->nl.buf), 0);
		struct nlmsghdr *h;
		int done = 0;

		ASSERT_LT(0, n);
		for (h = (struct nlmsghdr *)self->nl.buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			done |= h->nlmsg_type == NLMSG_DONE;
			if (h->nlmsg_type != NLMSG_DONE && h->nlmsg_type != NLMSG_ERROR)
				on_view(h, &vc);
		}
		ASSERT_EQ(0, done);
	}
	/* Half the children, from anywhere in the lists, go away. */
	for (i = 0; i < CHILDREN; i += 2)
		kill(kids[i], SIGKILL);
	for (i = 0; i < CHILDREN; i += 2)
		waitpid(kids[i], NULL, 0);
	EXPECT_EQ(0, nl_recv(&self->nl, on_view, &vc, NULL));
	qsort(vc.ids, vc.n, sizeof(*vc.ids), cmp_u64);
	for (dup = 0, k = 1; k < vc.n; k++)
		dup += vc.ids[k] == vc.ids[k - 1];
	EXPECT_EQ(0, dup);
	EXPECT_LE(CHILDREN / 2 + 1, vc.n);
	EXPECT_GE(CHILDREN + 1, vc.n);
	for (k = 0, i = 1; i < CHILDREN; i += 2) {
		size_t j;

		for (j = 0; j < vc.n && vc.pids[j] != (uint32_t)kids[i]; j++)
			;
		k += j == vc.n;
	}
	EXPECT_EQ(0, k) TH_LOG("%zu surviving children missing", k);
	TH_LOG("%zu views listed while %d processes exited", vc.n, CHILDREN / 2);

	close(pipefd[1]);
	for (i = 1; i < CHILDREN; i += 2)
		EXPECT_EQ(0, cg_wait(kids[i]));
	EXPECT_EQ(0, cg_unregister(fd, p));
	close(fd);
	free(kids);
	free(vc.ids);
	free(vc.pids);
}

TEST_HARNESS_MAIN
