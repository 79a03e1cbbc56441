//! Unit tests of the DWARF reader: one per error variant, on real corpus binaries truncated or patched.
