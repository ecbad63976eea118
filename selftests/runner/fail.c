// SPDX-License-Identifier: GPL-2.0
/* Runner self-test: a kselftest that fails on purpose. */
#include "kselftest_harness.h"

TEST(fails_on_purpose)
{
	ASSERT_EQ(1, 2);
}

TEST_HARNESS_MAIN
