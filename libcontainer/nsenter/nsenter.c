/*
 * tekapo's bootstrap: the part of `tekapo init` that runs before the Go runtime.
 *
 * Why C: setns(2) into a user or mount namespace needs a single-threaded
 * caller, and unshare(CLONE_NEWUSER) too; the Go runtime starts threads before
 * main. So the re-executed binary does its namespace work here, in a
 * constructor that runs while the process is still single-threaded, then
 * forks the container's init, in which the Go runtime starts normally.
 *
 *   tekapo (Go, the caller) --exec--> A: this file --fork--> B: init (Go)
 *
 * A joins the namespaces given by path, unshares the new ones (user first,
 * so the others are owned by it), and forks B, because a new pid or time
 * namespace only applies to children. A never starts the Go runtime: it
 * reports B's pid and exits. Everything else (cgroup namespace, mounts,
 * pivot_root, credentials, seccomp) is Go code in B.
 *
 * The protocol on the socket whose fd number is in $_TEKAPO_INITPIPE, this
 * stage's bytes (rows 1-5) and B's messages, is one table at the top of
 * libcontainer/sync.go, which also holds the parent's side of rows 1-5.
 *
 * Before 'U' an A run by a non-root user makes itself dumpable, so that its
 * /proc files (uid_map, gid_map, setgroups) are its owner's; it is
 * non-dumpable again once 'u' came.
 *
 * Keys: oom=N (oom_score_adj, set before a user ns makes it impossible);
 * join=FLAG:TYPE:PATH (setns(2) with FLAG, the namespace's CLONE_NEW* flag in
 * decimal, so a path of another type is refused; TYPE as in config.json,
 * for errors only: the one namespace table is libcontainer/configs/
 * namespaces.go, this file has none); clone=FLAGS (CLONE_NEW* to create,
 * decimal; cgroup is left to B, after it joined its cgroup);
 * timens=TEXT (written to /proc/self/timens_offsets); final=1 (B does not
 * return into Go: it runs final.c's stage, for an exec that needs nothing
 * only the Go init does).
 *
 * /proc here is the runtime's own, never the container's: A writes
 * oom_score_adj while parsing, before it joins any namespace, and opens
 * timens_offsets then too (a file of /proc/self names this process, and
 * the kernel applies the offsets to the time namespace A has unshared by
 * the time it writes, checking CAP_SYS_TIME with the opener's
 * credentials). No mount of a new container exists yet at that point,
 * but a joined mount namespace (a config's mount namespace path) is
 * another container's, whose /proc it may have arranged: nothing is opened
 * by name after join_all. (An unprivileged A is dumpable while it opens
 * them: a non-dumpable task's /proc files belong to root of the user
 * namespace it was exec'd in, whatever it unshares later.) The Go side
 * opens /proc through a verified handle (libcontainer/internal/procfs).
 * Integers are native-endian. B starts only once A has sent 'P'.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "nsenter.h"

#define MAX_JOIN 16

int sync_fd = -1;

void write_all(const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(sync_fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(1);
		p += w;
		n -= (size_t)w;
	}
}

int read_all(void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		ssize_t r = read(sync_fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* fail reports a one-line error and exits: the errno (saved, -1 for none)
 * goes as a number, and the parent adds its text (sync.go row 5), as it
 * does for every step of init. */
static void fail(int saved, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	int32_t err = saved;
	uint32_t len = (uint32_t)n;
	write_all("E", 1);
	write_all(&err, sizeof(err));
	write_all(&len, sizeof(len));
	write_all(msg, len);
	_exit(1);
}

static void write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fail(errno, "open %s", path);
	size_t n = strlen(data);
	if (write(fd, data, n) != (ssize_t)n)
		fail(errno, "write %s", path);
	close(fd);
}

/* A namespace to join. flag is its CLONE_NEW* flag: setns(2) with it
 * refuses a path of another type (runtime-spec: a path whose namespace type
 * does not match MUST be an error; runc does the same). */
struct join {
	int flag;
	char *type;
	int fd;
};

static int is_user(const struct join *j)
{
	return j->flag == CLONE_NEWUSER;
}

/* join_all enters every namespace given by path. All paths are opened first:
 * entering a mount namespace changes what later paths mean. Root enters the
 * user namespace last (it may still need its host privileges for the
 * others); anyone else needs the user namespace's privileges first. */
static void join_all(struct join *js, int n)
{
	int user_first = geteuid() != 0;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n; i++) {
			if (is_user(&js[i]) != (pass == (user_first ? 0 : 1)))
				continue;
			if (setns(js[i].fd, js[i].flag) < 0)
				fail(errno, errno == EINVAL ? "join %s namespace (a path of another namespace type?)"
							    : "join %s namespace", js[i].type);
			close(js[i].fd);
		}
	}
}

