// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The device calls without the module: a missing device, a device that is
 * not cowguard (/dev/null), a closed fd, and a fake module (fake_ioctl.c)
 * to check what the library puts into each ioctl and takes out of it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <cowguard.h>
#include "fake_ioctl.h"
#include "tap.h"

#define ERRNO_SENTINEL	4242

/* The lowest free descriptor: the same before and after means no leak. */
static int next_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return fd;
}

static int all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--)
		if (*c++)
			return 0;
	return 1;
}

static void test_open_missing(void)
{
	int ret, fd_before = next_fd();

	setenv(COWGUARD_DEVICE_ENV, "/nonexistent/cowguard", 1);
	errno = ERRNO_SENTINEL;
	ret = cowguard_open(0);
	ok(ret == -ENOENT && errno == ERRNO_SENTINEL, "open of a missing device: %d, errno kept", ret);
	ok(strstr(cowguard_strerror(COWGUARD_OP_OPEN, ret), "module not loaded") &&
	   strstr(cowguard_strerror(COWGUARD_OP_OPEN, ret), "modprobe cowguard"),
	   "its message: %s", cowguard_strerror(COWGUARD_OP_OPEN, ret));

	if (access(COWGUARD_DEVICE_PATH, F_OK) == 0) {
		printf("ok %d # SKIP %s exists here\n", ++tap_count, COWGUARD_DEVICE_PATH);
		printf("ok %d # SKIP %s exists here\n", ++tap_count, COWGUARD_DEVICE_PATH);
	} else {
		unsetenv(COWGUARD_DEVICE_ENV);
		ret = cowguard_open(0);
		ok(ret == -ENOENT, "open of the default %s (absent here): %d", COWGUARD_DEVICE_PATH, ret);
		setenv(COWGUARD_DEVICE_ENV, "", 1);
		ret = cowguard_open(0);
		ok(ret == -ENOENT, "an empty $%s means the default: %d", COWGUARD_DEVICE_ENV, ret);
	}
	ok(next_fd() == fd_before, "no descriptor leaked");
}

static void test_open_not_cowguard(void)
{
	int ret, fd_before = next_fd();
	char dir[] = "/tmp/cowguard-test-XXXXXX", path[64];

	setenv(COWGUARD_DEVICE_ENV, "/dev/null", 1);
	errno = ERRNO_SENTINEL;
	ret = cowguard_open(0);
	ok(ret == -ENOTTY && errno == ERRNO_SENTINEL, "open of /dev/null: %d (not a cowguard device), errno kept", ret);
	ok(next_fd() == fd_before, "the descriptor opened for the version check is closed");

	if (geteuid() == 0) {
		printf("ok %d # SKIP root bypasses file permissions\n", ++tap_count);
	} else if (mkdtemp(dir)) {
		int fd;

		snprintf(path, sizeof(path), "%s/dev", dir);
		fd = open(path, O_CREAT | O_WRONLY, 0);
		if (fd >= 0)
			close(fd);
		setenv(COWGUARD_DEVICE_ENV, path, 1);
		ret = cowguard_open(0);
		ok(ret == -EACCES, "open without permission: %d", ret);
		unlink(path);
		rmdir(dir);
	} else {
		ok(0, "mkdtemp: %s", strerror(errno));
	}
}

static void test_fd_errors(void)
{
	struct cowguard_stats st;
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	int ret;

	errno = ERRNO_SENTINEL;
	ret = cowguard_abi_version(null_fd);
	ok(ret == -ENOTTY && errno == ERRNO_SENTINEL, "version on /dev/null: %d, errno kept", ret);
	ret = cowguard_unregister(null_fd, (void *)4096);
	ok(ret == -ENOTTY && errno == ERRNO_SENTINEL, "unregister on /dev/null: %d", ret);
	ret = cowguard_stats(null_fd, NULL, &st);
	ok(ret == -ENOTTY && errno == ERRNO_SENTINEL, "stats on /dev/null: %d", ret);
	close(null_fd);

	ret = cowguard_abi_version(-1);
	ok(ret == -EBADF && errno == ERRNO_SENTINEL, "version on fd -1: %d", ret);
	ret = cowguard_unregister(-1, NULL);
	ok(ret == -EBADF, "unregister on fd -1: %d", ret);
	ret = cowguard_stats(-1, NULL, &st);
	ok(ret == -EBADF, "stats on fd -1: %d", ret);
}

