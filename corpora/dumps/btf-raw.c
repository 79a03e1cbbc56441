// Write the raw BTF blob of a kernel-loaded BTF object (by id) to stdout.
// Built on the fly by make-dumps.sh: gcc -O2 -o btf-raw btf-raw.c -lbpf
#include <stdio.h>
#include <stdlib.h>
#include <bpf/btf.h>

int main(int argc, char **argv)
{
	struct btf *btf;
	const void *data;
	__u32 size = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s BTF_ID\n", argv[0]);
		return 2;
	}
	btf = btf__load_from_kernel_by_id((__u32)strtoul(argv[1], NULL, 0));
	if (!btf) {
		perror("btf__load_from_kernel_by_id");
		return 1;
	}
	data = btf__raw_data(btf, &size);
	if (!data || fwrite(data, 1, size, stdout) != size) {
		perror("btf__raw_data/fwrite");
		return 1;
	}
	btf__free(btf);
	return 0;
}
