// SPDX-License-Identifier: GPL-2.0
/*
 * `just bench-trace`: a process that makes syscalls in a loop and prints
 * what each cost, to measure what `collect --trace-pid` adds.
 *
 *   tracecalls lookup N      N BPF_MAP_LOOKUP_ELEM calls of a missing key
 *   tracecalls getppid N     N getppid() calls (any non-bpf syscall)
 *   tracecalls wait S MODE N sleep S seconds, then MODE N (so a trace can
 *                            attach to this pid first)
 *   tracecalls idle S        one lookup every 10 ms for S seconds
 *
 * Prints `MODE N calls ns_per_call X`. Creates its own 16-entry hash map
 * (root). No libbpf: the bpf(2) attr is built by hand.
 */
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(SYS_bpf, cmd, a, sizeof(*a));
}

static int map_fd;

static int make_map(void)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_HASH;
	a.key_size = 8;
	a.value_size = 8;
	a.max_entries = 16;
	strcpy(a.map_name, "tracecalls");
	return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

static void lookup_once(void)
{
	uint64_t key = ~0ull, value;
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = map_fd;
	a.key = (uint64_t)(uintptr_t)&key;
	a.value = (uint64_t)(uintptr_t)&value;
	sys_bpf(BPF_MAP_LOOKUP_ELEM, &a);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int run(const char *mode, long n)
{
	double t0 = now();

	if (!strcmp(mode, "lookup")) {
		for (long i = 0; i < n; i++)
			lookup_once();
	} else if (!strcmp(mode, "getppid")) {
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	printf("%s %ld calls ns_per_call %.0f\n", mode, n, (now() - t0) * 1e9 / n);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: tracecalls lookup|getppid N | wait S MODE N | idle S\n");
		return 2;
	}
	map_fd = make_map();
	if (map_fd < 0) {
		perror("map create (root needed)");
		return 1;
	}
	if (!strcmp(argv[1], "idle")) {
		double end = now() + atof(argv[2]);

		while (now() < end) {
			lookup_once();
			usleep(10000);
		}
		return 0;
	}
	if (!strcmp(argv[1], "wait")) {
		if (argc < 5)
			return 2;
		usleep((useconds_t)(atof(argv[2]) * 1e6));
		return run(argv[3], atol(argv[4]));
	}
	return run(argv[1], atol(argv[2]));
}
