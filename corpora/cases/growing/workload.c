// SPDX-License-Identifier: GPL-2.0
/* bpfcase corpus: a user-space agent that leaks map entries in the two
 * ways dump/growing names (see README.md). Opens the maps of growing.bpf.o
 * pinned under DIR, prints "PID ready", then every 20 ms:
 *  - forks a short-lived child and records it in `tasks` and `sessions`
 *    under the child's pid; when the child has exited it deletes the
 *    `sessions` entry (level) but never the `tasks` one (entries of exited
 *    processes stay);
 *  - every fourth round also inserts a `tasks` key built without zeroing
 *    its hole (stack garbage in bytes 5..7) and deletes it with a zeroed
 *    key: the delete misses, the entry stays;
 *  - inserts a fresh key into the LRU map `recent` (full, evicting).
 * for SECONDS (default 30).
 *
 * Built with: cc -O2 -g -Wall workload.c -lbpf -o workload
 * Run:        ./workload DIR [SECONDS]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/bpf.h>

struct task_key {
	__u32 pid;
	__u8 state;
	/* 3-byte hole (off 5..7) */
	__u64 start_ns;
};

static int open_map(const char *dir, const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	int tasks, sessions, recent, seconds = argc > 2 ? atoi(argv[2]) : 30;
	__u64 one = 1, start = now_ns(), round;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR [SECONDS]\n", argv[0]);
		return 2;
	}
	tasks = open_map(argv[1], "tasks");
	sessions = open_map(argv[1], "sessions");
	recent = open_map(argv[1], "recent");
	printf("%d ready\n", getpid());
	fflush(stdout);
	for (round = 0; now_ns() - start < (__u64)seconds * 1000000000ull; round++) {
		struct task_key k;
		pid_t child = fork();
		__u64 lru_key = now_ns();

		if (child == 0)
			_exit(0);
		memset(&k, 0, sizeof(k));
		k.pid = child;
		k.state = 1;
		k.start_ns = now_ns();
		bpf_map_update_elem(tasks, &k, &one, BPF_ANY);
		bpf_map_update_elem(sessions, &k, &one, BPF_ANY);
		waitpid(child, NULL, 0);
		bpf_map_delete_elem(sessions, &k);

		if (round % 4 == 0) {
			/* Filled field by field over a buffer that held other
			 * bytes: the hole keeps them. */
			memset(&k, 0xa5, sizeof(k));
			k.pid = getpid();
			k.state = 2;
			k.start_ns = round;
			bpf_map_update_elem(tasks, &k, &one, BPF_ANY);
			memset(&k, 0, sizeof(k));
			k.pid = getpid();
			k.state = 2;
			k.start_ns = round;
			bpf_map_delete_elem(tasks, &k); /* ENOENT: the padding differs */
		}
		bpf_map_update_elem(recent, &lru_key, &one, BPF_ANY);
		usleep(20000);
	}
	return 0;
}
