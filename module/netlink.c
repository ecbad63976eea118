// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Overview
 *
 * The generic netlink family "cowguard": module totals and tunables,
 * registrations, per-process views and their faulting sites, for operators
 * who must not attach to the processes. The protocol is documented in the
 * uapi header. Requests are validated strictly by genetlink against the
 * per-command policies below; dumps resume from ids kept in cb->args, never
 * from pointers, because the lists change between two reads.
 *
 * Setting a tunable needs CAP_SYS_ADMIN, as writing the root-only module
 * parameter files does. A dump lists a process's view, and a registration,
 * only to a caller who could read the process's /proc/PID/maps (see
 * cg_may_read()); the module-wide totals of COWGUARD_CMD_GET_MODULE are for
 * everyone.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/coredump.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/threads.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "cowguard.h"
#include "tunables.h"
#include "version.h"

static const struct nla_policy cg_set_policy[COWGUARD_A_TUNABLE_VALUE + 1] = {
	[COWGUARD_A_TUNABLE_NAME] = { .type = NLA_NUL_STRING,
				      .len = COWGUARD_TUNABLE_NAME_MAX - 1 },
	/* Its range depends on the name: cg_tunable_set() checks it. */
	[COWGUARD_A_TUNABLE_VALUE] = { .type = NLA_U64 },
};

static struct netlink_range_validation cg_pid_range = {
	.min = 1,
	.max = PID_MAX_LIMIT,
};

static const struct nla_policy cg_pid_policy[COWGUARD_A_PID + 1] = {
	[COWGUARD_A_PID] = NLA_POLICY_FULL_RANGE(NLA_U32, &cg_pid_range),
};

/* cb->args of the view dumps. */
enum {
	CG_DUMP_REG_ID,		/* the registration being dumped */
	CG_DUMP_VIEW_ID,	/* the last view of it dumped */
	CG_DUMP_STARTED,	/* the first call has checked the request */
};

static struct genl_family cg_genl_family;

/*
 * The view's process id in the caller's pid namespace; 0 when the process
 * is exiting or not visible. mm->owner names the process of an mm, even
 * for a view created by fork before the child had an id.
 */
static u32 cg_view_pid(struct cg_view *view)
{
	u32 pid = 0;
#ifdef CONFIG_MEMCG
	struct task_struct *owner;

	rcu_read_lock();
	owner = rcu_dereference(view->mm->owner);
	if (owner)
		pid = task_tgid_vnr(owner);
	rcu_read_unlock();
#endif
	return pid;
}

/* Whose credentials a dump is checked against: the reader's or the opener's. */
struct cg_caller {
	const struct cred *cred;
	struct file *file;	/* the socket, for its opener; NULL: current */
};

static bool cg_caller_ptrace_capable(const struct cg_caller *c,
				     struct user_namespace *ns)
{
	return c->file ? file_ns_capable(c->file, ns, CAP_SYS_PTRACE) :
			 ns_capable_noaudit(ns, CAP_SYS_PTRACE);
}

/*
 * __ptrace_may_access(@task, PTRACE_MODE_READ_FSCREDS), what /proc/PID/maps
 * checks, for @c: the same fsuid/fsgid as all of @task's ids, or
 * CAP_SYS_PTRACE over its user namespace; and @mm (@task's own when NULL)
 * dumpable, or CAP_SYS_PTRACE over the mm's namespace. Only the LSM hook is
 * missing: ptrace_may_access() is not exported to modules. Called with
 * task_lock(@task) held, which keeps task->mm.
 */
static bool cg_cred_may_read(const struct cg_caller *c,
			     struct task_struct *task, struct mm_struct *mm)
{
	const struct cred *tcred;
	bool ok;

	rcu_read_lock();
	tcred = __task_cred(task);
	ok = (uid_eq(c->cred->fsuid, tcred->euid) &&
	      uid_eq(c->cred->fsuid, tcred->suid) &&
	      uid_eq(c->cred->fsuid, tcred->uid) &&
	      gid_eq(c->cred->fsgid, tcred->egid) &&
	      gid_eq(c->cred->fsgid, tcred->sgid) &&
	      gid_eq(c->cred->fsgid, tcred->gid)) ||
	     cg_caller_ptrace_capable(c, tcred->user_ns);
	rcu_read_unlock();
	if (!ok)
		return false;
	/* Dumpability after the credentials, as in __ptrace_may_access(). */
	smp_rmb();
	mm = mm ?: task->mm;
	return !mm || get_dumpable(mm) == SUID_DUMP_USER ||
	       cg_caller_ptrace_capable(c, mm->user_ns);
}

