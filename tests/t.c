/* The harness: runs every registered test in a forked child. */
#include "t.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define T_MAX 512
#define T_EXIT_SKIP 77

static struct {
	const char *name;
	t_fn fn;
	unsigned timeout;
} tests[T_MAX];
static int ntests;

void
t_register(const char *name, t_fn fn, unsigned timeout)
{
	if (ntests == T_MAX) {
		fprintf(stderr, "t: too many tests\n");
		exit(2);
	}
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	tests[ntests].timeout = timeout;
	ntests++;
}

static int
matches(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strstr(name, argv[i]) != NULL)
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	int passed = 0, failed = 0, skipped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < ntests; i++) {
		int status;
		pid_t pid;

		if (!matches(tests[i].name, argc, argv))
			continue;
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0) {
			alarm(tests[i].timeout);
			tests[i].fn();
			fflush(NULL);
			_exit(0);
		}
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("ok   %s\n", tests[i].name);
			passed++;
		} else if (WIFEXITED(status) &&
		    WEXITSTATUS(status) == T_EXIT_SKIP) {
			printf("skip %s\n", tests[i].name);
			skipped++;
		} else {
			if (WIFSIGNALED(status))
				printf("FAIL %s (%s)\n", tests[i].name,
				    WTERMSIG(status) == SIGALRM ? "timeout" :
				    strsignal(WTERMSIG(status)));
			else
				printf("FAIL %s\n", tests[i].name);
			failed++;
		}
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
