/*
 * hostile.c: the well-formed test plugin of plugin.c (included below) with one hostile
 * behaviour, selected by a -D macro. Built by plugintest.Hostile:
 *
 *   cc -shared -fPIC -O1 -o out.so hostile.c -DSK_ABI=6 -DSK_KIND='"bind_port"' -DHOSTILE_BIND_PORT
 *
 * Constructors that take what a second copy of the library could not take again:
 * HOSTILE_BIND_PORT   listens on 127.0.0.1:$HOSTILE_PORT and keeps the socket open;
 *                     aborts when the port is taken.
 * HOSTILE_FLOCK       takes flock(LOCK_EX) on the file $HOSTILE_LOCK and keeps it;
 *                     aborts when the lock is held.
 * Constructors that start a process, which writes its pid to $HOSTILE_PIDFILE (a line
 * "pid\n") and then waits forever; the constructor returns once the pid is written:
 * HOSTILE_FORK        forks one child.
 * HOSTILE_DAEMON      forks a child that calls setsid, forks the waiting grandchild and
 *                     exits; the constructor waits for the child, so what is left is
 *                     the grandchild, out of its parent's process group and session.
 * HOSTILE_CLOSE_FDS   a constructor that closes descriptors 3 to 1023, which it does
 *                     not own.
 * HOSTILE_CHATTER     a constructor that writes 256 KiB of lines to standard error and
 *                     then aborts.
 * Metadata that passes every limit on one item but is over 4 MiB in total:
 * HOSTILE_BIG_TYPES   1,024 input pins that accept the same 1,024 text types each.
 * HOSTILE_BIG_STRINGS 1,024 categories of 8 KiB each.
 * A library that kills the process that opened it later, from a thread of its own:
 * HOSTILE_LATE_CRASH  a constructor starts a thread that aborts 1.5 s later
 *                     ($HOSTILE_LATE_MS milliseconds when set), unless the
 *                     variable $HOSTILE_LATE_UNLESS names is set: a crash that
 *                     only the process it is opened in for good ever sees.
 * HOSTILE_HOST_HANG   a constructor that does not return until the file
 *                     $HOSTILE_HANG_UNTIL exists (never, without it), unless the
 *                     variable $HOSTILE_HANG_UNLESS names is set: a hang that only
 *                     the process it is opened in for good ever sees. It creates
 *                     the file $HOSTILE_HANG_MARK (when set) as it begins to hang.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "plugin.c"

#if defined(HOSTILE_BIND_PORT)
__attribute__((constructor)) static void bind_port(void)
{
	const char *port = getenv("HOSTILE_PORT");
	if (port == NULL)
		abort();
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)atoi(port));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 1) != 0)
		abort();
	/* fd stays open as long as the library is loaded, and longer. */
}
#endif

#if defined(HOSTILE_FLOCK)
__attribute__((constructor)) static void take_lock(void)
{
	const char *path = getenv("HOSTILE_LOCK");
	if (path == NULL)
		abort();
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0)
		abort();
}
#endif

#if defined(HOSTILE_FORK) || defined(HOSTILE_DAEMON)
#include <sys/wait.h>

/* Written to by the waiting process once its pid is in $HOSTILE_PIDFILE. */
static int ready[2];

static void write_pid_and_wait(void)
{
	const char *path = getenv("HOSTILE_PIDFILE");
	if (path != NULL) {
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		char line[32];
		int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
		if (fd >= 0) {
			(void)!write(fd, line, (size_t)n);
			close(fd);
		}
	}
	(void)!write(ready[1], "x", 1);
	for (;;)
		pause();
}

/* Returns once the waiting process has written its pid. */
static void await_ready(void)
{
	char c;
	close(ready[1]);
	(void)!read(ready[0], &c, 1);
	close(ready[0]);
}
#endif

#if defined(HOSTILE_FORK)
__attribute__((constructor)) static void start_child(void)
{
	if (pipe(ready) != 0)
		abort();
	if (fork() == 0)
		write_pid_and_wait();
	await_ready();
}
#endif

#if defined(HOSTILE_DAEMON)
/* The classic daemon: the library waits for its child, so only the grandchild, in a
 * session of its own, is left. */
__attribute__((constructor)) static void start_daemon(void)
{
	if (pipe(ready) != 0)
		abort();
	pid_t child = fork();
	if (child == 0) {
		setsid();
		if (fork() == 0)
			write_pid_and_wait();
		_exit(0);
	}
	waitpid(child, NULL, 0);
	await_ready();
}
#endif

#if defined(HOSTILE_LATE_CRASH)
#include <pthread.h>

static void *late_crash(void *arg)
{
	(void)arg;
	const char *ms = getenv("HOSTILE_LATE_MS");
	usleep((useconds_t)(ms ? atoi(ms) : 1500) * 1000);
	abort();
	return NULL;
}

__attribute__((constructor)) static void start_late_crash(void)
{
	const char *unless = getenv("HOSTILE_LATE_UNLESS");
	if (unless != NULL && getenv(unless) != NULL)
		return;
	pthread_t t;
	pthread_create(&t, NULL, late_crash, NULL);
	pthread_detach(t);
}
#endif

#if defined(HOSTILE_HOST_HANG)
__attribute__((constructor)) static void host_hang(void)
{
	const char *unless = getenv("HOSTILE_HANG_UNLESS");
	if (unless != NULL && getenv(unless) != NULL)
		return;
	const char *until = getenv("HOSTILE_HANG_UNTIL");
	const char *mark = getenv("HOSTILE_HANG_MARK");
	if (mark != NULL)
		close(open(mark, O_CREAT | O_WRONLY, 0644));
	for (;;) {
		if (until != NULL && access(until, F_OK) == 0)
			return;
		usleep(10000);
	}
}
#endif

#if defined(HOSTILE_CLOSE_FDS)
__attribute__((constructor)) static void close_fds(void)
{
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
}
#endif

#if defined(HOSTILE_CHATTER)
__attribute__((constructor)) static void chatter(void)
{
	for (int i = 0; i < 4096; i++)
		fprintf(stderr, "chatter: line %4d of a library that talks a lot while it loads\n", i);
	abort();
}
#endif

#if defined(HOSTILE_BIG_TYPES)
static CPacketTypeInfo big_types[1024];
static CInputPin big_inputs[1024];

__attribute__((constructor)) static void big_types_init(void)
{
	for (size_t i = 0; i < COUNT(big_types); i++)
		big_types[i].type_discriminant = SK_TEXT;
	for (size_t i = 0; i < COUNT(big_inputs); i++) {
		big_inputs[i].name = "in";
		big_inputs[i].accepts_types = big_types;
		big_inputs[i].accepts_types_count = COUNT(big_types);
	}
	metadata.inputs = big_inputs;
	metadata.inputs_count = COUNT(big_inputs);
}
#endif

#if defined(HOSTILE_BIG_STRINGS)
static char big_string[8 << 10];
static const char *big_categories[1024];

__attribute__((constructor)) static void big_strings_init(void)
{
	memset(big_string, 'c', sizeof big_string - 1);
	for (size_t i = 0; i < COUNT(big_categories); i++)
		big_categories[i] = big_string;
	metadata.categories = big_categories;
	metadata.categories_count = COUNT(big_categories);
}
#endif
