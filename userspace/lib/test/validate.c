// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Argument validation: every argument the kernel would refuse with EINVAL
 * (or a NULL struct pointer, EFAULT) is refused by the library before any
 * system call, with errno unchanged. The fd is /dev/null: had the library
 * called ioctl(), the answer would be -ENOTTY, and fake_ioctl.calls counts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cowguard.h>
#include "fake_ioctl.h"
#include "tap.h"

#define ERRNO_SENTINEL	4242

static int null_fd;
static uintptr_t page;
static uint8_t map[1024];

/* Two pages at a page-aligned address that is never dereferenced. */
#define BASE	((void *)(64 * page))

static struct cowguard_region no_map(void)
{
	struct cowguard_region r = {
		.start = BASE,
		.length = 2 * page,
	};
	return r;
}

static struct cowguard_region with_map(unsigned int width)
{
	struct cowguard_region r = {
		.start = BASE,
		.length = 2 * page,
		.slot_map = map,
		.slot_map_len = cowguard_slot_map_len(2 * page, width),
		.slot_width = width,
		.band_low = width == 4 ? COWGUARD_BAND_MIN_32 : COWGUARD_BAND_MIN_64,
		.band_high = width == 4 ? UINT32_MAX : UINT64_MAX,
	};
	return r;
}

/* Register r; check the result, the number of ioctl() calls and errno. */
static void expect(struct cowguard_region *r, int want, const char *what)
{
	uint64_t id = 0xdeadbeef;
	int ret, calls_before = fake_ioctl.calls;
	int want_calls = want == -ENOTTY ? 1 : 0;

	errno = ERRNO_SENTINEL;
	ret = cowguard_register(null_fd, r, &id);
	ok(ret == want && errno == ERRNO_SENTINEL &&
	   fake_ioctl.calls - calls_before == want_calls && id == 0xdeadbeef,
	   "register %s: %d (want %d), %d ioctl (want %d), errno %s",
	   what, ret, want, fake_ioctl.calls - calls_before, want_calls,
	   errno == ERRNO_SENTINEL ? "kept" : "CHANGED");
}

#define EXPECT_INVAL(field_changes, what) do {		\
		struct cowguard_region r = base;	\
		field_changes;				\
		expect(&r, -EINVAL, what);		\
	} while (0)