/*
 * May the dump's caller read @task's /proc/PID/maps (@mm: the mm whose
 * figures would be shown, NULL for @task's)? Both the process reading the
 * dump and the socket's opener must, as /proc checks its opener and
 * genetlink both (netlink_capable()): a dump request written or read on an
 * unprivileged user's behalf by a privileged process shows no more than
 * that user could see. A process sees itself (through a socket opened with
 * its current credentials). Without a task (an
 * exited process, or no mm->owner without CONFIG_MEMCG) only a caller
 * with CAP_SYS_PTRACE sees the entry.
 */
static bool cg_may_read(struct netlink_callback *cb, struct task_struct *task,
			struct mm_struct *mm)
{
	struct sock *sk = NETLINK_CB(cb->skb).sk;
	struct cg_caller me = { .cred = current_cred() };
	struct cg_caller opener = {};
	bool ok;

	if (!sk || !sk->sk_socket || !sk->sk_socket->file)
		return false;
	opener.file = sk->sk_socket->file;
	opener.cred = opener.file->f_cred;
	if (!task)
		return cg_caller_ptrace_capable(&me, &init_user_ns) &&
		       cg_caller_ptrace_capable(&opener, &init_user_ns);
	task_lock(task);
	ok = same_thread_group(task, current) || cg_cred_may_read(&me, task, mm);
	if (ok && opener.cred != me.cred)
		ok = cg_cred_may_read(&opener, task, mm);
	task_unlock(task);
	return ok;
}

static bool cg_may_see_view(struct netlink_callback *cb, struct cg_view *view)
{
	struct task_struct *owner = NULL;
	bool ok;

	rcu_read_lock();
#ifdef CONFIG_MEMCG
	owner = rcu_dereference(view->mm->owner);
#endif
	if (owner)
		get_task_struct(owner);
	rcu_read_unlock();
	ok = cg_may_read(cb, owner, view->mm);
	if (owner)
		put_task_struct(owner);
	return ok;
}

/*
 * A registration is listed to whoever may read its registering process,
 * or once that has exited, any process that maps it. Called with
 * region->lock held.
 */
static bool cg_may_see_region(struct netlink_callback *cb,
			      struct cg_region *region)
{
	struct task_struct *owner = get_pid_task(region->owner, PIDTYPE_TGID);
	struct cg_view *view;
	bool ok = false;

	if (owner) {
		ok = cg_may_read(cb, owner, NULL);
		put_task_struct(owner);
		return ok;
	}
	list_for_each_entry(view, &region->views, node)
		if (cg_may_see_view(cb, view))
			return true;
	return false;
}

static bool cg_pid_exists(u32 nr)
{
	bool found;

	rcu_read_lock();
	found = pid_task(find_vpid(nr), PIDTYPE_TGID);
	rcu_read_unlock();
	return found;
}

/*
 * The registration with the smallest id >= @id. Called with
 * cg_regions_lock held. Registrations are few (one per preforking master),
 * so a scan per step is cheap, and it does not depend on the list's order.
 */
static struct cg_region *cg_region_from(u64 id)
{
	struct cg_region *region, *best = NULL;

	lockdep_assert_held(&cg_regions_lock);
	list_for_each_entry(region, &cg_regions, node)
		if (region->id >= id && (!best || region->id < best->id))
			best = region;
	return best;
}

