// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/* The public header on its own, as C99 -Wpedantic and as C++11. */
#include <cowguard.h>

int header_test(void);

int header_test(void)
{
	struct cowguard_region r = { 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct cowguard_stats st;
	uint8_t map[1];
	uint64_t id;
	int fd = cowguard_open(COWGUARD_OPEN_F_ALL);

	r.flags = COWGUARD_REGISTER_F_ALL;
	return fd + cowguard_abi_version(fd) + cowguard_register(fd, &r, &id) +
	       cowguard_unregister(fd, r.start) + cowguard_stats(fd, 0, &st) +
	       (int)cowguard_slot_map_len(4096, 8) +
	       cowguard_slot_mark(map, 64, 0, 8) +
	       (cowguard_strerror(COWGUARD_OP_OPEN, 0) != 0);
}
