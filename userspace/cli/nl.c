// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink client: one request, its replies parsed into plain
 * structs, and the kernel's error with its extended-ack message.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "nl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

const char *const cg_refuse_names[__COWGUARD_REFUSE_MAX] = {
	[COWGUARD_REFUSE_KERNEL] = "kernel",
	[COWGUARD_REFUSE_TRACED] = "traced",
	[COWGUARD_REFUSE_INSN] = "insn",
	[COWGUARD_REFUSE_NOT_SLOT] = "not_slot",
	[COWGUARD_REFUSE_BAND] = "band",
	[COWGUARD_REFUSE_NO_MAP] = "no_map",
};

const char *const cg_site_kind_names[__COWGUARD_SITE_MAX] = {
	[COWGUARD_SITE_EMULATED] = "emulated",
	[COWGUARD_SITE_BUDGET] = "budget",
	[COWGUARD_SITE_WRITE] = "write",
};

struct cg_nl {
	struct nl_sock *sk;
	int family;
	char message[256];
};

/* One request's state, shared by the receive callbacks. */
struct cg_req {
	struct cg_nl *nl;
	int (*parse)(void *arg, struct nlmsghdr *hdr);
	void *arg;
	int err;
	int done;
};

const char *cg_nl_message(const struct cg_nl *nl)
{
	return nl->message;
}

int cg_nl_open(struct cg_nl **out)
{
	struct cg_nl *nl = calloc(1, sizeof(*nl));
	int one = 1, ret;

	if (!nl)
		return -ENOMEM;
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		free(nl);
		return -ENOMEM;
	}
	ret = genl_connect(nl->sk);
	if (ret < 0) {
		ret = -EPROTONOSUPPORT;
		goto fail;
	}
	/* libnl 3.7 has no call for these: set them on the socket. */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	nl_socket_enable_msg_peek(nl->sk);
	nl->family = genl_ctrl_resolve(nl->sk, COWGUARD_GENL_NAME);
	if (nl->family < 0) {
		ret = nl->family == -NLE_OBJ_NOTFOUND ? -ENOENT : -EIO;
		goto fail;
	}
	*out = nl;
	return 0;
fail:
	nl_socket_free(nl->sk);
	free(nl);
	return ret;
}

void cg_nl_close(struct cg_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}

/* The extended-ack message among the TLVs that follow an error. */
static void cg_take_message(struct cg_nl *nl, const struct nlmsghdr *hdr,
			    size_t offset)
{
	const struct nlattr *a;
	int rem;

	if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS) || hdr->nlmsg_len < offset)
		return;
	nla_for_each_attr(a, (struct nlattr *)((char *)hdr + offset),
			  hdr->nlmsg_len - offset, rem) {
		if (nla_type(a) == NLMSGERR_ATTR_MSG && nla_len(a) > 0) {
			snprintf(nl->message, sizeof(nl->message), "%.*s",
				 nla_len(a), (const char *)nla_data(a));
			return;
		}
	}
}

static int cg_on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	const struct nlmsghdr *hdr = (const struct nlmsghdr *)
		((const char *)e - NLMSG_HDRLEN);
	struct cg_req *req = arg;
	size_t offset = NLMSG_HDRLEN + sizeof(*e);

	(void)who;
	/* Without NLM_F_CAPPED the request follows, then the TLVs. */
	if (!(hdr->nlmsg_flags & NLM_F_CAPPED))
		offset += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
	req->err = e->error;
	if (e->error)
		cg_take_message(req->nl, hdr, offset);
	req->done = 1;
	return NL_STOP;
}

static int cg_on_finish(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *hdr = nlmsg_hdr(msg);
	struct cg_req *req = arg;
	int err;

	/* A dump that failed says why in NLMSG_DONE. */
	if (hdr->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
		memcpy(&err, nlmsg_data(hdr), sizeof(err));
		if (err < 0) {
			req->err = err;
			cg_take_message(req->nl, hdr, NLMSG_HDRLEN + sizeof(int));
		}
	}
	req->done = 1;
	return NL_STOP;
}

static int cg_on_ack(struct nl_msg *msg, void *arg)
{
	struct cg_req *req = arg;

	(void)msg;
	req->done = 1;
	return NL_STOP;
}

static int cg_on_valid(struct nl_msg *msg, void *arg)
{
	struct cg_req *req = arg;
	int ret;

	if (!req->parse || req->err)
		return NL_OK;
	ret = req->parse(req->arg, nlmsg_hdr(msg));
	if (ret < 0)
		req->err = ret;
	return NL_OK;
}

/* The optional attributes of a request. */
struct cg_args {
	uint32_t pid;		/* 0: none */
	const char *name;	/* NULL: none */
	const uint64_t *value;	/* NULL: none */
};