static void bootstrap(void)
{
	uint32_t n;
	if (read_all(&n, sizeof(n)) < 0 || n > (1 << 20))
		fail(-1, "read bootstrap message");
	char *buf = malloc(n + 1);
	if (buf == NULL || read_all(buf, n) < 0)
		fail(-1, "read bootstrap message");
	buf[n] = '\0';

	struct join js[MAX_JOIN];
	int njoin = 0;
	int clone_flags = 0;
	char *timens = NULL;
	int timens_fd = -1;
	int final = 0;
	/* Non-dumpable, our /proc/self files are root's (of the user namespace
	 * we were exec'd in): an unprivileged A could open neither
	 * oom_score_adj nor timens_offsets. Until join_all it is in its
	 * caller's namespaces, as from execve to the constructor's prctl; and
	 * only when row 1 has such a key. Who could ptrace A meanwhile runs as
	 * its caller's uid in its pid namespace: it could ptrace the caller as
	 * well (a container's processes, in a pid namespace of their own,
	 * cannot name A). */
	int unpriv_proc = geteuid() != 0 && (memmem(buf, n, "oom=", 4) != NULL || memmem(buf, n, "timens=", 7) != NULL);
	if (unpriv_proc && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		fail(errno, "set dumpable");
	for (char *kv = buf; kv < buf + n; kv += strlen(kv) + 1) {
		if (strncmp(kv, "oom=", 4) == 0) {
			write_file("/proc/self/oom_score_adj", kv + 4);
		} else if (strcmp(kv, "final=1") == 0) {
			final = 1;
		} else if (strncmp(kv, "clone=", 6) == 0) {
			clone_flags = atoi(kv + 6);
		} else if (strncmp(kv, "timens=", 7) == 0) {
			timens = kv + 7;
			timens_fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
			if (timens_fd < 0)
				fail(errno, "open /proc/self/timens_offsets");
		} else if (strncmp(kv, "join=", 5) == 0) {
			char *type = strchr(kv + 5, ':');
			char *path = type ? strchr(type + 1, ':') : NULL;
			if (path == NULL || njoin == MAX_JOIN)
				fail(-1, "bad bootstrap entry %s", kv);
			*type++ = '\0';
			*path++ = '\0';
			js[njoin].flag = atoi(kv + 5);
			if (js[njoin].flag == 0) /* setns(fd, 0) would take any type */
				fail(-1, "bad bootstrap entry join=%s", kv + 5);
			js[njoin].type = type;
			js[njoin].fd = open(path, O_RDONLY | O_CLOEXEC);
			if (js[njoin].fd < 0)
				fail(errno, "open %s namespace %s", type, path);
			njoin++;
		}
	}
	if (unpriv_proc && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail(errno, "set non-dumpable");
	join_all(js, njoin);
	/* In a joined user namespace (exec, or a config's user namespace path),
	 * be its root too: the ids kept from outside are unmapped there, and
	 * files made with unmapped ids (a terminal) cannot be chowned. */
	for (int i = 0; i < njoin; i++) {
		if (is_user(&js[i]) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
			fail(errno, "become root in the joined user namespace (is 0 mapped?)");
	}

	if (clone_flags & CLONE_NEWUSER) {
		if (unshare(CLONE_NEWUSER) < 0)
			fail(errno, "create user namespace");
		/* An unprivileged parent can write our maps only while /proc/PID
		 * is ours, i.e. while we are dumpable: for just that moment,
		 * whoever the caller (in the new namespace, unmapped, every
		 * caller's euid reads as the overflow uid; root's A being
		 * dumpable meanwhile is harmless: only host root may trace a
		 * task of kuid 0, and nothing runs in the container yet). */
		if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
			fail(errno, "set dumpable");
		char c = 'U';
		write_all(&c, 1);
		if (read_all(&c, 1) < 0 || c != 'u')
			fail(-1, "wait for id mappings");
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
			fail(errno, "set non-dumpable");
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			fail(errno, "become root in the user namespace (is 0 mapped?)");
		setgroups(0, NULL); /* denied when setgroups is "deny": fine */
	}
	int rest = clone_flags & ~(CLONE_NEWUSER | CLONE_NEWCGROUP);
	if (rest && unshare(rest) < 0)
		fail(errno, "create namespaces (flags %#x)", rest);
	if (timens && *timens) {
		size_t len = strlen(timens);
		if (write(timens_fd, timens, len) != (ssize_t)len)
			fail(errno, "write /proc/self/timens_offsets");
	}
	if (timens_fd >= 0)
		close(timens_fd);

	int gate[2];
	if (pipe2(gate, O_CLOEXEC) < 0)
		fail(errno, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		fail(errno, "fork init");
	if (pid == 0) {
		/* B: wait until A has reported our pid, then let Go start. */
		char c;
		close(gate[1]);
		while (read(gate[0], &c, 1) < 0 && errno == EINTR)
			;
		close(gate[0]);
		free(buf);
		if (final)
			final_stage(); /* final.c: never returns, Go never starts */
		return;
	}
	uint32_t p = (uint32_t)pid;
	write_all("P", 1);
	write_all(&p, sizeof(p));
	close(gate[1]);
	_exit(0);
}

__attribute__((constructor)) static void tekapo_nsenter(void)
{
	const char *fd = getenv("_TEKAPO_INITPIPE");
	if (fd == NULL)
		return;
	sync_fd = atoi(fd);
	/* Nothing in the container may open this process's exe (CVE-2019-5736). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail(errno, "set non-dumpable");
	bootstrap();
}
