/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The generic netlink family "cowguard" spoken raw (no libnl), for the
 * kselftests: requests built byte by byte, so that a test can send exactly
 * the malformed one it means to, and replies walked attribute by attribute.
 */
#ifndef CG_NL_H
#define CG_NL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/cowguard.h>

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

static inline void req_init(struct req *r, uint16_t type, uint16_t flags, uint8_t cmd)
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

static inline void req_put(struct req *r, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(r->data + NLMSG_ALIGN(r->h->nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	r->h->nlmsg_len = NLMSG_ALIGN(r->h->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static inline void req_u32(struct req *r, uint16_t type, uint32_t v)
{
	req_put(r, type, &v, sizeof(v));
}

static inline void req_u64(struct req *r, uint16_t type, uint64_t v)
{
	req_put(r, type, &v, sizeof(v));
}

static inline void req_str(struct req *r, uint16_t type, const char *s)
{
	req_put(r, type, s, strlen(s) + 1);
}

static inline int nl_send(struct nl *nl, struct req *r)
{
	r->h->nlmsg_seq = ++nl->seq;
	return send(nl->fd, r->h, r->h->nlmsg_len, 0) == (ssize_t)r->h->nlmsg_len ?
	       0 : -errno;
}

/* The extended-ack message among the TLVs after offset @off of @h. */
static inline void take_msg(struct nl *nl, const struct nlmsghdr *h, size_t off)
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
static inline int nl_recv(struct nl *nl, on_msg_t cb, void *arg, int *batches)
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

static inline struct nlattr *first_attr(const struct nlmsghdr *h, size_t hdr)
{
	return (struct nlattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(hdr));
}

#define for_each_attr(a, start, len)					\
	for (a = (start); (char *)a + NLA_HDRLEN <= (char *)(start) + (len) && \
	     a->nla_len >= NLA_HDRLEN; a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))

#define for_each_top_attr(a, h)						\
	for_each_attr(a, first_attr(h, GENL_HDRLEN),			\
		      (h)->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN)

static inline void *attr_data(const struct nlattr *a)
{
	return (char *)a + NLA_HDRLEN;
}

static inline uint64_t attr_u64(const struct nlattr *a)
{
	uint64_t v;

	memcpy(&v, attr_data(a), sizeof(v));
	return v;
}

static inline uint32_t attr_u32(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, attr_data(a), sizeof(v));
	return v;
}

static inline void on_family(const struct nlmsghdr *h, void *arg)
{
	struct nlattr *a;

	for_each_top_attr(a, h)
		if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
			*(uint16_t *)arg = *(uint16_t *)attr_data(a);
}

static inline int nl_open(struct nl *nl)
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

/* Send @r and return the errno of the answer (0 for an ack). */
static inline int transact(struct nl *nl, struct req *r)
{
	int err = nl_send(nl, r);

	return err ? err : nl_recv(nl, NULL, NULL, NULL);
}

/* Tunable @name in a COWGUARD_CMD_GET_MODULE reply (-1: not found). */
struct tunable_query {
	const char *name;
	int64_t value, min, max;
	int64_t registrations;	/* COWGUARD_MODULE_A_REGISTRATIONS */
};

static inline void on_module(const struct nlmsghdr *h, void *arg)
{
	struct tunable_query *q = arg;
	struct nlattr *a, *t;

	for_each_top_attr(a, h) {
		const char *name = NULL;
		int64_t value = -1, min = -1, max = -1;

		if (a->nla_type == COWGUARD_MODULE_A_REGISTRATIONS)
			q->registrations = (int64_t)attr_u64(a);
		if ((a->nla_type & NLA_TYPE_MASK) != COWGUARD_MODULE_A_TUNABLE)
			continue;
		for_each_attr(t, (struct nlattr *)attr_data(a), a->nla_len - NLA_HDRLEN) {
			if (t->nla_type == COWGUARD_TUNABLE_A_NAME)
				name = attr_data(t);
			if (t->nla_type == COWGUARD_TUNABLE_A_VALUE)
				value = (int64_t)attr_u64(t);
			if (t->nla_type == COWGUARD_TUNABLE_A_MINIMUM)
				min = (int64_t)attr_u64(t);
			if (t->nla_type == COWGUARD_TUNABLE_A_MAXIMUM)
				max = (int64_t)attr_u64(t);
		}
		if (name && q->name && !strcmp(name, q->name)) {
			q->value = value;
			q->min = min;
			q->max = max;
		}
	}
}

/* COWGUARD_CMD_GET_MODULE into @q (q->name: the tunable wanted, or NULL). */
static inline int get_module(struct nl *nl, struct tunable_query *q)
{
	struct req r;
	int err;

	q->value = q->min = q->max = q->registrations = -1;
	req_init(&r, nl->family, NLM_F_ACK, COWGUARD_CMD_GET_MODULE);
	err = nl_send(nl, &r);
	return err ? err : nl_recv(nl, on_module, q, NULL);
}

static inline int64_t get_tunable(struct nl *nl, const char *name)
{
	struct tunable_query q = { .name = name };

	return get_module(nl, &q) ? -1 : q.value;
}

/* COWGUARD_CMD_SET_TUNABLE: 0 or the kernel's -errno (message in nl->msg). */
static inline int set_tunable(struct nl *nl, const char *name, uint64_t v)
{
	struct req r;

	req_init(&r, nl->family, NLM_F_ACK, COWGUARD_CMD_SET_TUNABLE);
	req_str(&r, COWGUARD_A_TUNABLE_NAME, name);
	req_u64(&r, COWGUARD_A_TUNABLE_VALUE, v);
	return transact(nl, &r);
}

#endif /* CG_NL_H */
