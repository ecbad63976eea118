// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "cowguard", spoken raw (no libnl), so that the
 * tests can send exactly the malformed requests they mean to: each is
 * refused with its errno and an extended-ack message, and changes nothing.
 * Then dumps across thousands of processes, with processes exiting in the
 * middle of a dump.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/cowguard.h>

#include "kselftest_harness.h"
#include "cg_test.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define BUF_SIZE	(64 * 1024)

struct nl {
	int fd;
	uint16_t family;
	uint32_t seq;
	char msg[256];		/* extended-ack message of the last error */
	char buf[BUF_SIZE];
};

/* A request under construction. */
struct req {
	struct nlmsghdr *h;
	char data[1024];
};

static void req_init(struct req *r, uint16_t type, uint16_t flags, uint8_t cmd)
{
	struct genlmsghdr *g;

	memset(r->data, 0, sizeof(r->data));
	r->h = (struct nlmsghdr *)r->data;
	r->h->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r->h->nlmsg_type = type;
	r->h->nlmsg_flags = NLM_F_REQUEST | flags;
	g = NLMSG_DATA(r->h);
	g->cmd = cmd;
	g->version = COWGUARD_GENL_VERSION;
}

static void req_put(struct req *r, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(r->data + NLMSG_ALIGN(r->h->nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	r->h->nlmsg_len = NLMSG_ALIGN(r->h->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static void req_u32(struct req *r, uint16_t type, uint32_t v)
{
	req_put(r, type, &v, sizeof(v));
}

static void req_u64(struct req *r, uint16_t type, uint64_t v)
{
	req_put(r, type, &v, sizeof(v));
}

static void req_str(struct req *r, uint16_t type, const char *s)
{
	req_put(r, type, s, strlen(s) + 1);
}

static int nl_send(struct nl *nl, struct req *r)
{
	r->h->nlmsg_seq = ++nl->seq;
	return send(nl->fd, r->h, r->h->nlmsg_len, 0) == (ssize_t)r->h->nlmsg_len ?
	       0 : -errno;
}

/* The extended-ack message among the TLVs after offset @off of @h. */
static void take_msg(struct nl *nl, const struct nlmsghdr *h, size_t off)
{
	const struct nlattr *a;
	size_t pos;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	for (pos = NLMSG_ALIGN(off); pos + NLA_HDRLEN <= h->nlmsg_len;
	     pos += NLA_ALIGN(a->nla_len)) {
		a = (const struct nlattr *)((const char *)h + pos);
		if (a->nla_len < NLA_HDRLEN)
			break;
		if (a->nla_type == NLMSGERR_ATTR_MSG)
			snprintf(nl->msg, sizeof(nl->msg), "%.*s",
				 (int)(a->nla_len - NLA_HDRLEN),
				 (const char *)a + NLA_HDRLEN);
	}
}

typedef void (*on_msg_t)(const struct nlmsghdr *h, void *arg);

/*
 * Receive until the ack, the error or NLMSG_DONE of the last request,
 * handing every data message to @cb. Return 0 or the negative errno the
 * kernel answered. *@batches counts the recv() calls that carried data.
 */
static int nl_recv(struct nl *nl, on_msg_t cb, void *arg, int *batches)
{
	nl->msg[0] = '\0';
	for (;;) {
		ssize_t n = recv(nl->fd, nl->buf, sizeof(nl->buf), 0);
		struct nlmsghdr *h;
		int data = 0;

		if (n < 0)
			return -errno;
		for (h = (struct nlmsghdr *)nl->buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				size_t off = NLMSG_HDRLEN + sizeof(*e);

				if (!(h->nlmsg_flags & NLM_F_CAPPED))
					off += e->msg.nlmsg_len - NLMSG_HDRLEN;
				if (e->error)
					take_msg(nl, h, off);
				return e->error;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				int err;

				memcpy(&err, NLMSG_DATA(h), sizeof(err));
				if (err < 0)
					take_msg(nl, h, NLMSG_HDRLEN + sizeof(int));
				return err < 0 ? err : 0;
			}
			data = 1;
			if (cb)
				cb(h, arg);
		}
		if (batches && data)
			++*batches;
	}
}

static struct nlattr *first_attr(const struct nlmsghdr *h, size_t hdr)
{
	return (struct nlattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(hdr));
}

#define for_each_attr(a, start, len)					\
	for (a = (start); (char *)a + NLA_HDRLEN <= (char *)(start) + (len) && \
	     a->nla_len >= NLA_HDRLEN; a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))

#define for_each_top_attr(a, h)						\
	for_each_attr(a, first_attr(h, GENL_HDRLEN),			\
		      (h)->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN)

static void *attr_data(const struct nlattr *a)
{
	return (char *)a + NLA_HDRLEN;
}

static uint64_t attr_u64(const struct nlattr *a)
{
	uint64_t v;

	memcpy(&v, attr_data(a), sizeof(v));
	return v;
}

static uint32_t attr_u32(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, attr_data(a), sizeof(v));
	return v;
}

static void on_family(const struct nlmsghdr *h, void *arg)
{
	struct nlattr *a;

	for_each_top_attr(a, h)
		if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
			*(uint16_t *)arg = *(uint16_t *)attr_data(a);
}

static int nl_open(struct nl *nl)
{
	int one = 1;
	struct req r;
	int err;

	memset(nl, 0, sizeof(*nl));
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	req_init(&r, GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY);
	((struct genlmsghdr *)NLMSG_DATA(r.h))->version = 2;
	req_str(&r, CTRL_ATTR_FAMILY_NAME, COWGUARD_GENL_NAME);
	err = nl_send(nl, &r);
	if (!err)
		err = nl_recv(nl, on_family, &nl->family, NULL);
	return err ? err : nl->family ? 0 : -ENOENT;
}

/* The value of tunable @name in a COWGUARD_CMD_GET_MODULE reply. */
struct tunable_query {
	const char *name;
	int64_t value;
};

static void on_module(const struct nlmsghdr *h, void *arg)
{
	struct tunable_query *q = arg;
	struct nlattr *a, *t;

	for_each_top_attr(a, h) {
		const char *name = NULL;
		int64_t value = -1;

		if ((a->nla_type & NLA_TYPE_MASK) != COWGUARD_MODULE_A_TUNABLE)
			continue;
		for_each_attr(t, (struct nlattr *)attr_data(a), a->nla_len - NLA_HDRLEN) {
			if (t->nla_type == COWGUARD_TUNABLE_A_NAME)
				name = attr_data(t);
			if (t->nla_type == COWGUARD_TUNABLE_A_VALUE)
				value = (int64_t)attr_u64(t);
		}
		if (name && !strcmp(name, q->name))
			q->value = value;
	}
}

static int64_t get_tunable(struct nl *nl, const char *name)
{
	struct tunable_query q = { .name = name, .value = -1 };
	struct req r;

	req_init(&r, nl->family, NLM_F_ACK, COWGUARD_CMD_GET_MODULE);
	if (nl_send(nl, &r) || nl_recv(nl, on_module, &q, NULL))
		return -1;
	return q.value;
}

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

/* Send @r and return the errno of the answer (0 for an ack). */
static int transact(struct nl *nl, struct req *r)
{
	int err = nl_send(nl, r);

	return err ? err : nl_recv(nl, NULL, NULL, NULL);
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

TEST_F(genl, set_unprivileged)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct req r;
		int err;

		/* nobody: no CAP_NET_ADMIN */
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(10);
		req_init(&r, self->nl.family, NLM_F_ACK, COWGUARD_CMD_SET_TUNABLE);
		req_str(&r, COWGUARD_A_TUNABLE_NAME, "trap_budget");
		req_u64(&r, COWGUARD_A_TUNABLE_VALUE, self->budget + 1);
		err = transact(&self->nl, &r);
		/* A new socket, opened unprivileged, too. */
		close(self->nl.fd);
		if (err == -EPERM && !nl_open(&self->nl))
			err = transact(&self->nl, &r);
		_exit(err == -EPERM ? 0 : 11);
	}
	EXPECT_EQ(0, cg_wait(pid));
	EXPECT_EQ(self->budget, param("trap_budget"));
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
