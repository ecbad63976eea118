// SPDX-License-Identifier: GPL-2.0
/*
 * The device itself: it exists, answers its ABI version, refuses unknown
 * ioctls, and pins the module while open.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/cowguard.h>

#include "kselftest_harness.h"

TEST(abi_version)
{
	int fd = open("/dev/cowguard", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd) TH_LOG("open /dev/cowguard: %s", strerror(errno));
	EXPECT_EQ(COWGUARD_ABI_VERSION, ioctl(fd, COWGUARD_IOC_VERSION));
	close(fd);
}

TEST(device_node)
{
	struct stat st;

	ASSERT_EQ(0, stat("/dev/cowguard", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0660, st.st_mode & 0777);
}

TEST(unknown_ioctl_refused)
{
	int fd = open("/dev/cowguard", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, _IO(COWGUARD_IOC_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, _IO('T', 0x01)));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

TEST(module_pinned_while_open)
{
	int fd = open("/dev/cowguard", O_RDWR | O_CLOEXEC);
	char refcnt[16] = "";
	int rfd, n;

	ASSERT_LE(0, fd);
	rfd = open("/sys/module/cowguard/refcnt", O_RDONLY);
	ASSERT_LE(0, rfd);
	n = read(rfd, refcnt, sizeof(refcnt) - 1);
	ASSERT_LT(0, n);
	EXPECT_LE(1, atoi(refcnt)) TH_LOG("refcnt %s", refcnt);
	close(rfd);
	close(fd);
}

TEST_HARNESS_MAIN
