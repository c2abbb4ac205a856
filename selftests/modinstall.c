// SPDX-License-Identifier: GPL-2.0
/*
 * Installing the module as the README says ("Installing on your machine"):
 * the .ko under /lib/modules/<release>/extra, then depmod.  From then on
 * the first socket(AF_XS_DEFAULT, ...) loads it (the kernel asks modprobe
 * for "net-pf-18", the alias the module declares), modprobe -r removes
 * it, and once the file is gone and depmod ran again nothing loads it.
 *
 * The guest has busybox's depmod and modprobe, in /bin: the kernel's
 * helper path (/proc/sys/kernel/modprobe, /sbin/modprobe by default) is
 * pointed there when it names nothing, as a distribution's kmod package
 * would provide it.  The guest's runner loaded /af_xs.ko before this
 * program; the teardown loads it again, whatever happened, for the
 * programs that run after this one.
 */
#include "xs_test.h"
#include <sys/syscall.h>
#include <sys/utsname.h>

#define MODPROBE_SYSCTL	"/proc/sys/kernel/modprobe"
#define GUEST_KO	"/af_xs.ko"

static int module_loaded(void)
{
	return access("/sys/module/af_xs", F_OK) == 0;
}

/* delete_module, retried while the last sockets of earlier programs go. */
static int remove_module(void)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (!syscall(SYS_delete_module, "af_xs", O_NONBLOCK))
			return 0;
		if (errno != EWOULDBLOCK && errno != EBUSY)
			return -1;
		xs_sleep_ms(50);
	}
	return -1;
}

static int load_guest_module(void)
{
	int fd = open(GUEST_KO, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return rc;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out, rc = -1;
	ssize_t n;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out >= 0) {
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, n) != n)
				break;
		rc = n == 0 ? 0 : -1;
		close(out);
	}
	close(in);
	return rc;
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -1;
	ok = fgets(buf, len, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int write_line(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (!f)
		return -1;
	rc = fputs(s, f) < 0 ? -1 : 0;
	return fclose(f) || rc ? -1 : 0;
}

/* Does FILE hold a line containing NEEDLE? */
static int file_has(const char *path, const char *needle)
{
	char line[512];
	FILE *f = fopen(path, "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

FIXTURE(inst) {
	char moddir[256];	/* /lib/modules/<release> */
	char ko[320];		/* where the module is installed */
	char helper[256];	/* the kernel's modprobe path before the test */
	int helper_changed;
};

FIXTURE_SETUP(inst)
{
	struct utsname u;
	char dir[280];

	if (access(GUEST_KO, R_OK) || !module_loaded())
		SKIP(return, "needs the test guest (/af_xs.ko, loaded)");
	ASSERT_OK(uname(&u));
	snprintf(self->moddir, sizeof(self->moddir), "/lib/modules/%s",
		 u.release);
	snprintf(dir, sizeof(dir), "%s/extra", self->moddir);
	snprintf(self->ko, sizeof(self->ko), "%s/af_xs.ko", dir);
	mkdir("/lib/modules", 0755);
	mkdir(self->moddir, 0755);
	mkdir(dir, 0755);

	ASSERT_OK(read_line(MODPROBE_SYSCTL, self->helper,
			    sizeof(self->helper)));
	if (access(self->helper, X_OK)) {
		TH_LOG("no %s here: the kernel's helper becomes /bin/modprobe",
		       self->helper);
		ASSERT_OK(write_line(MODPROBE_SYSCTL, "/bin/modprobe"));
		self->helper_changed = 1;
	}
}

FIXTURE_TEARDOWN(inst)
{
	unlink(self->ko);
	if (self->moddir[0])
		system("depmod -a >/dev/null 2>&1");
	if (self->helper_changed)
		write_line(MODPROBE_SYSCTL, self->helper);
	if (!module_loaded() && load_guest_module())
		TH_LOG("could not load " GUEST_KO " again: %s", strerror(errno));
}

TEST_F(inst, installed_module_autoloads_on_socket_and_is_removed)
{
	char version[64], alias[320];
	int pull, push, i, rc;
	XS_UNAME(name, "inst");

	/* Installed and indexed: depmod finds the family alias. */
	ASSERT_OK(copy_file(GUEST_KO, self->ko));
	ASSERT_EQ(0, system("depmod -a"));
	snprintf(alias, sizeof(alias), "%s/modules.alias", self->moddir);
	ASSERT_TRUE(file_has(alias, "net-pf-18 af_xs"))
		TH_LOG("%s has no alias net-pf-18 for af_xs", alias);

	/* Not loaded: the first socket() loads it. */
	ASSERT_OK(remove_module());
	ASSERT_FALSE(module_loaded());
	pull = socket(AF_XS_DEFAULT, SOCK_SEQPACKET, XSPROTO_PULL);
	ASSERT_GE(pull, 0) TH_LOG("socket() did not autoload: %s",
				  strerror(errno));
	ASSERT_TRUE(module_loaded());
	ASSERT_OK(read_line("/sys/module/af_xs/version", version,
			    sizeof(version)));
	ASSERT_NE(0, version[0]);
	TH_LOG("autoloaded af_xs version %s", version);

	/* It is the real thing: a record goes through. */
	push = xs_socket(XSPROTO_PUSH);
	ASSERT_GE(push, 0);
	ASSERT_OK(xs_bind(pull, name));
	ASSERT_OK(xs_connect(push, name));
	ASSERT_RECORD(push, 0, "autoloaded");
	ASSERT_RECV_RECORD(pull, "autoloaded");
	close(push);
	close(pull);

	/*
	 * Removal: modprobe -r, then the file and the index.  Closed sockets
	 * are freed after an RCU grace period and hold the module until
	 * then, so the first attempts may find it busy.
	 */
	for (i = 0; (rc = system("modprobe -r af_xs")) && i < 40; i++)
		xs_sleep_ms(50);
	ASSERT_EQ(0, rc);
	ASSERT_FALSE(module_loaded());
	ASSERT_OK(unlink(self->ko));
	ASSERT_EQ(0, system("depmod -a"));
	ASSERT_FALSE(file_has(alias, "af_xs"));
	ASSERT_ERRNO(EAFNOSUPPORT,
		     socket(AF_XS_DEFAULT, SOCK_SEQPACKET, XSPROTO_PULL));
	ASSERT_FALSE(module_loaded());
}

XS_TEST_MAIN
