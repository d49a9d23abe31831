/*
 * server_privdrop.c: the one function that gives up root for good (see
 * server_drop_privileges() in server.h).
 *
 * Called after the listening sockets are bound and before any thread starts.
 * Sets the supplementary groups, then the real, effective and saved gid and
 * uid, and proves the drop: setuid(0) must fail afterwards.
 */
#include "server.h"
#include "util.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

int server_drop_privileges(const char *user, const char **error_r)
{
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	int r;

	if (user == NULL || user[0] == '\0')
		return 0;
	r = getpwnam_r(user, &pw, buf, sizeof(buf), &pwp);
	if (r != 0 || pwp == NULL) {
		*error_r = errorf("unknown run_user '%s'%s%s", user, r != 0 ? ": " : "",
		                  r != 0 ? strerror(r) : "");
		return -1;
	}
	if (pw.pw_uid == 0) {
		*error_r = errorf("run_user '%s' is root; name an unprivileged user", user);
		return -1;
	}
	if (geteuid() != 0) {
		if (getuid() == pw.pw_uid && geteuid() == pw.pw_uid)
			return 0;
		*error_r = errorf("cannot switch to run_user '%s': not started as root", user);
		return -1;
	}
	/* Groups first: once the uid is gone, they can no longer change. */
	if (initgroups(user, pw.pw_gid) < 0) {
		*error_r = errorf("initgroups(%s): %s", user, strerror(errno));
		return -1;
	}
	if (setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) < 0) {
		*error_r = errorf("setresgid(%u): %s", (unsigned int)pw.pw_gid, strerror(errno));
		return -1;
	}
	if (setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) < 0) {
		*error_r = errorf("setresuid(%u): %s", (unsigned int)pw.pw_uid, strerror(errno));
		return -1;
	}
	/* Trust but verify: root must be gone from all three ids. */
	if (setuid(0) != -1 || getuid() != pw.pw_uid || geteuid() != pw.pw_uid ||
	    getgid() != pw.pw_gid || getegid() != pw.pw_gid) {
		*error_r = errorf("privileges still held after switching to '%s'", user);
		return -1;
	}
	return 0;
}