/*
 * Send @cmd (a dump with @dump) and hand each reply message to @parse.
 * Return: 0, or the kernel's negative errno (its message in nl->message),
 * or -EIO when the socket failed.
 */
static int cg_transact(struct cg_nl *nl, uint8_t cmd, int dump,
		       const struct cg_args *args,
		       int (*parse)(void *, struct nlmsghdr *), void *arg)
{
	struct cg_req req = { .nl = nl, .parse = parse, .arg = arg };
	struct nl_msg *msg;
	struct nl_cb *cb;
	int ret;

	nl->message[0] = '\0';
	msg = nlmsg_alloc();
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!msg || !cb) {
		ret = -ENOMEM;
		goto out;
	}
	ret = -EMSGSIZE;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 dump ? NLM_F_DUMP : NLM_F_ACK, cmd, COWGUARD_GENL_VERSION))
		goto out;
	if (args && args->pid && nla_put_u32(msg, COWGUARD_A_PID, args->pid) < 0)
		goto out;
	if (args && args->name &&
	    nla_put_string(msg, COWGUARD_A_TUNABLE_NAME, args->name) < 0)
		goto out;
	if (args && args->value &&
	    nla_put_u64(msg, COWGUARD_A_TUNABLE_VALUE, *args->value) < 0)
		goto out;

	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, cg_on_valid, &req);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, cg_on_finish, &req);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, cg_on_ack, &req);
	nl_cb_err(cb, NL_CB_CUSTOM, cg_on_error, &req);
	if (nl_send_auto(nl->sk, msg) < 0) {
		ret = -EIO;
		goto out;
	}
	while (!req.done) {
		if (nl_recvmsgs(nl->sk, cb) < 0 && !req.done) {
			ret = -EIO;
			goto out;
		}
	}
	ret = req.err;
out:
	nl_cb_put(cb);
	nlmsg_free(msg);
	return ret;
}

/* The top-level attributes of a reply, for messages without repeats. */
static int cg_parse_top(struct nlmsghdr *hdr, struct nlattr **tb, int maxattr)
{
	return genlmsg_parse(hdr, 0, tb, maxattr, NULL) < 0 ? -EBADMSG : 0;
}

/* Attribute readers that tolerate a missing or short attribute. */
static uint64_t get_u64(const struct nlattr *a)
{
	return a && nla_len(a) >= 8 ? nla_get_u64((struct nlattr *)a) : 0;
}

static uint32_t get_u32(const struct nlattr *a)
{
	return a && nla_len(a) >= 4 ? nla_get_u32((struct nlattr *)a) : 0;
}

static void get_str(char *dst, size_t size, const struct nlattr *a)
{
	snprintf(dst, size, "%.*s", a ? nla_len(a) : 0,
		 a ? (const char *)nla_data(a) : "");
}

static void get_refused(uint64_t *refused, const struct nlattr *nest)
{
	const struct nlattr *a;
	int rem;

	if (!nest)
		return;
	nla_for_each_nested(a, (struct nlattr *)nest, rem)
		if (nla_type(a) >= 1 && nla_type(a) <= __COWGUARD_REFUSE_MAX)
			refused[nla_type(a) - 1] = get_u64(a);
}

static int cg_list_push(struct cg_list *list, const void *item)
{
	if (list->n == list->cap) {
		size_t cap = list->cap ? 2 * list->cap : 64;
		void *items = realloc(list->items, cap * list->size);

		if (!items)
			return -ENOMEM;
		list->items = items;
		list->cap = cap;
	}
	memcpy((char *)list->items + list->n++ * list->size, item, list->size);
	return 0;
}

void cg_list_free(struct cg_list *list)
{
	free(list->items);
	memset(list, 0, sizeof(*list));
}

static void cg_list_init(struct cg_list *list, size_t size)
{
	memset(list, 0, sizeof(*list));
	list->size = size;
}

static int parse_tunable(struct cg_module_info *mod, const struct nlattr *nest)
{
	struct nlattr *tb[COWGUARD_TUNABLE_A_MAX + 1];
	struct cg_tunable_info *t;

	if (mod->n_tunables == CG_MAX_TUNABLES)
		return 0;
	if (nla_parse_nested(tb, COWGUARD_TUNABLE_A_MAX, (struct nlattr *)nest,
			     NULL) < 0)
		return -EBADMSG;
	t = &mod->tunables[mod->n_tunables++];
	get_str(t->name, sizeof(t->name), tb[COWGUARD_TUNABLE_A_NAME]);
	t->value = get_u64(tb[COWGUARD_TUNABLE_A_VALUE]);
	t->min = get_u64(tb[COWGUARD_TUNABLE_A_MINIMUM]);
	t->max = get_u64(tb[COWGUARD_TUNABLE_A_MAXIMUM]);
	return 0;
}

