/*
 * B without the Go runtime: the last steps of `tekapo exec`, in C.
 *
 * When the parent finds that a process to exec needs nothing that only the
 * Go init does (a terminal, LSM labels, a seccomp notify listener,
 * personality, scheduler, I/O priority, memory policy, an explicit CPU
 * affinity, the --debug log), it puts final=1 in the bootstrap (sync.go
 * row 1) and B, once forked by nsenter.c, runs final_stage() instead of
 * returning into Go: no Go runtime starts inside the container for that
 * process. What the Go init would read through its verified procfs handle
 * (the id maps, setgroups) the parent reads through its own, from outside;
 * B opens nothing under the container's /proc.
 *
 * Its rows of the protocol (the table at the top of libcontainer/sync.go):
 *
 *   F1 parent→B  u32 n, n bytes of "key=value\0"   the plan, sent once B is
 *                                                  in the container's cgroups
 *   F2 B→parent  'R'                               ready: B execs now (the
 *                                                  socket is close-on-exec)
 *   F3 B→parent  'S', i32 errno, u32 n, n bytes    a step failed, B exits 1:
 *                "STEP\0TEXT"                      the parent puts the errno's
 *                                                  text where TEXT says %m,
 *                                                  else at its end
 *
 * The plan's keys (repeatable ones marked *), applied in this order, the
 * order and the wording of the Go init (init_exec_linux.go):
 *
 *   prepare exec          rlimit=TYPE:SOFT:HARD*, affinity=all, umask=N,
 *                         cwd=PATH (cwdq= its Go %q form, for errors),
 *                         env=K=V*, home=UID (fill the env's "HOME=" from
 *                         the container's /etc/passwd), arg=A*, argq=
 *                         (%q of the first arg), path=$PATH to search
 *   credentials, seccomp  closefrom=FD, nnp=1, seccomp=HEX (raw sock_filter
 *                         array), seccompflags=N, caps=B:E:I:P:A (hex
 *                         masks; absent: sets untouched), caplast=N,
 *                         groups=G,G,..., setgroups=0|1, gid=N, uid=N
 *   exec                  execve
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nsenter.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define MAX_RLIMITS 64
#define PASSWD_MAX (1 << 20)

static const char *step = "prepare exec";

/* fail_step reports row F3 and exits: saved is the errno (-1: none). */
__attribute__((noreturn, format(printf, 2, 3))) static void fail_step(int saved, const char *fmt, ...)
{
	char text[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(text))
		n = sizeof(text) - 1;
	int32_t err = saved;
	size_t sl = strlen(step);
	uint32_t len = (uint32_t)(sl + 1 + (size_t)n);
	write_all("S", 1);
	write_all(&err, sizeof(err));
	write_all(&len, sizeof(len));
	write_all(step, sl + 1);
	write_all(text, (size_t)n);
	_exit(1);
}

struct rl {
	int type;
	unsigned long long soft, hard;
};

struct plan {
	char **args, **env;
	int nargs, nenv;
	const char *argq, *cwd, *cwdq, *path;
	long home_uid; /* -1: HOME was given */
	struct rl rl[MAX_RLIMITS];
	int nrl;
	int affinity_all;
	mode_t umask;
	int closefrom, nnp;
	unsigned char *bpf;
	size_t bpf_len;
	unsigned int seccomp_flags;
	int has_caps, caplast;
	uint64_t caps[5]; /* bounding, effective, inheritable, permitted, ambient */
	gid_t *groups;
	int ngroups, setgroups_ok;
	uid_t uid;
	gid_t gid;
};

static unsigned long long num(const char *s, int base, const char *key)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno != 0 || end == s || (*end != '\0' && *end != ':' && *end != ','))
		fail_step(-1, "bad plan entry %s=%s", key, s);
	return v;
}

static void hex_decode(struct plan *pl, const char *h)
{
	size_t n = strlen(h);
	if (n % 2 != 0 || n / 2 % sizeof(struct sock_filter) != 0)
		fail_step(-1, "bad plan entry seccomp (length %zu)", n);
	pl->bpf = malloc(n / 2);
	if (pl->bpf == NULL)
		fail_step(ENOMEM, "seccomp program");
	for (size_t i = 0; i < n / 2; i++) {
		char b[3] = {h[2 * i], h[2 * i + 1], 0};
		pl->bpf[i] = (unsigned char)num(b, 16, "seccomp");
	}
	pl->bpf_len = n / 2;
}

