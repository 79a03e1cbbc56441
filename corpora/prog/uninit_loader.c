// SPDX-License-Identifier: GPL-2.0
/* bpfcase corpus (prog/): a libbpf-skeleton loader of uninit.bpf.o, the way
 * libbpf-tools are built: `bpftool gen skeleton` embeds the whole object in
 * the binary (uninit.skel.h, `uninit__elf_bytes()`). It loads the programs
 * and maps (without attaching them), says `loaded` on stdout, and holds them
 * until SIGINT/SIGTERM. Used by tests/collect_e2e.rs (`collect --binaries`).
 * Built by build.sh: cc -O2 -g uninit_loader.c -lbpf -o uninit_loader
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include "uninit.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	struct uninit *skel;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	skel = uninit__open_and_load();
	if (!skel) {
		fprintf(stderr, "uninit_loader: cannot load uninit.bpf.o\n");
		return 1;
	}
	printf("loaded\n");
	fflush(stdout);
	while (!stop)
		pause();
	uninit__destroy(skel);
	return 0;
}
