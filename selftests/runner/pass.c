// SPDX-License-Identifier: GPL-2.0
/* Runner self-test: a kselftest that passes. */
#include "kselftest_harness.h"

TEST(passes)
{
	ASSERT_EQ(1, 1);
}

TEST_HARNESS_MAIN