static void parse_groups(struct plan *pl, char *s, int max)
{
	pl->groups = calloc((size_t)max + 1, sizeof(gid_t));
	if (pl->groups == NULL)
		fail_step(ENOMEM, "groups");
	for (char *g = strtok(s, ","); g != NULL && pl->ngroups < max; g = strtok(NULL, ","))
		pl->groups[pl->ngroups++] = (gid_t)num(g, 10, "groups");
}

static void parse(struct plan *pl, char *buf, size_t n)
{
	int entries = 0;
	for (char *kv = buf; kv < buf + n; kv += strlen(kv) + 1)
		entries++;
	pl->args = calloc((size_t)entries + 1, sizeof(char *));
	pl->env = calloc((size_t)entries + 1, sizeof(char *));
	if (pl->args == NULL || pl->env == NULL)
		fail_step(ENOMEM, "plan");
	pl->home_uid = -1;
	pl->umask = 022;
	pl->closefrom = -1;
	pl->caplast = -1;
	for (char *kv = buf, *next; kv < buf + n; kv = next) {
		next = kv + strlen(kv) + 1;
		char *v = strchr(kv, '=');
		if (v == NULL)
			fail_step(-1, "bad plan entry %s", kv);
		*v++ = '\0';
		if (strcmp(kv, "arg") == 0) {
			pl->args[pl->nargs++] = v;
		} else if (strcmp(kv, "env") == 0) {
			pl->env[pl->nenv++] = v;
		} else if (strcmp(kv, "argq") == 0) {
			pl->argq = v;
		} else if (strcmp(kv, "cwd") == 0) {
			pl->cwd = v;
		} else if (strcmp(kv, "cwdq") == 0) {
			pl->cwdq = v;
		} else if (strcmp(kv, "path") == 0) {
			pl->path = v;
		} else if (strcmp(kv, "home") == 0) {
			pl->home_uid = (long)num(v, 10, kv);
		} else if (strcmp(kv, "rlimit") == 0) {
			char *s = strchr(v, ':'), *h = s ? strchr(s + 1, ':') : NULL;
			if (h == NULL || pl->nrl == MAX_RLIMITS)
				fail_step(-1, "bad plan entry rlimit=%s", v);
			struct rl *r = &pl->rl[pl->nrl++];
			r->type = (int)num(v, 10, kv);
			r->soft = num(s + 1, 10, kv);
			r->hard = num(h + 1, 10, kv);
		} else if (strcmp(kv, "affinity") == 0) {
			pl->affinity_all = strcmp(v, "all") == 0;
		} else if (strcmp(kv, "umask") == 0) {
			pl->umask = (mode_t)num(v, 10, kv);
		} else if (strcmp(kv, "closefrom") == 0) {
			pl->closefrom = (int)num(v, 10, kv);
		} else if (strcmp(kv, "nnp") == 0) {
			pl->nnp = strcmp(v, "1") == 0;
		} else if (strcmp(kv, "seccomp") == 0) {
			hex_decode(pl, v);
		} else if (strcmp(kv, "seccompflags") == 0) {
			pl->seccomp_flags = (unsigned int)num(v, 10, kv);
		} else if (strcmp(kv, "caps") == 0) {
			char *p = v;
			for (int i = 0; i < 5; i++) {
				pl->caps[i] = num(p, 16, kv);
				p = strchr(p, ':');
				if ((p == NULL) != (i == 4))
					fail_step(-1, "bad plan entry caps=%s", v);
				if (p)
					p++;
			}
			pl->has_caps = 1;
		} else if (strcmp(kv, "caplast") == 0) {
			pl->caplast = (int)num(v, 10, kv);
		} else if (strcmp(kv, "groups") == 0) {
			parse_groups(pl, v, entries + (int)strlen(v));
		} else if (strcmp(kv, "setgroups") == 0) {
			pl->setgroups_ok = strcmp(v, "1") == 0;
		} else if (strcmp(kv, "uid") == 0) {
			pl->uid = (uid_t)num(v, 10, kv);
		} else if (strcmp(kv, "gid") == 0) {
			pl->gid = (gid_t)num(v, 10, kv);
		} else {
			fail_step(-1, "unknown plan entry %s", kv);
		}
	}
	if (pl->nargs == 0 || pl->argq == NULL || pl->cwd == NULL || pl->cwdq == NULL || pl->path == NULL ||
	    pl->closefrom < 3 || (pl->has_caps && pl->caplast < 0))
		fail_step(-1, "incomplete plan");
}