int main(void)
{
	struct cowguard_region base, r;
	struct cowguard_stats st;
	int ret, calls;

	page = (uintptr_t)sysconf(_SC_PAGESIZE);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0 || page * 2 / 8 > sizeof(map)) {
		printf("Bail out! cannot set up (/dev/null, page size)\n");
		return 1;
	}

	/* Positive controls: valid arguments reach the (non-cowguard) fd. */
	r = no_map();
	expect(&r, -ENOTTY, "valid, no map");
	r = no_map();
	r.trap_budget = UINT32_MAX;
	expect(&r, -ENOTTY, "valid, no map, any trap_budget");
	r = with_map(8);
	expect(&r, -ENOTTY, "valid, width 8, widest band");
	r = with_map(4);
	expect(&r, -ENOTTY, "valid, width 4, widest band");
	r = with_map(8);
	r.band_high = r.band_low;
	expect(&r, -ENOTTY, "valid, width 8, band of one value");
	r = with_map(4);
	r.band_low = r.band_high = COWGUARD_BAND_MIN_32;
	expect(&r, -ENOTTY, "valid, width 4, band of its minimum");
	r = no_map();
	r.start = (void *)(UINTPTR_MAX - 3 * page + 1);
	expect(&r, -ENOTTY, "no overflow, range ending a page below 2^64 (the kernel judges it)");

	/* The range. */
	base = no_map();
	EXPECT_INVAL(r.flags = 1, "unknown flag bit 0");
	EXPECT_INVAL(r.flags = 1U << 31, "unknown flag bit 31");
	EXPECT_INVAL(r.length = 0, "empty range");
	EXPECT_INVAL(r.start = (char *)r.start + 1, "start misaligned by 1");
	EXPECT_INVAL(r.start = (char *)r.start + page / 2, "start misaligned by half a page");
	EXPECT_INVAL(r.length = page + 1, "length misaligned by 1");
	EXPECT_INVAL(r.length = page / 2, "length of half a page");
	EXPECT_INVAL(r.length = SIZE_MAX, "length SIZE_MAX");
	EXPECT_INVAL((r.start = (void *)(UINTPTR_MAX - page + 1), r.length = 2 * page),
		     "range wrapping around the address space");
	EXPECT_INVAL(r.start = (void *)(UINTPTR_MAX - 2 * page + 1),
		     "range ending exactly at 2^64 (end wraps to 0)");

	/* Without a map: no width, no band, no map length. */
	EXPECT_INVAL(r.slot_map_len = 1, "no map but slot_map_len 1");
	EXPECT_INVAL(r.slot_width = 8, "no map but slot_width 8");
	EXPECT_INVAL(r.slot_width = 4, "no map but slot_width 4");
	EXPECT_INVAL(r.band_low = COWGUARD_BAND_MIN_64, "no map but band_low");
	EXPECT_INVAL(r.band_high = UINT64_MAX, "no map but band_high");

	/* With a map: width, band and map length. */
	base = with_map(8);
	EXPECT_INVAL(r.flags = 2, "map, unknown flag");
	EXPECT_INVAL(r.length = 0, "map, empty range");
	EXPECT_INVAL(r.slot_width = 0, "map but slot_width 0");
	EXPECT_INVAL(r.slot_width = 1, "slot_width 1");
	EXPECT_INVAL(r.slot_width = 2, "slot_width 2");
	EXPECT_INVAL(r.slot_width = 16, "slot_width 16");
	EXPECT_INVAL(r.band_low = COWGUARD_BAND_MIN_64 - 1, "width 8, band_low below COWGUARD_BAND_MIN_64");
	EXPECT_INVAL(r.band_low = 0, "width 8, band_low 0");
	EXPECT_INVAL(r.band_low = COWGUARD_BAND_MIN_32, "width 8, band_low = COWGUARD_BAND_MIN_32");
	EXPECT_INVAL((r.band_low = COWGUARD_BAND_MIN_64 + 1, r.band_high = COWGUARD_BAND_MIN_64),
		     "width 8, band_high < band_low");
	EXPECT_INVAL(r.slot_map_len = 0, "width 8, slot_map_len 0");
	EXPECT_INVAL(r.slot_map_len -= 1, "width 8, slot_map_len one short");
	EXPECT_INVAL(r.slot_map_len += 1, "width 8, slot_map_len one over");
	EXPECT_INVAL(r.slot_map_len = cowguard_slot_map_len(r.length, 4),
		     "width 8, slot_map_len computed for width 4");

	base = with_map(4);
	EXPECT_INVAL(r.band_low = COWGUARD_BAND_MIN_32 - 1, "width 4, band_low below COWGUARD_BAND_MIN_32");
	EXPECT_INVAL(r.band_high = (uint64_t)UINT32_MAX + 1, "width 4, band_high beyond 32 bits");
	EXPECT_INVAL(r.band_high = UINT64_MAX, "width 4, band_high UINT64_MAX");
	EXPECT_INVAL(r.band_high = COWGUARD_BAND_MIN_32 - 1, "width 4, band_high < band_low");
	EXPECT_INVAL(r.slot_map_len = cowguard_slot_map_len(r.length, 8),
		     "width 4, slot_map_len computed for width 8");

	/* NULL struct pointers: EFAULT, as the kernel says for a bad pointer. */
	expect(NULL, -EFAULT, "NULL region");

	calls = fake_ioctl.calls;
	errno = ERRNO_SENTINEL;
	ret = cowguard_stats(null_fd, NULL, NULL);
	ok(ret == -EFAULT && errno == ERRNO_SENTINEL && fake_ioctl.calls == calls,
	   "stats with NULL out: %d, no ioctl, errno kept", ret);

	/* A NULL id is allowed. */
	r = no_map();
	errno = ERRNO_SENTINEL;
	ret = cowguard_register(null_fd, &r, NULL);
	ok(ret == -ENOTTY && errno == ERRNO_SENTINEL, "register with NULL id reaches the kernel: %d", ret);

	/* Unknown open flags: refused before open(), so /dev/null is not even tried. */
	setenv(COWGUARD_DEVICE_ENV, "/dev/null", 1);
	calls = fake_ioctl.calls;
	errno = ERRNO_SENTINEL;
	ret = cowguard_open(1);
	ok(ret == -EINVAL && errno == ERRNO_SENTINEL && fake_ioctl.calls == calls,
	   "open with unknown flags: %d, no ioctl, errno kept", ret);
	errno = ERRNO_SENTINEL;
	ret = cowguard_open(~0U);
	ok(ret == -EINVAL && errno == ERRNO_SENTINEL, "open with all flags: %d", ret);

	/* stats is untouched on failure. */
	memset(&st, 0xa5, sizeof(st));
	ret = cowguard_stats(null_fd, NULL, &st);
	ok(ret == -ENOTTY && st.size == 0xa5a5a5a5 && st.emulated == 0xa5a5a5a5a5a5a5a5ULL,
	   "stats leaves *out alone on failure: %d", ret);

	close(null_fd);
	return tap_done();
}
