// SPDX-License-Identifier: GPL-2.0
/* bpfcase corpus: global data of every kind libbpf turns into a one-entry
 * array map whose value type is a BTF DATASEC (see README.md).
 *
 * The object is named datasec_globals so that libbpf's internal_map_name
 * cuts the object name the way it does on real nodes: `datasec_.rodata`,
 * `datasec_.bss`, `datasec_.data`, `datasec.kconfig`; custom sections
 * (`.data.custom`, `.rodata.str`) are named after the section alone.
 */
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

enum filter_mode {
	MODE_OFF = 0,
	MODE_PID = 1,
	MODE_CGROUP = 7,
};

struct histo_cfg {
	unsigned int slots;
	unsigned short unit;	/* 2-byte hole after it */
	unsigned long long min_ns;
	char label[6];		/* 2 bytes of trailing padding */
};

/* .rodata: the configuration a loader sets before load; frozen after. */
const volatile int targ_tgid = 0;
const volatile bool targ_ms = false;
const volatile bool targ_per_thread = true;
const volatile unsigned long long min_us = 10000;
const volatile char targ_comm[16] = "sshd";
const volatile enum filter_mode mode = MODE_CGROUP;
const volatile struct histo_cfg histo = {
	.slots = 27, .unit = 3, .min_ns = 1000, .label = "usecs",
};
const volatile short targ_cpu = -1;

/* .bss: zero-initialised counters. */
unsigned long long counter;
int last_pid;
bool seen;
char last_comm[16];

/* .data: initialised, writable. */
int version = 3;
unsigned char shift = 5;
long long offset_ns = -42;

/* Custom sections: each its own map, named after the section. */
int custom_counter SEC(".data.custom") = 11;
unsigned int custom_ids[4] SEC(".data.custom") = { 1, 2, 3, 4 };
const char banner[12] SEC(".rodata.str") = "bpfcase!";

/* .kconfig: externs libbpf fills in at load. */
extern int LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_BPFCASE_NOT_SET __kconfig __weak;

SEC("socket")
int read_globals(struct __sk_buff *skb)
{
	if (targ_tgid && last_pid != targ_tgid)
		return 0;
	if (targ_ms || targ_per_thread || mode == MODE_PID)
		counter += min_us + histo.slots + targ_comm[0] + targ_cpu;
	last_pid = LINUX_KERNEL_VERSION + version + shift + offset_ns;
	seen = CONFIG_BPFCASE_NOT_SET;
	last_comm[0] = banner[0];
	custom_counter += custom_ids[2];
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
