/* A module-like object: its struct embeds a vmlinux type, so pahole's split BTF refers to base ids and strings. */
#include <stddef.h>
struct list_head { struct list_head *next, *prev; };
struct split_demo { struct list_head node; int count; unsigned long flags; };
struct split_demo demo_instance;