static void parse_module(struct cg_module_info *mod, struct nlattr **tb)
{

	get_str(mod->version, sizeof(mod->version), tb[COWGUARD_MODULE_A_VERSION]);
	mod->abi_version = get_u32(tb[COWGUARD_MODULE_A_ABI_VERSION]);
	mod->page_size = get_u32(tb[COWGUARD_MODULE_A_PAGE_SIZE]);
	mod->live_pages = get_u64(tb[COWGUARD_MODULE_A_LIVE_PAGES]);
	mod->registrations = get_u64(tb[COWGUARD_MODULE_A_REGISTRATIONS]);
	mod->views = get_u64(tb[COWGUARD_MODULE_A_VIEWS]);
	mod->golden_pages = get_u64(tb[COWGUARD_MODULE_A_GOLDEN_PAGES]);
	mod->mapped_pages = get_u64(tb[COWGUARD_MODULE_A_MAPPED_PAGES]);
	mod->shadow_pages = get_u64(tb[COWGUARD_MODULE_A_SHADOW_PAGES]);
	mod->emulated = get_u64(tb[COWGUARD_MODULE_A_EMULATED]);
	mod->budget_shadows = get_u64(tb[COWGUARD_MODULE_A_BUDGET_SHADOWS]);
	mod->reclaimed = get_u64(tb[COWGUARD_MODULE_A_RECLAIMED]);
	mod->reshadowed = get_u64(tb[COWGUARD_MODULE_A_RESHADOWED]);
	get_refused(mod->refused, tb[COWGUARD_MODULE_A_REFUSED]);
}

/* COWGUARD_MODULE_A_TUNABLE repeats: walk the message for them. */
static int parse_module_msg(void *arg, struct nlmsghdr *hdr)
{
	struct nlattr *tb[COWGUARD_MODULE_A_MAX + 1];
	struct cg_module_info *mod = arg;
	struct nlattr *a;
	int rem, ret;

	ret = cg_parse_top(hdr, tb, COWGUARD_MODULE_A_MAX);
	if (ret)
		return ret;
	parse_module(mod, tb);

	nla_for_each_attr(a, genlmsg_attrdata(nlmsg_data(hdr), 0),
			  genlmsg_attrlen(nlmsg_data(hdr), 0), rem) {
		if (nla_type(a) != COWGUARD_MODULE_A_TUNABLE)
			continue;
		ret = parse_tunable(mod, a);
		if (ret)
			return ret;
	}
	return 0;
}

int cg_nl_get_module(struct cg_nl *nl, struct cg_module_info *mod)
{
	memset(mod, 0, sizeof(*mod));
	return cg_transact(nl, COWGUARD_CMD_GET_MODULE, 0, NULL,
			   parse_module_msg, mod);
}

int cg_nl_set_tunable(struct cg_nl *nl, const char *name, uint64_t value)
{
	struct cg_args args = { .name = name, .value = &value };

	return cg_transact(nl, COWGUARD_CMD_SET_TUNABLE, 0, &args, NULL, NULL);
}

static int parse_reg(void *arg, struct nlmsghdr *hdr)
{
	struct nlattr *tb[COWGUARD_REG_A_MAX + 1];
	struct cg_reg_info r;

	if (cg_parse_top(hdr, tb, COWGUARD_REG_A_MAX))
		return -EBADMSG;
	r = (struct cg_reg_info){
		.id = get_u64(tb[COWGUARD_REG_A_ID]),
		.owner_pid = get_u32(tb[COWGUARD_REG_A_OWNER_PID]),
		.start = get_u64(tb[COWGUARD_REG_A_START]),
		.length = get_u64(tb[COWGUARD_REG_A_LENGTH]),
		.golden_pages = get_u64(tb[COWGUARD_REG_A_GOLDEN_PAGES]),
		.processes = get_u32(tb[COWGUARD_REG_A_PROCESSES]),
		.shadow_pages = get_u64(tb[COWGUARD_REG_A_SHADOW_PAGES]),
		.emulated = get_u64(tb[COWGUARD_REG_A_EMULATED]),
		.budget_shadows = get_u64(tb[COWGUARD_REG_A_BUDGET_SHADOWS]),
		.trap_budget = get_u32(tb[COWGUARD_REG_A_TRAP_BUDGET]),
		.slot_width = get_u32(tb[COWGUARD_REG_A_SLOT_WIDTH]),
		.reclaimed = get_u64(tb[COWGUARD_REG_A_RECLAIMED]),
	};

	return cg_list_push(arg, &r);
}

int cg_nl_get_registrations(struct cg_nl *nl, struct cg_list *regs)
{
	cg_list_init(regs, sizeof(struct cg_reg_info));
	return cg_transact(nl, COWGUARD_CMD_GET_REGISTRATIONS, 1, NULL,
			   parse_reg, regs);
}