static void test_open_fake(void)
{
	int ret, fd, fd_before = next_fd();

	setenv(COWGUARD_DEVICE_ENV, "/dev/null", 1);

	fake_ioctl_reset();
	fake_ioctl.enabled = 1;
	fake_ioctl.ret = COWGUARD_ABI_VERSION;
	errno = ERRNO_SENTINEL;
	fd = cowguard_open(0);
	ok(fd >= 0 && errno == ERRNO_SENTINEL, "open of a module speaking ABI %d: fd %d",
	   COWGUARD_ABI_VERSION, fd);
	ok(fake_ioctl.calls == 1 && fake_ioctl.request == COWGUARD_IOC_VERSION &&
	   fake_ioctl.fd == fd, "it asked the version on that fd");
	ok(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "the fd is close-on-exec");
	ok(fd >= 0 && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "the fd is read-write");
	if (fd >= 0)
		close(fd);

	fake_ioctl.ret = COWGUARD_ABI_VERSION + 1;
	ret = cowguard_open(0);
	ok(ret == -EPROTO && errno == ERRNO_SENTINEL, "a module speaking ABI %d: %d",
	   COWGUARD_ABI_VERSION + 1, ret);
	ok(fcntl(fake_ioctl.fd, F_GETFD) == -1 && errno == EBADF && next_fd() == fd_before,
	   "the fd is closed again");
	errno = ERRNO_SENTINEL;

	fake_ioctl.ret = 0;
	ret = cowguard_open(0);
	ok(ret == -EPROTO, "a module answering version 0: %d", ret);
	ok(next_fd() == fd_before, "no descriptor leaked");
	fake_ioctl_reset();
}

static void fill_register(unsigned long request, void *arg)
{
	if (request == COWGUARD_IOC_REGISTER)
		((struct cowguard_register *)arg)->id = 77;
}

static void test_register_fake(void)
{
	static uint8_t map[128];
	struct cowguard_register req;
	struct cowguard_region r;
	uint64_t id = 0;
	long page = sysconf(_SC_PAGESIZE);
	void *buf;
	int ret;

	buf = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		ok(0, "mmap: %s", strerror(errno));
		return;
	}
	memset(&r, 0, sizeof(r));
	r.start = buf;
	r.length = 2 * page;
	r.slot_map = map;
	r.slot_map_len = cowguard_slot_map_len(r.length, 8);
	r.slot_width = 8;
	r.band_low = 1ULL << 60;
	r.band_high = (1ULL << 61) - 1;
	r.trap_budget = 33;

	fake_ioctl_reset();
	fake_ioctl.enabled = 1;
	fake_ioctl.fill = fill_register;
	errno = ERRNO_SENTINEL;
	ret = cowguard_register(9, &r, &id);
	memcpy(&req, fake_ioctl.arg, sizeof(req));
	ok(ret == 0 && id == 77 && errno == ERRNO_SENTINEL, "register: %d, id %llu from the module",
	   ret, (unsigned long long)id);
	ok(fake_ioctl.request == COWGUARD_IOC_REGISTER && fake_ioctl.fd == 9,
	   "COWGUARD_IOC_REGISTER on the given fd");
	ok(req.size == sizeof(req) && req.size == COWGUARD_REGISTER_SIZE_VER0,
	   "size = %u", req.size);
	ok(req.flags == 0 && req.start == (uintptr_t)buf && req.length == (uint64_t)2 * page &&
	   req.slot_map == (uintptr_t)map && req.slot_map_len == 128 * (uint64_t)page / 4096 &&
	   req.slot_width == 8 && req.band_low == 1ULL << 60 &&
	   req.band_high == (1ULL << 61) - 1 && req.trap_budget == 33,
	   "every field passed through");
	ok(req.id == 0 && all_zero(req.reserved, sizeof(req.reserved)), "id and reserved zeroed");

	fake_ioctl.ret = -EEXIST;
	id = 5;
	ret = cowguard_register(9, &r, &id);
	ok(ret == -EEXIST && id == 5 && errno == ERRNO_SENTINEL,
	   "a module error comes back as -EEXIST, id untouched, errno kept");

	memset(&r, 0, sizeof(r));
	r.start = buf;
	r.length = page;
	fake_ioctl.ret = 0;
	ret = cowguard_register(9, &r, NULL);
	memcpy(&req, fake_ioctl.arg, sizeof(req));
	ok(ret == 0 && req.slot_map == 0 && req.slot_map_len == 0 && req.slot_width == 0 &&
	   req.band_low == 0 && req.band_high == 0 && req.trap_budget == 0,
	   "register without a map, NULL id: %d", ret);

	munmap(buf, 2 * page);
	fake_ioctl_reset();
}