static int cg_put_refused(struct sk_buff *skb, int type,
			  const struct cowguard_stats *st)
{
	struct nlattr *nest;
	int i;

	nest = nla_nest_start(skb, type);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < __COWGUARD_REFUSE_MAX; i++) {
		if (nla_put_u64_64bit(skb, i + 1, st->refused[i], 0)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int cg_put_tunable(struct sk_buff *skb, const struct cg_tunable *t)
{
	struct nlattr *nest;

	nest = nla_nest_start(skb, COWGUARD_MODULE_A_TUNABLE);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_string(skb, COWGUARD_TUNABLE_A_NAME, t->name) ||
	    nla_put_u64_64bit(skb, COWGUARD_TUNABLE_A_VALUE, READ_ONCE(*t->value),
			      COWGUARD_TUNABLE_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_TUNABLE_A_MINIMUM, t->min,
			      COWGUARD_TUNABLE_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_TUNABLE_A_MAXIMUM, t->max,
			      COWGUARD_TUNABLE_A_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int cg_fill_module(struct sk_buff *skb)
{
	struct cowguard_stats st = {};
	struct cg_region *region;
	struct cg_view *view;
	u64 views = 0, golden = 0;
	int i;

	mutex_lock(&cg_regions_lock);
	list_for_each_entry(region, &cg_regions, node) {
		golden += region->npages;
		mutex_lock(&region->lock);
		list_for_each_entry(view, &region->views, node) {
			cg_stats_add_view(&st, view);
			views++;
		}
		mutex_unlock(&region->lock);
	}
	mutex_unlock(&cg_regions_lock);

	if (nla_put_string(skb, COWGUARD_MODULE_A_VERSION, COWGUARD_VERSION) ||
	    nla_put_u32(skb, COWGUARD_MODULE_A_ABI_VERSION, COWGUARD_ABI_VERSION) ||
	    nla_put_u32(skb, COWGUARD_MODULE_A_PAGE_SIZE, PAGE_SIZE) ||
	    nla_put_u64_64bit(skb, COWGUARD_MODULE_A_LIVE_PAGES,
			      atomic64_read(&cg_live_pages), COWGUARD_MODULE_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_MODULE_A_REGISTRATIONS,
			      atomic64_read(&cg_nr_regions), COWGUARD_MODULE_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_MODULE_A_VIEWS, views,
			      COWGUARD_MODULE_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_MODULE_A_GOLDEN_PAGES, golden,
			      COWGUARD_MODULE_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_MODULE_A_MAPPED_PAGES,
			      st.mapped_pages, COWGUARD_MODULE_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_MODULE_A_SHADOW_PAGES,
			      st.shadow_pages, COWGUARD_MODULE_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_MODULE_A_EMULATED, st.emulated,
			      COWGUARD_MODULE_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_MODULE_A_BUDGET_SHADOWS,
			      st.budget_shadows, COWGUARD_MODULE_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_MODULE_A_RECLAIMED, st.reclaimed,
			      COWGUARD_MODULE_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_MODULE_A_RESHADOWED, st.reshadowed,
			      COWGUARD_MODULE_A_PAD) ||
	    cg_put_refused(skb, COWGUARD_MODULE_A_REFUSED, &st))
		return -EMSGSIZE;
	for (i = 0; i < cg_nr_tunables; i++)
		if (cg_put_tunable(skb, &cg_tunables[i]))
			return -EMSGSIZE;
	return 0;
}

static int cg_nl_get_module(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg) {
		GENL_SET_ERR_MSG(info, "out of memory");
		return -ENOMEM;
	}
	hdr = genlmsg_put_reply(msg, info, &cg_genl_family, 0,
				COWGUARD_CMD_GET_MODULE);
	if (!hdr || cg_fill_module(msg)) {
		nlmsg_free(msg);
		GENL_SET_ERR_MSG(info, "reply does not fit in a message");
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int cg_nl_set_tunable(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *name = info->attrs[COWGUARD_A_TUNABLE_NAME];
	struct nlattr *value = info->attrs[COWGUARD_A_TUNABLE_VALUE];
	const struct cg_tunable *t;
	u64 v;
	int err;

	/*
	 * As the root-only parameter files: CAP_SYS_ADMIN, of the socket's
	 * opener and of the sender both (netlink_capable()).
	 */
	if (!netlink_capable(skb, CAP_SYS_ADMIN)) {
		GENL_SET_ERR_MSG(info, "setting a tunable needs CAP_SYS_ADMIN");
		return -EPERM;
	}
	if (GENL_REQ_ATTR_CHECK(info, COWGUARD_A_TUNABLE_NAME)) {
		GENL_SET_ERR_MSG(info, "missing tunable name");
		return -EINVAL;
	}
	if (GENL_REQ_ATTR_CHECK(info, COWGUARD_A_TUNABLE_VALUE)) {
		GENL_SET_ERR_MSG(info, "missing tunable value");
		return -EINVAL;
	}
	t = cg_tunable_find(nla_data(name));
	if (!t) {
		NL_SET_ERR_MSG_ATTR(info->extack, name, "unknown tunable");
		return -ENOENT;
	}
	v = nla_get_u64(value);
	/* The sysfs files' lock: one setter at a time, whichever interface. */
	kernel_param_lock(THIS_MODULE);
	err = cg_tunable_set(t, v);
	kernel_param_unlock(THIS_MODULE);
	if (err) {
		NL_SET_ERR_MSG_ATTR(info->extack, value,
				    "value out of range for this tunable (see its minimum and maximum)");
		return err;
	}
	pr_info("%s set to %llu by pid %d\n", t->name, v, task_tgid_nr(current));
	return 0;
}

/* What a dump callback returns after filling @skb, given @err. */
static int cg_dump_end(struct sk_buff *skb, struct netlink_callback *cb,
		       int err)
{
	if (!err || (err == -EMSGSIZE && skb->len))
		return skb->len;
	NL_SET_ERR_MSG(cb->extack, "an entry does not fit in a message");
	return err;
}

static int cg_fill_region(struct sk_buff *skb, struct netlink_callback *cb,
			  struct cg_region *region)
{
	u64 shadows = 0;
	u32 processes = 0;
	struct cg_view *view;
	void *hdr;

	mutex_lock(&region->lock);
	if (!cg_may_see_region(cb, region)) {
		mutex_unlock(&region->lock);
		return 0;
	}
	list_for_each_entry(view, &region->views, node) {
		shadows += READ_ONCE(view->nr_shadows);
		processes++;
	}
	mutex_unlock(&region->lock);

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &cg_genl_family, NLM_F_MULTI,
			  COWGUARD_CMD_GET_REGISTRATIONS);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, COWGUARD_REG_A_ID, region->id,
			      COWGUARD_REG_A_PAD) ||
	    nla_put_u32(skb, COWGUARD_REG_A_OWNER_PID, pid_vnr(region->owner)) ||
	    nla_put_u64_64bit(skb, COWGUARD_REG_A_START, region->start,
			      COWGUARD_REG_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_REG_A_LENGTH,
			      (u64)region->npages << PAGE_SHIFT, COWGUARD_REG_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_REG_A_GOLDEN_PAGES, region->npages,
			      COWGUARD_REG_A_PAD) ||
	    nla_put_u32(skb, COWGUARD_REG_A_PROCESSES, processes) ||
	    nla_put_u64_64bit(skb, COWGUARD_REG_A_SHADOW_PAGES, shadows,
			      COWGUARD_REG_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_REG_A_EMULATED,
			      atomic64_read(&region->emulated), COWGUARD_REG_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_REG_A_BUDGET_SHADOWS,
			      atomic64_read(&region->budget_shadows),
			      COWGUARD_REG_A_PAD) ||
	    nla_put_u32(skb, COWGUARD_REG_A_TRAP_BUDGET, region->trap_budget) ||
	    nla_put_u32(skb, COWGUARD_REG_A_SLOT_WIDTH, region->slot_width) ||
	    nla_put_u64_64bit(skb, COWGUARD_REG_A_RECLAIMED,
			      atomic64_read(&region->reclaimed), COWGUARD_REG_A_PAD)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int cg_nl_dump_registrations(struct sk_buff *skb,
				    struct netlink_callback *cb)
{
	struct cg_region *region;
	u64 next = cb->args[CG_DUMP_REG_ID];
	int err = 0;

	mutex_lock(&cg_regions_lock);
	while ((region = cg_region_from(next))) {
		err = cg_fill_region(skb, cb, region);
		if (err)
			break;
		next = region->id + 1;
	}
	mutex_unlock(&cg_regions_lock);
	cb->args[CG_DUMP_REG_ID] = next;
	return cg_dump_end(skb, cb, err);
}

static int cg_fill_view(struct sk_buff *skb, struct netlink_callback *cb,
			struct cg_view *view, u32 pid)
{
	struct cowguard_stats st = {};
	void *hdr;

	cg_stats_add_view(&st, view);
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &cg_genl_family, NLM_F_MULTI, COWGUARD_CMD_GET_VIEWS);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, COWGUARD_VIEW_A_ID, view->id,
			      COWGUARD_VIEW_A_PAD) ||
	    nla_put_u32(skb, COWGUARD_VIEW_A_PID, pid) ||
	    nla_put_u64_64bit(skb, COWGUARD_VIEW_A_REG_ID, view->region->id,
			      COWGUARD_VIEW_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_VIEW_A_MAPPED_PAGES, st.mapped_pages,
			      COWGUARD_VIEW_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_VIEW_A_SHADOW_PAGES, st.shadow_pages,
			      COWGUARD_VIEW_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_VIEW_A_READ_FAULTS, st.read_faults,
			      COWGUARD_VIEW_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_VIEW_A_SHADOW_FAULTS,
			      st.shadow_faults, COWGUARD_VIEW_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_VIEW_A_WRITE_FAULTS, st.write_faults,
			      COWGUARD_VIEW_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_VIEW_A_EMULATED, st.emulated,
			      COWGUARD_VIEW_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_VIEW_A_BUDGET_SHADOWS,
			      st.budget_shadows, COWGUARD_VIEW_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_VIEW_A_RECLAIMED, st.reclaimed,
			      COWGUARD_VIEW_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_VIEW_A_RESHADOWED, st.reshadowed,
			      COWGUARD_VIEW_A_PAD) ||
	    cg_put_refused(skb, COWGUARD_VIEW_A_REFUSED, &st) ||
	    nla_put_u64_64bit(skb, COWGUARD_VIEW_A_BUDGET_SHADOW_PAGES,
			      st.budget_shadow_pages, COWGUARD_VIEW_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_VIEW_A_CAPPED, st.capped,
			      COWGUARD_VIEW_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_VIEW_A_EXCLUSIVE_SHADOW_PAGES,
			      st.exclusive_shadow_pages, COWGUARD_VIEW_A_PAD)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int cg_put_site(struct sk_buff *skb, int kind, const struct cg_site *site,
		       struct cg_proof *proof)
{
	struct cg_proof_site found;
	struct nlattr *nest;
	bool in_proof;

	nest = nla_nest_start(skb, COWGUARD_SITES_A_SITE);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, COWGUARD_SITE_A_KIND, kind) ||
	    nla_put_u64_64bit(skb, COWGUARD_SITE_A_IP, site->ip,
			      COWGUARD_SITE_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_SITE_A_COUNT, site->count,
			      COWGUARD_SITE_A_PAD) ||
	    nla_put_u64_64bit(skb, COWGUARD_SITE_A_ERROR, site->error,
			      COWGUARD_SITE_A_PAD))
		goto cancel;
	in_proof = cg_proof_lookup(proof, site->ip, &found);
	if (in_proof &&
	    (nla_put_u64_64bit(skb, COWGUARD_SITE_A_PROOF_WRITES,
			       found.refcount_writes, COWGUARD_SITE_A_PAD) ||
	     nla_put_u64_64bit(skb, COWGUARD_SITE_A_PROOF_REFUSED,
			       found.refused, COWGUARD_SITE_A_PAD)))
		goto cancel;
	nla_nest_end(skb, nest);
	return 0;
cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

static int cg_fill_sites(struct sk_buff *skb, struct netlink_callback *cb,
			 struct cg_view *view, u32 pid)
{
	struct cg_site site[__COWGUARD_SITE_MAX][COWGUARD_SITES_PER_KIND];
	int kind, i;
	void *hdr;

	cg_sites_copy(&view->sites, site);
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &cg_genl_family, NLM_F_MULTI, COWGUARD_CMD_GET_SITES);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, COWGUARD_SITES_A_VIEW_ID, view->id,
			      COWGUARD_SITES_A_PAD) ||
	    nla_put_u32(skb, COWGUARD_SITES_A_PID, pid) ||
	    nla_put_u64_64bit(skb, COWGUARD_SITES_A_REG_ID, view->region->id,
			      COWGUARD_SITES_A_PAD))
		goto cancel;
	for (kind = 0; kind < __COWGUARD_SITE_MAX; kind++)
		for (i = 0; i < COWGUARD_SITES_PER_KIND; i++)
			if (site[kind][i].count &&
			    cg_put_site(skb, kind, &site[kind][i],
					view->region->proof))
				goto cancel;
	genlmsg_end(skb, hdr);
	return 0;
cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

typedef int (*cg_view_fill_t)(struct sk_buff *skb, struct netlink_callback *cb,
			      struct cg_view *view, u32 pid);

/*
 * Dump every view the caller may see (of one process with COWGUARD_A_PID)
 * in increasing (registration id, view id) order, one message each. A
 * region's views are kept in increasing id order (view.c), so resuming
 * after the last view id dumped neither skips nor repeats a view that
 * exists throughout the dump.
 */
static int cg_dump_views(struct sk_buff *skb, struct netlink_callback *cb,
			 cg_view_fill_t fill)
{
	struct nlattr **attrs = cg_dump_attrs(cb);
	struct nlattr *pid_attr = attrs ? attrs[COWGUARD_A_PID] : NULL;
	u64 reg_id = cb->args[CG_DUMP_REG_ID];
	u64 view_id = cb->args[CG_DUMP_VIEW_ID];
	u32 want = pid_attr ? nla_get_u32(pid_attr) : 0;
	struct cg_region *region;
	struct cg_view *view;
	int err = 0;

	/* Checked here, not in ->start(), which has no extack to fill. */
	if (!cb->args[CG_DUMP_STARTED]) {
		cb->args[CG_DUMP_STARTED] = 1;
		if (want && !cg_pid_exists(want)) {
			NL_SET_ERR_MSG(cb->extack, "no such process");
			return -ESRCH;
		}
	}

	mutex_lock(&cg_regions_lock);
	while ((region = cg_region_from(reg_id))) {
		if (region->id != reg_id) {
			reg_id = region->id;
			view_id = 0;
		}
		mutex_lock(&region->lock);
		list_for_each_entry(view, &region->views, node) {
			u32 pid;

			if (view->id <= view_id)
				continue;
			pid = cg_view_pid(view);
			if ((!want || pid == want) && cg_may_see_view(cb, view)) {
				err = fill(skb, cb, view, pid);
				if (err)
					break;
			}
			view_id = view->id;
		}
		mutex_unlock(&region->lock);
		if (err)
			break;
		reg_id++;
		view_id = 0;
	}
	mutex_unlock(&cg_regions_lock);
	cb->args[CG_DUMP_REG_ID] = reg_id;
	cb->args[CG_DUMP_VIEW_ID] = view_id;
	return cg_dump_end(skb, cb, err);
}

