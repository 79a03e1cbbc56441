//! BTF parser tests (see bottom of btf.rs).