static void fill_stats(unsigned long request, void *arg)
{
	struct cowguard_stats *st = arg;

	if (request != COWGUARD_IOC_STATS)
		return;
	st->mapped_pages = 10;
	st->emulated = 11;
	st->refused[COWGUARD_REFUSE_INSN] = 12;
	st->reg_id = 13;
	st->reg_budget_shadows = 14;
}

static void test_unregister_stats_fake(void)
{
	struct cowguard_unregister un;
	struct cowguard_stats st, out;
	int ret;

	fake_ioctl_reset();
	fake_ioctl.enabled = 1;
	errno = ERRNO_SENTINEL;
	ret = cowguard_unregister(9, (void *)0x7f0000001000);
	memcpy(&un, fake_ioctl.arg, sizeof(un));
	ok(ret == 0 && errno == ERRNO_SENTINEL && fake_ioctl.request == COWGUARD_IOC_UNREGISTER,
	   "unregister: %d, COWGUARD_IOC_UNREGISTER", ret);
	ok(un.size == COWGUARD_UNREGISTER_SIZE_VER0 && un.flags == 0 &&
	   un.start == 0x7f0000001000 && all_zero(un.reserved, sizeof(un.reserved)),
	   "unregister struct: size %u, start, flags and reserved zero", un.size);
	fake_ioctl.ret = -EINVAL;
	ret = cowguard_unregister(9, (void *)0x7f0000001000);
	ok(ret == -EINVAL && errno == ERRNO_SENTINEL, "unregister outside a registration: %d", ret);

	fake_ioctl.ret = 0;
	fake_ioctl.fill = fill_stats;
	memset(&out, 0xa5, sizeof(out));
	ret = cowguard_stats(9, (void *)0x7f0000002000, &out);
	memcpy(&st, fake_ioctl.arg, sizeof(st));
	ok(ret == 0 && errno == ERRNO_SENTINEL && fake_ioctl.request == COWGUARD_IOC_STATS,
	   "stats: %d, COWGUARD_IOC_STATS", ret);
	ok(st.size == COWGUARD_STATS_SIZE_VER0 && st.flags == 0 && st.start == 0x7f0000002000 &&
	   all_zero(&st.mapped_pages, sizeof(st) - offsetof(struct cowguard_stats, mapped_pages)),
	   "stats struct: size %u, start, everything else zero", st.size);
	ok(out.mapped_pages == 10 && out.emulated == 11 && out.refused[COWGUARD_REFUSE_INSN] == 12 &&
	   out.reg_id == 13 && out.reg_budget_shadows == 14 && out.shadow_pages == 0 &&
	   out.size == COWGUARD_STATS_SIZE_VER0,
	   "the module's figures reach *out, the rest reads 0");

	ret = cowguard_stats(9, NULL, &out);
	memcpy(&st, fake_ioctl.arg, sizeof(st));
	ok(ret == 0 && st.start == 0, "stats with NULL start asks for the sum (start 0)");
	fake_ioctl_reset();
}

int main(void)
{
	test_open_missing();
	test_open_not_cowguard();
	test_fd_errors();
	test_open_fake();
	test_register_fake();
	test_unregister_stats_fake();
	return tap_done();
}
