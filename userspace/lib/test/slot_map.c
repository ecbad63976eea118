// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Slot-map helpers against the uapi header's definition: bit i (byte i / 8,
 * bit i % 8, least significant first) marks the word at start + i * width;
 * the map is DIV_ROUND_UP(length / width, 8) bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cowguard.h>
#include "tap.h"

#define ERRNO_SENTINEL	4242

static uint64_t ref_len(uint64_t length, unsigned int width)
{
	uint64_t slots = length / width;

	return (slots + 7) / 8;
}

static void test_len(void)
{
	static const unsigned int bad_widths[] = { 0, 1, 2, 3, 5, 6, 7, 16, 32, ~0U };
	uint64_t length;
	unsigned int i, width, mismatches = 0;

	ok(cowguard_slot_map_len(0, 8) == 0, "len(0, 8) == 0");
	ok(cowguard_slot_map_len(7, 8) == 0, "len(7, 8) == 0: no whole slot");
	ok(cowguard_slot_map_len(8, 8) == 1, "len(8, 8) == 1: one slot, one byte");
	ok(cowguard_slot_map_len(64, 8) == 1, "len(64, 8) == 1: eight slots fill one byte");
	ok(cowguard_slot_map_len(72, 8) == 2, "len(72, 8) == 2: ninth slot starts a byte");
	ok(cowguard_slot_map_len(4, 4) == 1, "len(4, 4) == 1");
	ok(cowguard_slot_map_len(36, 4) == 2, "len(36, 4) == 2");
	ok(cowguard_slot_map_len(4096, 8) == 64, "len(4096, 8) == 64");
	ok(cowguard_slot_map_len(4096, 4) == 128, "len(4096, 4) == 128");
	ok(cowguard_slot_map_len(4095, 8) == 64, "len(4095, 8) == 64: 511 slots");
	ok(cowguard_slot_map_len(1ULL << 40, 8) == 1ULL << 34, "len(1 TiB, 8) == 16 GiB");
	ok(cowguard_slot_map_len(UINT64_MAX, 4) == ref_len(UINT64_MAX, 4),
	   "len(UINT64_MAX, 4) == %llu", (unsigned long long)ref_len(UINT64_MAX, 4));
	ok(cowguard_slot_map_len(UINT64_MAX, 8) == ref_len(UINT64_MAX, 8),
	   "len(UINT64_MAX, 8) == %llu", (unsigned long long)ref_len(UINT64_MAX, 8));

	for (i = 0; i < sizeof(bad_widths) / sizeof(bad_widths[0]); i++)
		ok(cowguard_slot_map_len(4096, bad_widths[i]) == 0,
		   "len(4096, %u) == 0: bad width", bad_widths[i]);

	for (width = 4; width <= 8; width += 4)
		for (length = 0; length <= 3 * 4096; length++)
			if (cowguard_slot_map_len(length, width) != ref_len(length, width))
				mismatches++;
	ok(mismatches == 0, "len(l, 4|8) == DIV_ROUND_UP(l / w, 8) for l in 0..12288 (%u off)",
	   mismatches);
}

/* A map of exactly len bytes on the heap, so valgrind sees any overrun. */
static uint8_t *new_map(uint64_t length, unsigned int width)
{
	size_t len = cowguard_slot_map_len(length, width);

	return calloc(len ? len : 1, 1);
}

static int map_is(const uint8_t *map, size_t len, const uint8_t *want)
{
	return memcmp(map, want, len) == 0;
}

static void test_mark_bits(void)
{
	uint8_t *map;
	int ret;

	map = new_map(4096, 8);
	ret = cowguard_slot_mark(map, 4096, 0, 8);
	ok(ret == 0 && map[0] == 0x01, "width 8: offset 0 is byte 0 bit 0 (0x%02x)", map[0]);
	cowguard_slot_mark(map, 4096, 8, 8);
	ok(map[0] == 0x03, "width 8: offset 8 is byte 0 bit 1 (0x%02x)", map[0]);
	cowguard_slot_mark(map, 4096, 56, 8);
	ok(map[0] == 0x83, "width 8: offset 56 is byte 0 bit 7 (0x%02x)", map[0]);
	cowguard_slot_mark(map, 4096, 64, 8);
	ok(map[1] == 0x01, "width 8: offset 64 is byte 1 bit 0 (0x%02x)", map[1]);
	cowguard_slot_mark(map, 4096, 4088, 8);
	ok(map[63] == 0x80, "width 8: last slot of a page is byte 63 bit 7 (0x%02x)", map[63]);
	ret = cowguard_slot_mark(map, 4096, 64, 8);
	ok(ret == 0 && map[1] == 0x01, "marking twice is idempotent");
	free(map);

	map = new_map(4096, 4);
	cowguard_slot_mark(map, 4096, 4, 4);
	ok(map[0] == 0x02, "width 4: offset 4 is byte 0 bit 1 (0x%02x)", map[0]);
	cowguard_slot_mark(map, 4096, 28, 4);
	ok(map[0] == 0x82, "width 4: offset 28 is byte 0 bit 7 (0x%02x)", map[0]);
	cowguard_slot_mark(map, 4096, 32, 4);
	ok(map[1] == 0x01, "width 4: offset 32 is byte 1 bit 0 (0x%02x)", map[1]);
	cowguard_slot_mark(map, 4096, 4092, 4);
	ok(map[127] == 0x80, "width 4: last slot of a page is byte 127 bit 7 (0x%02x)", map[127]);
	free(map);
}