/* passwd_home is the home of uid in the container's /etc/passwd, "/"
 * without one: opened confined to the root (B's root is the container's),
 * without magic links, read only if it is a regular file, at most 1 MiB
 * (the Go init's passwdHome, init_env_linux.go). */
static char *passwd_home(long uid)
{
	static char slash[] = "/";
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return slash;
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, root, "etc/passwd", &how, sizeof(how));
	close(root);
	struct stat st;
	if (fd < 0)
		return slash;
	char *buf = NULL;
	size_t len = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (buf = malloc(PASSWD_MAX + 1)) != NULL) {
		ssize_t r;
		while (len < PASSWD_MAX && (r = read(fd, buf + len, PASSWD_MAX - len)) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				break;
			len += (size_t)r;
		}
		buf[len] = '\0';
	}
	close(fd);
	if (buf == NULL)
		return slash;
	char want[24];
	snprintf(want, sizeof(want), "%ld", uid);
	for (char *line = buf, *next; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *f[7] = {0};
		int nf = 0;
		for (char *p = line; nf < 7; nf++) {
			f[nf] = p;
			p = strchr(p, ':');
			if (p == NULL) {
				nf++;
				break;
			}
			*p++ = '\0';
		}
		if (nf >= 6 && strcmp(f[2], want) == 0 && f[5][0] != '\0')
			return f[5];
	}
	return slash;
}

static void fill_home(struct plan *pl)
{
	if (pl->home_uid < 0)
		return;
	for (int i = 0; i < pl->nenv; i++) {
		if (strcmp(pl->env[i], "HOME=") == 0) {
			const char *h = passwd_home(pl->home_uid);
			char *kv = malloc(strlen(h) + 6);
			if (kv == NULL)
				fail_step(ENOMEM, "HOME");
			strcpy(kv, "HOME=");
			strcat(kv, h);
			pl->env[i] = kv;
			return;
		}
	}
}

/* check_exec is the Go init's checkExecutable: 0, or the reason. */
static int check_exec(const char *p, const char **why)
{
	struct stat st;
	if (stat(p, &st) < 0) {
		*why = NULL;
		return errno;
	}
	if (S_ISDIR(st.st_mode)) {
		/* As the Go init says it (init_exec_linux.go): both runc wordings. */
		*why = "permission denied (is a directory)";
		return -1;
	}
	if ((st.st_mode & 0111) == 0) {
		*why = "permission denied";
		return -1;
	}
	return 0;
}

/* look_path finds args[0] as the Go init's lookPath does. */
static const char *look_path(const struct plan *pl)
{
	const char *name = pl->args[0], *why;
	if (strchr(name, '/') != NULL) {
		int e = check_exec(name, &why);
		if (e > 0)
			fail_step(e, "exec: %s: stat %s", pl->argq, name);
		if (e < 0)
			fail_step(-1, "exec: %s: %s", pl->argq, why);
		return name;
	}
	char *dirs = strdup(pl->path);
	if (dirs == NULL)
		fail_step(ENOMEM, "PATH");
	for (char *d = dirs, *next; d != NULL; d = next) {
		next = strchr(d, ':');
		if (next)
			*next++ = '\0';
		char *full;
		/* filepath.Join(".", name) is name itself */
		if (*d == '\0')
			full = strdup(name);
		else if (asprintf(&full, "%s%s%s", d, d[strlen(d) - 1] == '/' ? "" : "/", name) < 0)
			full = NULL;
		if (full == NULL)
			fail_step(ENOMEM, "PATH");
		if (check_exec(full, &why) == 0)
			return full;
		free(full);
	}
	fail_step(-1, "exec: %s: executable file not found in $PATH", pl->argq);
}

