// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module for the test runner's own tests: on load it either hits
 * WARN_ON (mode=warn, which panics a guest booted with panic_on_warn),
 * prints a lockdep-style splat line without panicking (mode=splat), or
 * reads a kmalloc'ed object after kfree (mode=uaf: a KASAN report on the
 * debug kernel, nothing at all on Debian's), so the runner can show that
 * each turns a run red. Never part of cowguard.ko.
 */
#include <linux/module.h>
#include <linux/slab.h>

static char *mode = "warn";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "warn: WARN_ON(1); splat: print a fake splat line; uaf: use after free");

static int cg_runner_uaf(void)
{
	char *p = kmalloc(64, GFP_KERNEL);
	char c;

	if (!p)
		return -ENOMEM;
	kfree(p);
	/* Hidden from the compiler, which would see the use after free. */
	OPTIMIZER_HIDE_VAR(p);
	c = READ_ONCE(p[8]);
	pr_info("cg_runner_splat: read %d after kfree\n", c);
	return 0;
}

static int __init cg_runner_splat_init(void)
{
	if (!strcmp(mode, "uaf"))
		return cg_runner_uaf();
	if (!strcmp(mode, "splat"))
		pr_err("BUG: cg_runner_splat: deliberate splat line for the runner test\n");
	else
		WARN_ON(1);
	return 0;
}

static void __exit cg_runner_splat_exit(void)
{
}

module_init(cg_runner_splat_init);
module_exit(cg_runner_splat_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("cowguard test runner self-test: deliberate kernel splats");
