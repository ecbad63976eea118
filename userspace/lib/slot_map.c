// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Slot-map helpers. The layout is the uapi header's: bit i (byte i / 8,
 * bit i % 8, least significant first) marks the slot_width-byte word at
 * start + i * slot_width.
 */
#include <errno.h>

#include "cowguard.h"

size_t cowguard_slot_map_len(uint64_t length, unsigned int slot_width)
{
	uint64_t slots, bytes;

	if (slot_width != 4 && slot_width != 8)
		return 0;
	slots = length / slot_width;
	bytes = slots / 8 + (slots % 8 != 0);
	if (bytes > SIZE_MAX)	/* only possible with a 32-bit size_t */
		return 0;
	return (size_t)bytes;
}

int cowguard_slot_mark(uint8_t *map, uint64_t length, uint64_t offset,
		       unsigned int slot_width)
{
	uint64_t bit;

	if (slot_width != 4 && slot_width != 8)
		return -EINVAL;
	if (offset % slot_width)
		return -EINVAL;
	/*
	 * The slot must end inside the region. Then bit / 8 is below
	 * cowguard_slot_map_len(length, slot_width): the write stays inside
	 * the map.
	 */
	bit = offset / slot_width;
	if (bit >= length / slot_width)
		return -ERANGE;
	if (!map)
		return -EFAULT;
	map[bit / 8] |= (uint8_t)(1U << (bit % 8));
	return 0;
}