static int cg_nl_dump_views(struct sk_buff *skb, struct netlink_callback *cb)
{
	return cg_dump_views(skb, cb, cg_fill_view);
}

static int cg_nl_dump_sites(struct sk_buff *skb, struct netlink_callback *cb)
{
	return cg_dump_views(skb, cb, cg_fill_sites);
}

/* Commands without a policy take no attributes (genetlink rejects any). */
static const struct genl_ops cg_genl_ops[] = {
	{
		.cmd = COWGUARD_CMD_GET_MODULE,
		.doit = cg_nl_get_module,
	},
	{
		/* Not GENL_ADMIN_PERM: CAP_NET_ADMIN is not enough, and the
		 * handler's own check can say why in the extended ack.
		 */
		.cmd = COWGUARD_CMD_SET_TUNABLE,
		.doit = cg_nl_set_tunable,
		.policy = cg_set_policy,
		.maxattr = ARRAY_SIZE(cg_set_policy) - 1,
	},
	{
		.cmd = COWGUARD_CMD_GET_REGISTRATIONS,
		.dumpit = cg_nl_dump_registrations,
	},
	{
		.cmd = COWGUARD_CMD_GET_VIEWS,
		.dumpit = cg_nl_dump_views,
		.policy = cg_pid_policy,
		.maxattr = ARRAY_SIZE(cg_pid_policy) - 1,
	},
	{
		.cmd = COWGUARD_CMD_GET_SITES,
		.dumpit = cg_nl_dump_sites,
		.policy = cg_pid_policy,
		.maxattr = ARRAY_SIZE(cg_pid_policy) - 1,
	},
};

static struct genl_family cg_genl_family __ro_after_init = {
	.name = COWGUARD_GENL_NAME,
	.version = COWGUARD_GENL_VERSION,
	/* Our own locks protect everything the handlers read. */
	.parallel_ops = true,
	/* A new family: every command checks its header strictly. */
	.resv_start_op = 0,
	.ops = cg_genl_ops,
	.n_ops = ARRAY_SIZE(cg_genl_ops),
	.module = THIS_MODULE,
};

int __init cg_netlink_init(void)
{
	return genl_register_family(&cg_genl_family);
}

void cg_netlink_exit(void)
{
	genl_unregister_family(&cg_genl_family);
}