static void test_mark_all(unsigned int width, uint64_t length)
{
	size_t len = cowguard_slot_map_len(length, width);
	uint8_t *map = new_map(length, width), *want = new_map(length, width);
	uint64_t off, slots = length / width, i;
	int bad = 0;

	for (i = 0; i < slots; i++)
		want[i / 8] |= 1U << (i % 8);
	for (off = 0; off + width <= length; off += width)
		bad += cowguard_slot_mark(map, length, off, width) != 0;
	ok(!bad && map_is(map, len, want),
	   "width %u, length %llu: marking every slot sets exactly bits 0..%llu of %zu bytes",
	   width, (unsigned long long)length, (unsigned long long)slots - 1, len);
	free(map);
	free(want);
}

static void test_partial_byte(void)
{
	uint8_t *map;
	int ret;

	/* 12 slots of 8 bytes: 2 bytes, the second half used. */
	map = new_map(96, 8);
	ret = cowguard_slot_mark(map, 96, 88, 8);
	ok(ret == 0 && map[1] == 0x08, "length 96, width 8: slot 11 is byte 1 bit 3 (0x%02x)", map[1]);
	errno = ERRNO_SENTINEL;
	ret = cowguard_slot_mark(map, 96, 96, 8);
	ok(ret == -ERANGE && errno == ERRNO_SENTINEL && map[1] == 0x08,
	   "length 96, width 8: offset 96 (slot 12, in the byte's padding) is -ERANGE: %d", ret);
	free(map);

	/* 100 bytes: 12 whole 8-byte slots, the 13th would end past the region. */
	map = new_map(100, 8);
	ret = cowguard_slot_mark(map, 100, 96, 8);
	ok(ret == -ERANGE, "length 100, width 8: a slot ending past the region is -ERANGE: %d", ret);
	free(map);

	/* 100 bytes, width 4: 25 slots, 4 bytes, the last holding one bit. */
	map = new_map(100, 4);
	ret = cowguard_slot_mark(map, 100, 96, 4);
	ok(ret == 0 && map[3] == 0x01, "length 100, width 4: slot 24 is byte 3 bit 0 (0x%02x)", map[3]);
	ret = cowguard_slot_mark(map, 100, 100, 4);
	ok(ret == -ERANGE, "length 100, width 4: offset 100 is -ERANGE: %d", ret);
	free(map);
}

static void test_mark_errors(void)
{
	uint8_t map[64] = { 0 }, zero[64] = { 0 };
	int ret;

	errno = ERRNO_SENTINEL;
	ret = cowguard_slot_mark(map, 4096, 4, 8);
	ok(ret == -EINVAL && errno == ERRNO_SENTINEL, "width 8, offset 4 (misaligned): -EINVAL, errno kept");
	ret = cowguard_slot_mark(map, 4096, 2, 4);
	ok(ret == -EINVAL, "width 4, offset 2 (misaligned): %d", ret);
	ret = cowguard_slot_mark(map, 4096, 0, 2);
	ok(ret == -EINVAL, "width 2: %d", ret);
	ret = cowguard_slot_mark(map, 4096, 0, 0);
	ok(ret == -EINVAL, "width 0: %d", ret);
	ret = cowguard_slot_mark(map, 4096, 0, 16);
	ok(ret == -EINVAL, "width 16: %d", ret);
	ret = cowguard_slot_mark(map, 4096, 4096, 8);
	ok(ret == -ERANGE, "offset == length: -ERANGE: %d", ret);
	ret = cowguard_slot_mark(map, 4096, UINT64_MAX - 7, 8);
	ok(ret == -ERANGE, "offset near 2^64: -ERANGE: %d", ret);
	ret = cowguard_slot_mark(map, 0, 0, 8);
	ok(ret == -ERANGE, "empty region: -ERANGE: %d", ret);
	ret = cowguard_slot_mark(NULL, 4096, 0, 8);
	ok(ret == -EFAULT, "NULL map: -EFAULT: %d", ret);
	ok(memcmp(map, zero, sizeof(map)) == 0, "no failed call touched the map");
	ok(errno == ERRNO_SENTINEL, "errno kept throughout");
}

int main(void)
{
	test_len();
	test_mark_bits();
	test_mark_all(8, 4096);
	test_mark_all(4, 4096);
	test_mark_all(8, 3 * 4096);
	test_mark_all(8, 96);
	test_mark_all(4, 100);
	test_mark_all(8, 8);
	test_partial_byte();
	test_mark_errors();
	return tap_done();
}