static int parse_view(void *arg, struct nlmsghdr *hdr)
{
	struct nlattr *tb[COWGUARD_VIEW_A_MAX + 1];
	struct cg_view_info v;

	if (cg_parse_top(hdr, tb, COWGUARD_VIEW_A_MAX))
		return -EBADMSG;
	v = (struct cg_view_info){
		.id = get_u64(tb[COWGUARD_VIEW_A_ID]),
		.pid = get_u32(tb[COWGUARD_VIEW_A_PID]),
		.reg_id = get_u64(tb[COWGUARD_VIEW_A_REG_ID]),
		.mapped_pages = get_u64(tb[COWGUARD_VIEW_A_MAPPED_PAGES]),
		.shadow_pages = get_u64(tb[COWGUARD_VIEW_A_SHADOW_PAGES]),
		.read_faults = get_u64(tb[COWGUARD_VIEW_A_READ_FAULTS]),
		.shadow_faults = get_u64(tb[COWGUARD_VIEW_A_SHADOW_FAULTS]),
		.write_faults = get_u64(tb[COWGUARD_VIEW_A_WRITE_FAULTS]),
		.emulated = get_u64(tb[COWGUARD_VIEW_A_EMULATED]),
		.budget_shadows = get_u64(tb[COWGUARD_VIEW_A_BUDGET_SHADOWS]),
		.reclaimed = get_u64(tb[COWGUARD_VIEW_A_RECLAIMED]),
		.reshadowed = get_u64(tb[COWGUARD_VIEW_A_RESHADOWED]),
		.budget_shadow_pages =
			get_u64(tb[COWGUARD_VIEW_A_BUDGET_SHADOW_PAGES]),
		.capped = get_u64(tb[COWGUARD_VIEW_A_CAPPED]),
		.exclusive_shadow_pages =
			get_u64(tb[COWGUARD_VIEW_A_EXCLUSIVE_SHADOW_PAGES]),
	};

	get_refused(v.refused, tb[COWGUARD_VIEW_A_REFUSED]);
	return cg_list_push(arg, &v);
}

int cg_nl_get_views(struct cg_nl *nl, uint32_t pid, struct cg_list *views)
{
	struct cg_args args = { .pid = pid };

	cg_list_init(views, sizeof(struct cg_view_info));
	return cg_transact(nl, COWGUARD_CMD_GET_VIEWS, 1, &args, parse_view,
			   views);
}

/* Sites repeat COWGUARD_SITES_A_SITE: walk the message, not tb[]. */
static int parse_sites_msg(void *arg, struct nlmsghdr *hdr)
{
	struct nlattr *attrs = genlmsg_attrdata(nlmsg_data(hdr), 0);
	int len = genlmsg_attrlen(nlmsg_data(hdr), 0);
	struct nlattr *tb[COWGUARD_SITE_A_MAX + 1];
	struct cg_list *sites = arg;
	struct cg_site_info head = { 0 };
	struct nlattr *a;
	int rem, ret;

	nla_for_each_attr(a, attrs, len, rem) {
		switch (nla_type(a)) {
		case COWGUARD_SITES_A_VIEW_ID:
			head.view_id = get_u64(a);
			break;
		case COWGUARD_SITES_A_PID:
			head.pid = get_u32(a);
			break;
		case COWGUARD_SITES_A_REG_ID:
			head.reg_id = get_u64(a);
			break;
		}
	}
	nla_for_each_attr(a, attrs, len, rem) {
		struct cg_site_info s = head;

		if (nla_type(a) != COWGUARD_SITES_A_SITE)
			continue;
		if (nla_parse_nested(tb, COWGUARD_SITE_A_MAX, a, NULL) < 0)
			return -EBADMSG;
		s.kind = get_u32(tb[COWGUARD_SITE_A_KIND]);
		s.ip = get_u64(tb[COWGUARD_SITE_A_IP]);
		s.count = get_u64(tb[COWGUARD_SITE_A_COUNT]);
		s.error = get_u64(tb[COWGUARD_SITE_A_ERROR]);
		s.in_proof = tb[COWGUARD_SITE_A_PROOF_WRITES] != NULL;
		s.proof_writes = get_u64(tb[COWGUARD_SITE_A_PROOF_WRITES]);
		s.proof_refused = get_u64(tb[COWGUARD_SITE_A_PROOF_REFUSED]);
		if (s.kind >= __COWGUARD_SITE_MAX)
			continue;
		ret = cg_list_push(sites, &s);
		if (ret)
			return ret;
	}
	return 0;
}

int cg_nl_get_sites(struct cg_nl *nl, uint32_t pid, struct cg_list *sites)
{
	struct cg_args args = { .pid = pid };

	cg_list_init(sites, sizeof(struct cg_site_info));
	return cg_transact(nl, COWGUARD_CMD_GET_SITES, 1, &args,
			   parse_sites_msg, sites);
}