static void prepare(struct plan *pl, const char **path)
{
	step = "prepare exec";
	for (int i = 0; i < pl->nrl; i++) {
		struct rlimit lim = {.rlim_cur = pl->rl[i].soft, .rlim_max = pl->rl[i].hard};
		if (prlimit(0, pl->rl[i].type, &lim, NULL) < 0)
			fail_step(errno, "set rlimit %d (soft %llu, hard %llu)", pl->rl[i].type, pl->rl[i].soft,
				  pl->rl[i].hard);
	}
	if (pl->affinity_all) {
		/* Every CPU: the kernel keeps those of the cgroup's cpuset. */
		cpu_set_t all;
		memset(&all, 0xff, sizeof(all));
		if (sched_setaffinity(0, sizeof(all), &all) < 0)
			fail_step(errno, "reset the CPU affinity to the cgroup's cpuset");
	}
	umask(pl->umask);
	if (chdir(pl->cwd) < 0)
		fail_step(errno, "chdir to cwd (%s) set in config.json failed", pl->cwdq);
	/* CVE-2024-21626: the cwd must be inside the container's root. */
	char wd[PATH_MAX];
	if (getcwd(wd, sizeof(wd)) == NULL || wd[0] != '/')
		fail_step(-1, "current working directory is outside of container mount namespace root -- possible "
			      "container breakout detected");
	fill_home(pl);
	*path = look_path(pl);
}

static void load_seccomp(const struct plan *pl)
{
	struct sock_fprog prog = {
		.len = (unsigned short)(pl->bpf_len / sizeof(struct sock_filter)),
		.filter = (struct sock_filter *)pl->bpf,
	};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, pl->seccomp_flags, &prog) != 0) {
		if (errno == EACCES)
			fail_step(errno, "load seccomp filter: %%m (set no_new_privs on this thread first or hold "
					 "CAP_SYS_ADMIN)");
		fail_step(errno, "load seccomp filter");
	}
}

/* set_credentials is the Go init's setCredentials and setIDs. */
static void set_credentials(const struct plan *pl)
{
	if (pl->has_caps) {
		for (int c = 0; c <= pl->caplast; c++) {
			if ((pl->caps[0] & (1ULL << c)) == 0 && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
				fail_step(errno, "drop capability %d from bounding set", c);
		}
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			fail_step(errno, "set keepcaps");
	}
	if (pl->setgroups_ok) {
		if (setgroups((size_t)pl->ngroups, pl->groups) < 0)
			fail_step(errno, "setgroups");
	} else if (pl->ngroups > 0) {
		fail_step(-1, "cannot set additional gids: setgroups is denied in this user namespace");
	}
	if (setresgid(pl->gid, pl->gid, pl->gid) < 0)
		fail_step(errno, "setgid %u", (unsigned)pl->gid);
	if (setresuid(pl->uid, pl->uid, pl->uid) < 0)
		fail_step(errno, "setuid %u", (unsigned)pl->uid);
	if (!pl->has_caps)
		return;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		fail_step(errno, "clear keepcaps");
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(pl->caps[1] >> (32 * i));
		data[i].inheritable = (uint32_t)(pl->caps[2] >> (32 * i));
		data[i].permitted = (uint32_t)(pl->caps[3] >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		fail_step(errno, "set capabilities");
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int c = 0; c <= pl->caplast; c++) {
		/* One that is not also permitted and inheritable is refused:
		 * like runc, go on without it. */
		if (pl->caps[4] & (1ULL << c))
			prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
	}
}

static void finalize(const struct plan *pl)
{
	step = "credentials, seccomp";
	/* Every fd past the process's own is the runtime's (this socket
	 * included) or the caller's: none may reach the process. */
	if (syscall(SYS_close_range, (unsigned)pl->closefrom, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		fail_step(errno, "close_range");
	if (pl->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail_step(errno, "set no_new_privs");
	/* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: before
	 * the capabilities go. With it, after. */
	if (pl->bpf && !pl->nnp)
		load_seccomp(pl);
	set_credentials(pl);
	if (pl->bpf && pl->nnp)
		load_seccomp(pl);
}

void final_stage(void)
{
	/* A session of its own, as the Go init's processes have. */
	setsid();
	uint32_t n;
	if (read_all(&n, sizeof(n)) < 0 || n == 0 || n > (16 << 20))
		fail_step(-1, "read plan");
	char *buf = malloc(n + 1);
	if (buf == NULL || read_all(buf, n) < 0)
		fail_step(-1, "read plan");
	buf[n] = '\0';
	struct plan pl = {0};
	parse(&pl, buf, n);
	const char *path;
	prepare(&pl, &path);
	finalize(&pl);
	write_all("R", 1);
	step = "exec";
	execve(path, pl.args, pl.env);
	fail_step(errno, "exec %s", pl.argq);
}
